"""The proxy's HTTP side: authenticate the run's token, refuse once the budget is spent, forward
with the real provider key, and meter the tokens in the response as it streams through."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from paid_executor.proxy.ledger import Budget, Ledger
from paid_executor.proxy.usage import StreamMeter, usage_from_json

HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"}
)
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})


@dataclass(frozen=True)
class Upstreams:
    anthropic_url: str = "https://api.anthropic.com"
    anthropic_key: str = ""
    openai_url: str = "https://api.openai.com"
    openai_key: str = ""


def _error(status: int, kind: str, message: str) -> JSONResponse:
    # Anthropic's error shape; OpenAI clients read `error.message` from it as well.
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


class MeteringProxy:
    """One per worker process: a loopback port for local agents and a unix socket for sandboxed ones."""

    def __init__(self, upstreams: Upstreams, socket_path: Path) -> None:
        self.upstreams = upstreams
        self.socket_path = socket_path
        self.port = 0
        self._ledgers: dict[str, Ledger] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0))
        self.app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open_run(self, run_id: str, budget: Budget) -> tuple[str, Ledger]:
        token = f"paid-run-{secrets.token_urlsafe(24)}"
        ledger = Ledger(run_id=run_id, budget=budget)
        self._ledgers[token] = ledger
        return token, ledger

    def close_run(self, token: str) -> None:
        self._ledgers.pop(token, None)

    async def start(self) -> None:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
        await self._client.aclose()
        self.socket_path.unlink(missing_ok=True)

    def _ledger_for(self, request: Request) -> Ledger | None:
        token = request.headers.get("x-api-key") or request.headers.get("api-key") or ""
        if not token and (auth := request.headers.get("authorization", "")).lower().startswith("bearer "):
            token = auth[7:].strip()
        return self._ledgers.get(token)

    async def _forward(self, request: Request) -> Response:
        ledger = self._ledger_for(request)
        if ledger is None:
            return _error(401, "authentication_error", "unknown or expired Paid run token")
        if ledger.reason is not None:
            ledger.refused += 1
            return _error(403, "permission_error", f"Paid stopped this run: budget exceeded: {ledger.reason}")
        path = request.url.path
        openai = path.startswith(("/v1/chat", "/v1/responses", "/v1/completions", "/chat", "/responses"))
        base, key = (
            (self.upstreams.openai_url, self.upstreams.openai_key)
            if openai
            else (self.upstreams.anthropic_url, self.upstreams.anthropic_key)
        )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | AUTH_HEADERS}
        headers["accept-encoding"] = "identity"
        if openai:
            headers["authorization"] = f"Bearer {key}"
        else:
            headers["x-api-key"] = key
        body = await request.body()
        model = _model_of(body)
        upstream = self._client.build_request(
            request.method,
            base.rstrip("/") + path,
            params=request.query_params,
            headers=headers,
            content=body,
        )
        try:
            response = await self._client.send(upstream, stream=True)
        except httpx.HTTPError as error:
            return _error(502, "api_error", f"the LLM provider could not be reached: {error}")
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS}
        out_headers.pop("content-encoding", None)
        if "text/event-stream" in response.headers.get("content-type", ""):
            return StreamingResponse(
                self._metered_stream(response, ledger, model),
                status_code=response.status_code,
                headers=out_headers,
            )
        content = await response.aread()
        await response.aclose()
        if response.status_code < 400:
            try:
                document = json.loads(content)
            except ValueError:
                document = None
            if isinstance(document, dict):
                ledger.record(str(document.get("model") or model), usage_from_json(document))
        return Response(content, status_code=response.status_code, headers=out_headers)

    @staticmethod
    async def _metered_stream(response: httpx.Response, ledger: Ledger, model: str) -> AsyncIterator[bytes]:
        meter = StreamMeter()
        try:
            async for chunk in response.aiter_raw():
                meter.feed(chunk)
                yield chunk
        finally:
            await response.aclose()
            ledger.record(meter.model or model, meter.usage)


def _model_of(body: bytes) -> str:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return ""
    model = document.get("model") if isinstance(document, dict) else None
    return model if isinstance(model, str) else ""
