from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from paid_llm import LLMSettings, Provider
from paid_runtime.settings import ServiceSettings


class EvolutionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_EVOLUTION_", extra="ignore")

    http_port: int = 8104
    db_schema: str = "evolution"
    task_queue: str = "evolution"
    sweep_every_hours: float = 24.0
    # "none": observe and score only; "llm": reflective mutation through paid_llm (see README).
    mutation_generator: Literal["none", "llm"] = "none"
    # The model that writes mutations (PAID_EVOLUTION_LLM_PROVIDER=anthropic|openai|command, ...).
    llm_provider: Provider = Provider.ANTHROPIC
    llm_base_url: str | None = None
    llm_model: str = "claude-sonnet-4-5"
    llm_api_key: SecretStr = SecretStr("")
    llm_timeout_seconds: float = 300.0
    llm_command: tuple[str, ...] = ()
    # The internal token the gateway presents on evolution's API (PAID_GATEWAY_EVOLUTION_API_TOKEN there);
    # empty: the API refuses every call (health and metrics stay open).
    api_token: str = ""

    @model_validator(mode="after")
    def _api_token_is_real(self) -> EvolutionSettings:
        self.require_real_secret("api_token", self.api_token)
        return self

    def llm(self) -> LLMSettings:
        return LLMSettings(
            provider=self.llm_provider,
            base_url=self.llm_base_url,
            model=self.llm_model,
            api_key=self.llm_api_key,
            timeout_seconds=self.llm_timeout_seconds,
            command=self.llm_command,
        )
