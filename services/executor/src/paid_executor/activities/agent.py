"""The run's agent side: render the prompt, and run the agent in a fresh clone, then push its change."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.output import OutputPublisher
from paid_executor.agents.process import AgentTimeoutError, kill_recorded_group, run_agent_process
from paid_executor.agents.registry import adapter_for, describe_agent
from paid_executor.params import AgentRunInput, AgentRunOutput, PromptInput
from paid_executor.prompts import render_prompt
from paid_executor.repo_config import RepoConfig
from paid_executor.run_workspace import RunWorkspace
from paid_executor.workspace import GitError, Identity, hermetic_git_env
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

    @activity.defn(name="run_agent")
    async def run_agent(self, request: AgentRunInput) -> AgentRunOutput:
        """The route before the fix-forward loop, kept for runs started then: no sandbox, no checks,
        but the same host-side import and push as the loop's."""
        settings = self.deps.settings
        run = request.run
        workspace = RunWorkspace(settings, run)
        paths = workspace.paths
        identity = workspace.identity
        try:
            adapter = adapter_for(run.agent, settings)
        except ValueError as error:
            raise ApplicationError(str(error), type="AgentNotConfigured", non_retryable=True) from error

        kill_recorded_group(paths.pgid_file)  # an earlier attempt's agent, if its worker was killed
        activity.heartbeat({"step": "clone"})
        prepared = await workspace.prepare(
            request.issue, request.branch, token=await self.deps.run_token(request.run)
        )
        paths.prompt_file.write_text(request.prompt)

        activity.heartbeat({"step": "agent"})
        try:
            async with OutputPublisher(self.deps.broker, run, activity.info().attempt) as output:
                process = await run_agent_process(
                    adapter.invocation(request.prompt, paths.prompt_file),
                    cwd=paths.worktree,
                    base_env=agent_env(identity),
                    timeout=request.timeout_seconds,
                    pgid_file=paths.pgid_file,
                    on_progress=lambda line: activity.heartbeat({"step": "agent", "last_output": line}),
                    on_line=output.line,
                )
        except AgentTimeoutError as error:
            raise ApplicationError(str(error), type="AgentTimedOut", non_retryable=True) from error
        except FileNotFoundError as error:
            raise ApplicationError(
                f"the {adapter.name} agent could not be started: {error}",
                type="AgentNotFound",
                non_retryable=True,
            ) from error
        result = adapter.parse(process.stdout, process.exit_code)
        if result.is_error:
            reason = result.summary.strip() or process.stderr.strip()[-2000:] or process.last_line
            raise ApplicationError(
                f"the {adapter.name} agent failed (exit code {process.exit_code}): {reason}",
                type="AgentFailed",
                non_retryable=True,
            )

        activity.heartbeat({"step": "push"})
        base_sha = prepared.base_sha
        imported = await workspace.import_change(
            base_sha, commit_message(request, result.summary, identity), prepared.config or RepoConfig()
        )
        if imported.refused:
            raise ApplicationError(
                "Paid refuses to push these changes: " + ", ".join(imported.refused),
                type="ChangeRefused",
                non_retryable=True,
            )
        if imported.changed_files:
            token = await self.deps.run_token(request.run)
            try:
                await workspace.push(request.issue.clone_url, imported.commit, request.branch, token=token)
            except GitError as error:
                raise ApplicationError(str(error), type="PushFailed") from error
        workspace.cleanup()  # kept when a step fails, for inspection; the next attempt wipes it anyway
        return AgentRunOutput(
            branch=request.branch,
            base_sha=base_sha,
            head_sha=imported.commit if imported.changed_files else base_sha,
            changed_files=len(imported.changed_files),
            result=result,
            last_output=process.last_line,
        )


def commit_message(request: AgentRunInput, summary: str, identity: Identity) -> str:
    run = request.run
    body = summary.strip()[:2000]
    return "\n".join(
        [
            f"Fix #{run.issue.number}: {request.issue.title}",
            "",
            *([body, ""] if body else []),
            f"Made by {describe_agent(run.agent)}, for {request.issue.html_url} (Paid run {run.run_id}).",
            "",
            f"Co-authored-by: {identity.name} <{identity.email}>",
        ]
    )
