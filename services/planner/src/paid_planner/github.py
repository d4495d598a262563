"""The planner's GitHub client (githubkit) and how GitHub's errors map onto Temporal's retries."""

from __future__ import annotations

from collections.abc import Callable

from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import RequestFailed
from temporalio.exceptions import ApplicationError

GitHubClient = GitHub[TokenAuthStrategy]
GitHubFactory = Callable[[], GitHubClient]
RETRYABLE_STATUS = frozenset({408, 409, 429})


def github_factory(api_url: str, token: str) -> GitHubFactory:
    def make() -> GitHubClient:
        # No HTTP cache (an idempotency check must see the server's present state) and no retries
        # inside githubkit: Temporal's retry policy is the one place that retries.
        return GitHub(
            TokenAuthStrategy(token),
            base_url=api_url.rstrip("/") + "/",
            http_cache=False,
            auto_retry=False,
            timeout=30.0,
        )

    return make


def github_failure(error: RequestFailed, doing: str) -> ApplicationError:
    """4xx answers are permanent (non-retryable), except rate limits and conflicts."""
    status = error.response.status_code
    rate_limited = status == 403 and error.response.headers.get("x-ratelimit-remaining") == "0"
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS and not rate_limited
    return ApplicationError(
        f"GitHub answered {status} when {doing}", type="GitHubRequestFailed", non_retryable=permanent
    )
