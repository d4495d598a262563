"""Domain errors, rendered by the REST layer in GitHub's JSON error shape."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = DOCS
        body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def not_implemented(method: str, path: str) -> ApiError:
    """A route the emulator lacks: 501, so a client can tell "not emulated" from GitHub's 404."""
    return ApiError(501, f"The GitHub emulator does not implement {method} {path}")


def bad_credentials() -> ApiError:
    return ApiError(401, "Bad credentials")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def validation_failed(resource: str, field: str | None, code: str, message: str | None = None) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code}
    if field is not None:
        error["field"] = field
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", [error])
