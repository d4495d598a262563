"""Serving the emulator over HTTP: the ASGI app, and `GitHubEmulator` running it on a free port."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException

from paid_github_emulator import admin, git_http, web_apps
from paid_github_emulator.emulator import Emulator
from paid_github_emulator.errors import ApiError
from paid_github_emulator.shapes import Urls
from paid_threaded_server import ThreadedServer

from .rest.app import api_error, create_rest_app, http_error


def create_app(emulator: Emulator) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.emulator = emulator
    app.state.hub = emulator.hub
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.mount("/api/v3", create_rest_app(emulator.hub, emulator.rate_limiter))
    app.include_router(admin.router)
    app.include_router(git_http.router)
    app.include_router(web_apps.router)
    return app


class GitHubEmulator(Emulator, ThreadedServer):
    """An emulated GitHub Enterprise server in a background thread.

    `with GitHubEmulator() as emu:` (or `async with`) serves REST at `emu.api_url` (/api/v3),
    git at `emu.git_url(owner, repo)` and the admin API at `{emu.base_url}/_emulator/`.
    """

    thread_name = "github-emulator"

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        webhook_timeout: float = 10.0,
    ) -> None:
        Emulator.__init__(self, data_dir, webhook_timeout=webhook_timeout)
        ThreadedServer.__init__(self, host=host, port=port)
        self._public_url = public_url

    def on_bound(self) -> None:
        self.hub.urls = Urls(self._public_url or f"http://{self.host}:{self.port}")
        self.hub.webhooks.start()

    def build_app(self) -> FastAPI:
        return create_app(self)

    def on_stopped(self) -> None:
        self.test_ci.stop()
        self.hub.webhooks.stop()
        self.close_data_dir()
