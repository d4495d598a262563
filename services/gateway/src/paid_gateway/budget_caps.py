"""The executor's budget caps, asked for over core NATS (`paid.executor.budgets.*`): the executor owns the
spend ledger that enforces the caps, so it keeps them; the gateway's routes check the caller's role and
the input, then ask. Trust boundary: only admins set caps (routers/budgets.py); the executor answers any
request on the subject, and NATS lets only the gateway's user send one (paid_contracts.nats_access)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from pydantic import ValidationError

from paid_contracts.budget_caps import BudgetRequest, BudgetsReply

Requester = Callable[[str, bytes, float], Awaitable[bytes]]
"""Sends one request (subject, body, timeout in seconds) and answers the reply's body."""
ASK_TIMEOUT_SECONDS = 5.0


class BudgetsUnavailable(Exception):
    """The executor did not answer, or answered something that is not a budgets reply."""


class ExecutorBudgets:
    def __init__(self, requester: Requester | None, *, timeout: float = ASK_TIMEOUT_SECONDS) -> None:
        """`requester` None: no executor to ask (a gateway alone, as in some tests)."""
        self._requester = requester
        self._timeout = timeout

    async def ask(self, request: BudgetRequest) -> BudgetsReply:
        if self._requester is None:
            raise BudgetsUnavailable("no executor is reachable from this gateway")
        try:
            body = await self._requester(request.SUBJECT, request.model_dump_json().encode(), self._timeout)
        except (NatsError, TimeoutError) as error:
            raise BudgetsUnavailable(f"the executor did not answer ({type(error).__name__})") from None
        try:
            reply = BudgetsReply.model_validate_json(body)
        except ValidationError:
            raise BudgetsUnavailable("the executor's answer was malformed") from None
        if not reply.ok:
            raise BudgetsUnavailable(reply.error or "the executor refused the request")
        return reply


def nats_requester(broker: NatsBroker) -> Requester:
    async def request(subject: str, body: bytes, timeout: float) -> bytes:
        message = await broker.connection.request(subject, body, timeout=timeout)
        return message.data

    return request
