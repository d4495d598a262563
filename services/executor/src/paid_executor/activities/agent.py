"""The run's prompt, rendered from the issue as read, and the environment an unsandboxed agent gets."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_executor.activities.deps import ExecutorDeps
from paid_executor.params import PromptInput
from paid_executor.prompts import render_prompt
from paid_executor.workspace import Identity, hermetic_git_env
from paid_prompt_client import PromptTemplateError
from paid_runtime.telemetry import current_trace_context

SECRET_PREFIXES = ("PAID_", "GIT_CONFIG_")
SECRET_NAMES = frozenset({"GITHUB_TOKEN", "GH_TOKEN"})


def agent_env(identity: Identity) -> dict[str, str]:
    """The worker's environment without Paid's settings and GitHub tokens: the agent edits files,
    Paid pushes. TRACEPARENT lets tools that speak OpenTelemetry join the run's trace."""
    env = {
        key: value
        for key, value in hermetic_git_env(identity.env()).items()
        if not key.startswith(SECRET_PREFIXES) and key not in SECRET_NAMES
    }
    if traceparent := current_trace_context().traceparent:
        env["TRACEPARENT"] = traceparent
    return env


class AgentActivities:
    def __init__(self, deps: ExecutorDeps) -> None:
        self.deps = deps

    @activity.defn(name="render_prompt")
    async def render_prompt(self, request: PromptInput) -> str:
        run = request.run
        try:
            return render_prompt(
                run.prompt_version,
                template=run.prompt_template,
                repo=run.issue.repo.full_name,
                branch=request.branch,
                number=run.issue.number,
                title=request.issue.title,
                body=request.issue.body,
            )
        except LookupError as error:
            raise ApplicationError(str(error), type="UnknownPrompt", non_retryable=True) from error
        except PromptTemplateError as error:
            raise ApplicationError(str(error), type="InvalidPrompt", non_retryable=True) from error
