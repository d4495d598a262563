"""`/rate_limit`: the caller's own counters (reading them does not count, as on GitHub)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from paid_github_emulator.ratelimit import RateLimiter, Usage
from paid_github_emulator.rest.deps import HubDep, rate_key
from paid_github_emulator.shapes import Json

router = APIRouter()


def _resource(usage: Usage) -> Json:
    return {"limit": usage.limit, "used": usage.used, "remaining": usage.remaining, "reset": usage.reset}


@router.get("/rate_limit")
def rate_limit(request: Request, hub: HubDep) -> Json:
    limiter: RateLimiter = request.app.state.rate_limiter
    core = _resource(limiter.peek(rate_key(hub, request)))
    unused = {"limit": core["limit"], "used": 0, "remaining": core["limit"], "reset": core["reset"]}
    return {
        "resources": {"core": core, "search": unused, "graphql": unused, "integration_manifest": unused},
        "rate": core,
    }
