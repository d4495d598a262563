"""What the activities need from the worker process: settings, NATS, the database, GitHub."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from faststream.nats import NatsBroker
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestFailed
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError

from paid_executor.config import ExecutorSettings
from paid_executor.params import RunContext
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredential, GitHubCredentials
from paid_runtime.job_credential_cache import JobCredentialCache
from paid_runtime.metrics import observe_github_response, observe_github_response_async

GitHubClient = GitHub[TokenAuthStrategy]
log = logging.getLogger(__name__)
PRODUCER = "executor"


@dataclass(frozen=True)
class ExecutorDeps:
    settings: ExecutorSettings
    broker: NatsBroker
    sessions: async_sessionmaker[AsyncSession]
    github: Callable[[str], GitHubClient]
    """A client authenticated with the given token (from `run_token`)."""
    credentials: GitHubCredentials

    async def run_token(self, run: RunContext, *, allow_workflows: bool = False) -> str:
        """The run's own token for its repository (contents, pull requests, issues write), asked of the
        minter once and kept for the run in this process's memory only, never in a workflow payload;
        asked again when it nears expiry. `finish_run` (`release_job`) forgets and revokes them."""
        return await self.job_token(run.issue.repo.full_name, run_job(run), allow_workflows=allow_workflows)

    async def job_token(self, repository: str, job: str, *, allow_workflows: bool = False) -> str:
        """A write token for `repository` minted for `job` (a run, or a pull request's conversation)."""
        return (await self.job_credential(repository, job, allow_workflows=allow_workflows)).token

    async def job_credential(
        self, repository: str, job: str, *, allow_workflows: bool = False
    ) -> GitHubCredential:
        """`job_token` with what the minter said of it (the login an App's token acts as)."""
        try:
            return await self.credentials.for_repository(
                repository, "run", job=job, allow_workflows=allow_workflows
            )
        except CredentialUnavailable as error:
            raise ApplicationError(
                error.reason, type="GitHubCredentialUnavailable", non_retryable=error.permanent
            ) from None

    async def report_token(self, run: RunContext) -> str:
        """The token that writes the run's result comment: the run's own, or, when the project's
        credential is refused for good (App uninstalled, key or id wrong), this executor's global token,
        so the issue still says why the run failed. Without a global token nothing can comment, and the
        error says so (the run's record keeps it)."""
        try:
            return (
                await self.credentials.for_repository(run.issue.repo.full_name, "run", job=run_job(run))
            ).token
        except CredentialUnavailable as error:
            if not error.permanent:
                raise ApplicationError(error.reason, type="GitHubCredentialUnavailable") from None
            if self.settings.github_token:
                log.warning(
                    "the project's credential is refused (%s); commenting on %s with the global token",
                    error.reason,
                    run.issue.key,
                )
                return self.settings.github_token
            raise ApplicationError(
                f"no credential can comment on the issue: {error.reason}; and this executor has no "
                "global token (PAID_EXECUTOR_GITHUB_TOKEN) to say so",
                type="GitHubCredentialUnavailable",
                non_retryable=True,
            ) from None


def run_job(run: RunContext) -> str:
    return f"run:{run.run_id}"


def make_deps(
    settings: ExecutorSettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> ExecutorDeps:
    # A run's token is kept for the run (one request to the minter, not one per GitHub step).
    credentials = GitHubCredentials.from_settings(
        settings, lambda: broker.connection, job_cache=JobCredentialCache()
    )
    return ExecutorDeps(
        settings=settings,
        broker=broker,
        sessions=sessions,
        github=github_client(settings),
        credentials=credentials,
    )


def github_client(settings: ExecutorSettings) -> Callable[[str], GitHubClient]:
    # One TLS context for every client: building one loads the CA bundle, which costs more than the
    # request itself (~100 ms on a loaded machine), and activities make a client per call.
    tls = httpx.create_ssl_context()

    def make(token: str) -> GitHubClient:
        # No HTTP cache (an idempotency check must see the server's present state) and no retries
        # inside githubkit: Temporal's retry policy is the one place that retries.
        return GitHub(
            TokenAuthStrategy(token),
            base_url=settings.github_api_url,
            http_cache=False,
            auto_retry=False,
            timeout=30.0,
            ssl_verify=tls,
            event_hooks={"response": [observe_github_response]},
            async_event_hooks={"response": [observe_github_response_async]},
        )

    return make


RETRYABLE_STATUS = frozenset({408, 409, 429})


def github_failure(error: RequestFailed, doing: str) -> Exception:
    """A GitHub error as Temporal should treat it: 4xx answers are permanent, except rate limits."""
    status = error.response.status_code
    rate_limited = status == 403 and error.response.headers.get("x-ratelimit-remaining") == "0"
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS and not rate_limited
    return ApplicationError(
        f"GitHub answered {status} when {doing}", type="GitHubRequestFailed", non_retryable=permanent
    )
