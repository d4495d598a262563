"""The proxy's HTTP side: authenticate the run's token, refuse once the budget is spent, forward
with the real provider key, and meter the tokens in the response as it streams through.

Anthropic Messages, OpenAI chat completions and Responses, and Gemini `generateContent` are metered
with `paid_llm`'s one `Usage` and priced from its price database at the time the request arrived."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from paid_executor.proxy.admission import admit, error_response, refusal
from paid_executor.proxy.backoff import ProviderBackoff, retry_after_seconds
from paid_executor.proxy.budgets import SpendPolicy
from paid_executor.proxy.ledger import Budget, Ledger
from paid_executor.proxy.shared_ledger import Reservation, SharedLedger
from paid_llm import FallbackPrice, UsageMeter, Wire, cost_usd, wire_for_path

log = logging.getLogger(__name__)
HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "x-goog-api-key"})
PROVIDERS = {
    Wire.ANTHROPIC_MESSAGES: "anthropic",
    Wire.OPENAI_CHAT: "openai",
    Wire.OPENAI_RESPONSES: "openai",
    Wire.GEMINI: "gemini",
}


@dataclass(frozen=True)
class Upstreams:
    anthropic_url: str = "https://api.anthropic.com"
    anthropic_key: str = ""
    openai_url: str = "https://api.openai.com"
    openai_key: str = ""
    gemini_url: str = "https://generativelanguage.googleapis.com"
    gemini_key: str = ""


class MeteringProxy:
    """One per worker process: a loopback port for local agents and a unix socket for sandboxed ones."""

    def __init__(
        self,
        upstreams: Upstreams,
        socket_path: Path,
        *,
        fallback_price: FallbackPrice | None = None,
        shared: SharedLedger | None = None,
        backoff: ProviderBackoff | None = None,
    ) -> None:
        """`shared`: the ledger of budgets across runs and workers; None counts each run alone.
        `backoff`: pauses of providers that answered 429 (by default in the shared ledger's database)."""
        self.upstreams = upstreams
        self.shared = shared
        self.backoff = backoff or ProviderBackoff(None if shared is None else shared.engine)
        self.fallback_price = fallback_price or FallbackPrice()
        self.socket_path = socket_path
        self.port = 0
        self._ledgers: dict[str, Ledger] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0))
        self.app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open_run(self, run_id: str, budget: Budget, policy: SpendPolicy | None = None) -> tuple[str, Ledger]:
        token = f"paid-run-{secrets.token_urlsafe(24)}"
        ledger = Ledger(run_id=run_id, budget=budget, policy=policy)
        self._ledgers[token] = ledger
        return token, ledger

    def close_run(self, token: str) -> None:
        self._ledgers.pop(token, None)

    async def start(self) -> None:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without, delayed ACKs stall each small answer ~40 ms.
        tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tcp.bind(("127.0.0.1", 0))
        self.port = tcp.getsockname()[1]
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(str(self.socket_path))
        self.socket_path.chmod(0o666)  # the sandbox's user is not the worker's
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[tcp, unix]))
        while not self._server.started:
            if self._task.done():
                await self._task
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._task
        await self.settled()
        if self.shared is not None:
            await self.shared.stop()
        await self._client.aclose()
        self.socket_path.unlink(missing_ok=True)

    def _ledger_for(self, request: Request) -> Ledger | None:
        headers = request.headers
        token = headers.get("x-api-key") or headers.get("api-key") or headers.get("x-goog-api-key") or ""
        token = token or request.query_params.get("key", "")  # Gemini's clients may pass it so
        if not token and (auth := request.headers.get("authorization", "")).lower().startswith("bearer "):
            token = auth[7:].strip()
        return self._ledgers.get(token)

    async def _forward(self, request: Request) -> Response:
        ledger = self._ledger_for(request)
        if ledger is None:
            return error_response(401, "authentication_error", "unknown or expired Paid run token")
        if ledger.reason is not None:
            return refusal(ledger)
        path = request.url.path
        wire = wire_for_path(path)
        provider = PROVIDERS[wire]
        admitted = await admit(ledger, provider, self.shared, self.backoff)
        if isinstance(admitted, Response):
            return admitted
        requested_at, reservation = admitted
        base, key = self._upstream(wire)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | AUTH_HEADERS}
        headers["accept-encoding"] = "identity"
        if not key:
            pass  # an upstream without keys, such as a local OpenAI-compatible server
        elif wire is Wire.GEMINI:
            headers["x-goog-api-key"] = key
        elif wire in (Wire.OPENAI_CHAT, Wire.OPENAI_RESPONSES):
            headers["authorization"] = f"Bearer {key}"
        else:
            headers["x-api-key"] = key
        params = httpx.QueryParams([(k, v) for k, v in request.query_params.multi_items() if k != "key"])
        body = await request.body()
        call = _Call(ledger, UsageMeter(wire), _model_of(body), requested_at, reservation)
        upstream = self._client.build_request(
            request.method,
            base.rstrip("/") + path,
            params=params,
            headers=headers,
            content=body,
        )
        try:
            response = await self._client.send(upstream, stream=True)
        except httpx.HTTPError as error:
            self._settle(call, answered=False)
            return error_response(502, "api_error", f"the LLM provider could not be reached: {error}")
        if response.status_code == 429:
            await self._pause(provider, response.headers.get("retry-after"))
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS}
        out_headers.pop("content-encoding", None)
        if "text/event-stream" in response.headers.get("content-type", ""):
            return StreamingResponse(
                self._metered_stream(response, call), status_code=response.status_code, headers=out_headers
            )
        answered = response.status_code < 400
        try:
            content = await response.aread()
            if answered:
                call.meter.feed_body(content)
        finally:
            await response.aclose()
            self._settle(call, answered=answered)
        return Response(content, status_code=response.status_code, headers=out_headers)

    async def _pause(self, provider: str, retry_after: str | None) -> None:
        seconds = retry_after_seconds(retry_after)
        if seconds is None:
            return
        try:
            await self.backoff.pause(provider, seconds)
        except (SQLAlchemyError, OSError) as error:  # this run's agent still gets the 429 to honour
            log.error("sharing %s's pause failed: %s", provider, error)

    def _upstream(self, wire: Wire) -> tuple[str, str]:
        upstreams = self.upstreams
        if wire is Wire.GEMINI:
            return upstreams.gemini_url, upstreams.gemini_key
        if wire in (Wire.OPENAI_CHAT, Wire.OPENAI_RESPONSES):
            return upstreams.openai_url, upstreams.openai_key
        return upstreams.anthropic_url, upstreams.anthropic_key

    async def _metered_stream(self, response: httpx.Response, call: _Call) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                call.meter.feed_bytes(chunk)
                yield chunk
        finally:
            await response.aclose()
            self._settle(call)

    def _settle(self, call: _Call, *, answered: bool = True) -> None:
        """Counts the call in the run's ledger (when answered) at once, and settles its shared
        reservation in a task of its own: the agent does not wait for the database, and an agent
        that hangs up mid-stream cannot leave the call uncounted."""
        usage, wire = call.meter.usage, call.meter.wire
        cost = 0.0
        if usage.total_tokens:  # else e.g. a model list or token count: nothing to price
            model = call.meter.model or call.requested_model
            cost = cost_usd(
                usage,
                model=model,
                provider=PROVIDERS[wire],
                at=call.requested_at,
                fallback=self.fallback_price,
            )
        if answered:
            call.ledger.record(usage, cost)
        if call.reservation is not None and self.shared is not None:
            task = asyncio.create_task(
                self.shared.settle(call.reservation, tokens=usage.total_tokens, usd=cost)
            )
            self._settling.add(task)
            task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._settling.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Its reservation expires with its lease; the spending it held is not counted.
            log.error("settling a model call in the spend ledger failed: %s", error)

    async def settled(self) -> None:
        """Returns once every answered call is counted in the shared ledger."""
        while self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)


@dataclass(frozen=True)
class _Call:
    ledger: Ledger
    meter: UsageMeter
    requested_model: str
    requested_at: datetime
    reservation: Reservation | None = None


def _model_of(body: bytes) -> str:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return ""
    model = document.get("model") if isinstance(document, dict) else None
    return model if isinstance(model, str) else ""
