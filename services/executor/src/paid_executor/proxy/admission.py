"""Whether a model call may go, before the proxy forwards it: the provider's pause (shared backoff)
waited out, then the call's room reserved in the shared spend ledger when its run has budgets.

Where the pauses are kept in the ledger's own database (the default), one statement reads the pause
and reserves, so a budgeted call costs one round trip to PostgreSQL before it is forwarded."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from starlette.responses import JSONResponse, Response

from paid_executor.proxy.backoff import ProviderBackoff
from paid_executor.proxy.ledger import Ledger
from paid_executor.proxy.shared_ledger import LEDGER_ERRORS, Reservation, SharedLedger

log = logging.getLogger(__name__)
UNCHECKED = "Paid cannot check its budgets and its providers' pauses now; try again later"


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    # Anthropic's error shape; OpenAI clients read `error.message` from it as well.
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def refusal(ledger: Ledger) -> Response:
    ledger.refused += 1
    return error_response(403, "permission_error", f"Paid stopped this run: budget exceeded: {ledger.reason}")


def paused_response(provider: str, seconds: float) -> Response:
    message = f"{provider} asked Paid to wait; try again in {seconds:.0f} s"
    return error_response(429, "rate_limit_error", message, {"retry-after": str(max(1, round(seconds)))})


async def admit(
    ledger: Ledger, provider: str, shared: SharedLedger | None, backoff: ProviderBackoff
) -> Response | tuple[datetime, Reservation | None]:
    """Answers when the call was requested (after any pause) and its reservation, or the response
    that refuses it: a 429 for a pause longer than the proxy holds a call, a 403 for a spent budget,
    a 503 when the ledger or the pauses cannot be read (no call goes uncounted or unpaused)."""
    policy = ledger.policy
    pauses_in_ledger = shared is not None and backoff.engine is shared.engine
    try:
        if (shared is None or policy is None or not pauses_in_ledger) and (
            paused := await backoff.wait(provider)  # before reserving: a waiting call holds no room
        ):
            return paused_response(provider, paused)
        while True:
            requested_at = datetime.now(UTC)
            if shared is None or policy is None:
                return requested_at, None
            reserved = await shared.reserve(
                policy.scopes(requested_at),
                run_id=ledger.run_id,
                provider=provider if pauses_in_ledger else None,
            )
            if not reserved.paused:
                break
            if reserved.paused > backoff.max_wait_seconds:
                return paused_response(provider, reserved.paused)
            await asyncio.sleep(reserved.paused)  # the provider's deadline, then ask again
    except LEDGER_ERRORS as error:
        log.warning("the spend ledger or the provider backoff is unavailable: %s", error)
        return error_response(503, "overloaded_error", UNCHECKED)
    if reserved.refused is not None:
        ledger.stop(reserved.refused)
        return refusal(ledger)
    return requested_at, reserved.reservation
