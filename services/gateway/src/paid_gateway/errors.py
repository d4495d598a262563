"""Every error answers `{"detail": "<a sentence>"}`; validation errors also list each problem; a 503
(a server Paid depends on is down) says when to try again."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

RETRY_AFTER_SECONDS = 10
"""What a 503 tells its sender to wait: about the time NATS, PostgreSQL or Temporal take to restart."""


def _where(location: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(part) for part in location)


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"where": _where(problem.get("loc", ())), "problem": str(problem.get("msg", "invalid"))}
        for problem in error.errors()
    ]
    summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems[:5]) or "invalid request"
    return JSONResponse(
        {"detail": f"invalid request: {summary}", "errors": problems},
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers = dict(error.headers or {})
        headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        error = HTTPException(error.status_code, error.detail, headers)
    return await http_exception_handler(request, error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    document_error_shape(app)


ERROR_SCHEMA = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, in a sentence"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["where", "problem"],
                "properties": {"where": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
}


def document_error_shape(app: FastAPI) -> None:
    """The published spec describes the validation errors as `_invalid_request` really shapes them."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = ERROR_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def refuse_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold U+0000: refuse it in the path and the query before any query runs."""
    values = [request.url.path, *(part for item in request.query_params.multi_items() for part in item)]
    if any("\x00" in value for value in values):
        problem = {"loc": ("url",), "msg": "NUL characters are not allowed", "type": "value_error"}
        raise RequestValidationError([problem])
