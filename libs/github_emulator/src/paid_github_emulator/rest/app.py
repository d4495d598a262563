"""The /api/v3 application: routers, GitHub-shaped errors, rate-limit headers and ETags."""

from __future__ import annotations

import hashlib
import time

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from paid_github_emulator.errors import DOCS, ApiError, not_implemented
from paid_github_emulator.hub import Hub
from paid_github_emulator.ratelimit import RateLimiter
from paid_github_emulator.rest import (
    apps,
    checks,
    comments_labels,
    git_refs,
    issue_events,
    issues,
    meta,
    pull_reviews,
    pulls,
    repo_files,
    repos,
    sub_issues,
)
from paid_github_emulator.rest.deps import bearer_token, rate_key


def etag_matches(header: str, etag: str) -> bool:
    def strip(tag: str) -> str:
        return tag.strip().removeprefix("W/")

    return any(strip(candidate) == strip(etag) for candidate in header.split(","))


class RateLimitAndETag(BaseHTTPMiddleware):
    """Counts each request against its token, except conditional GETs answered 304 (as GitHub does)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        hub: Hub = request.app.state.hub
        limiter: RateLimiter = request.app.state.rate_limiter
        key = rate_key(hub, request)
        if not limiter.admit(key):
            usage = limiter.peek(key)
            headers = usage.headers() | {"retry-after": str(max(usage.reset - int(time.time()), 0))}
            error = ApiError(403, "API rate limit exceeded")
            return JSONResponse(error.body(), status_code=403, headers=headers)
        response = await call_next(request)
        hub.log_access(request.method, request.url.path, response.status_code, bearer_token(request))
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        headers = dict(response.headers)
        if request.method == "GET" and response.status_code == 200:
            etag = f'W/"{hashlib.sha256(body).hexdigest()}"'
            headers["etag"] = etag
            if etag_matches(request.headers.get("if-none-match", ""), etag):
                headers.pop("content-length", None)
                headers.pop("content-type", None)
                return Response(status_code=304, headers=headers | limiter.peek(key).headers())
        # As on GitHub, reading /rate_limit does not count against the limit.
        counts = not request.url.path.rstrip("/").endswith("/rate_limit")
        headers |= (limiter.consume(key) if counts else limiter.peek(key)).headers()
        headers["x-github-media-type"] = "github.v3; format=json"
        headers["x-github-api-version-selected"] = request.headers.get("x-github-api-version", "2022-11-28")
        return Response(
            content=body, status_code=response.status_code, headers=headers, media_type=response.media_type
        )


def api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


# No route raises HTTPException itself: a 404 or 405 here means the router found no route for the
# method and path, which is a gap in the emulator, never a missing resource.
UNROUTED = frozenset({404, 405})


def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error = (
        not_implemented(request.method, request.url.path)
        if exc.status_code in UNROUTED
        else ApiError(exc.status_code, str(exc.detail))
    )
    return JSONResponse(error.body(), status_code=error.status)


def invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {
            "message": "Invalid request.",
            "errors": [str(e.get("msg")) for e in exc.errors()],
            "documentation_url": DOCS,
            "status": "422",
        },
        status_code=422,
    )


def create_rest_app(hub: Hub, limiter: RateLimiter) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.hub = hub
    app.state.rate_limiter = limiter
    app.add_middleware(RateLimitAndETag)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    routers = (
        repos,
        issue_events,
        issues,
        comments_labels,
        pulls,
        pull_reviews,
        repo_files,
        checks,
        git_refs,
        meta,
    )
    for module in (*routers, sub_issues, apps):
        app.include_router(module.router)
    return app
