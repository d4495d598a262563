"""Every error answers `{"detail": "<a sentence>"}`; validation errors also list each problem."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
