"""Serving the emulator over HTTP: the ASGI app, and `GitHubEmulator` running it on a free port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI

from paid_github_emulator import admin, git_http
from paid_github_emulator.emulator import Emulator
from paid_github_emulator.errors import ApiError
from paid_github_emulator.shapes import Urls

from .rest.app import api_error, create_rest_app


def create_app(emulator: Emulator) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.emulator = emulator
    app.state.hub = emulator.hub
    app.add_exception_handler(ApiError, api_error)
    app.mount("/api/v3", create_rest_app(emulator.hub, emulator.rate_limiter))
    app.include_router(admin.router)
    app.include_router(git_http.router)
    return app


class GitHubEmulator(Emulator):
    """An emulated GitHub Enterprise server in a background thread.

    `with GitHubEmulator() as emu:` (or `async with`) serves REST at `emu.api_url` (/api/v3),
    git at `emu.git_url(owner, repo)` and the admin API at `{emu.base_url}/_emulator/`.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        webhook_timeout: float = 10.0,
    ) -> None:
        super().__init__(data_dir, webhook_timeout=webhook_timeout)
        self.host, self.port, self._public_url = host, port, public_url
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without, delayed ACKs stall each small response ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.hub.urls = Urls(self._public_url or f"http://{self.host}:{self.port}")
        self.hub.webhooks.start()
        config = uvicorn.Config(create_app(self), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="github-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("GitHub emulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self.hub.webhooks.stop()
        self.close_data_dir()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
