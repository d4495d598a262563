from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from paid_llm import LLMSettings, Provider
from paid_runtime.settings import GitHubSettings


class PlannerSettings(GitHubSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_PLANNER_", extra="ignore")

    http_port: int = 8102
    db_schema: str = "planner"
    task_queue: str = "paid-planner"
    graceful_shutdown_seconds: float = 30.0

    # The model that plans (PAID_PLANNER_LLM_PROVIDER=anthropic|openai, ..._LLM_BASE_URL, ...).
    llm_provider: Provider = Provider.ANTHROPIC
    llm_base_url: str | None = None
    llm_model: str = "claude-sonnet-4-5"
    llm_api_key: SecretStr = SecretStr("")
    llm_timeout_seconds: float = 180.0
    # With LLM_PROVIDER=command: the agent CLI, as JSON, e.g. ["claude", "-p", "--output-format", "json"].
    llm_command: tuple[str, ...] = ()

    needs_input_label: str = "paid-needs-input"
    answer_timeout_days: float = 14.0
    max_question_rounds: int = 3
    # Comments answer questions when written by whoever asked for the plan, or by an author with one of
    # these associations whom GitHub confirms has write access (`answer_trust.py`).
    trusted_associations: tuple[str, ...] = ("OWNER", "MEMBER", "COLLABORATOR")

    def llm(self) -> LLMSettings:
        return LLMSettings(
            provider=self.llm_provider,
            base_url=self.llm_base_url,
            model=self.llm_model,
            api_key=self.llm_api_key,
            timeout_seconds=self.llm_timeout_seconds,
            command=self.llm_command,
        )
