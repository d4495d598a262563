"""The planner's GitHub client (githubkit) and how GitHub's errors map onto Temporal's retries."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestFailed
from temporalio.exceptions import ApplicationError

from paid_contracts import RepoRef
from paid_contracts.github_tokens import TokenPurpose
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials

GitHubClient = GitHub[TokenAuthStrategy]
GitHubFactory = Callable[[RepoRef, TokenPurpose], AbstractAsyncContextManager[GitHubClient]]
"""A client for one repository, with that repository's credential for the purpose."""
RETRYABLE_STATUS = frozenset({408, 409, 429})


def github_factory(api_url: str, credentials: GitHubCredentials) -> GitHubFactory:
    @contextlib.asynccontextmanager
    async def make(repository: RepoRef, purpose: TokenPurpose) -> AsyncIterator[GitHubClient]:
        try:
            credential = await credentials.for_repository(repository.full_name, purpose)
        except CredentialUnavailable as error:
            raise ApplicationError(
                error.reason, type="GitHubCredentialUnavailable", non_retryable=error.permanent
            ) from None
        # No HTTP cache (an idempotency check must see the server's present state) and no retries
        # inside githubkit: Temporal's retry policy is the one place that retries.
        async with GitHub(
            TokenAuthStrategy(credential.token),
            base_url=api_url.rstrip("/") + "/",
            http_cache=False,
            auto_retry=False,
            timeout=30.0,
        ) as client:
            yield client

    return make


def github_failure(error: RequestFailed, doing: str) -> ApplicationError:
    """4xx answers are permanent (non-retryable), except rate limits and conflicts."""
    status = error.response.status_code
    rate_limited = status == 403 and error.response.headers.get("x-ratelimit-remaining") == "0"
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS and not rate_limited
    return ApplicationError(
        f"GitHub answered {status} when {doing}", type="GitHubRequestFailed", non_retryable=permanent
    )
