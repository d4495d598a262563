"""Typed failures of model calls. `retryable` says whether trying the same call later may succeed."""

from __future__ import annotations


class LLMError(Exception):
    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, provider: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.provider = provider


class RateLimited(LLMError):
    retryable = True

    def __init__(
        self, message: str, *, status: int | None = 429, provider: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, provider=provider)
        self.retry_after = retry_after


class Overloaded(LLMError):
    """The provider is overloaded (Anthropic 529, 503)."""

    retryable = True


class ServerFailed(LLMError):
    retryable = True


class LLMTimeout(LLMError):
    retryable = True


class Unreachable(LLMError):
    retryable = True


class BadRequest(LLMError):
    """The request itself is wrong (400, 404, 413, 422): repeating it cannot succeed."""


class AuthenticationFailed(LLMError):
    """401/403: the key is missing, wrong or not allowed this model."""


class InvalidResponse(LLMError):
    """The provider answered 2xx with a body that is not its API's shape."""


class StructuredOutputError(LLMError):
    """The model's answer did not match the schema, even after one repair attempt."""

    def __init__(self, message: str, *, errors: str, outputs: tuple[str, ...], provider: str = "") -> None:
        super().__init__(message, provider=provider)
        self.errors = errors
        self.outputs = outputs


def error_for_status(
    status: int, detail: str, *, provider: str, retry_after: float | None = None
) -> LLMError:
    message = f"{provider} answered {status}: {detail}"
    if status == 429:
        return RateLimited(message, status=status, provider=provider, retry_after=retry_after)
    if status in (529, 503):
        return Overloaded(message, status=status, provider=provider)
    if status in (401, 403):
        return AuthenticationFailed(message, status=status, provider=provider)
    if status in (408, 409):
        return ServerFailed(message, status=status, provider=provider)
    if 400 <= status < 500:
        return BadRequest(message, status=status, provider=provider)
    return ServerFailed(message, status=status, provider=provider)
