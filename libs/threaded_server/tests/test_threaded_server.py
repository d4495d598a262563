from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import pytest

from paid_threaded_server import ThreadedServer

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Hello(ThreadedServer):
    thread_name = "hello-server"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def on_bound(self) -> None:
        self.events.append(f"bound {self.port}")

    def on_stopped(self) -> None:
        self.events.append("stopped")

    def build_app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": f"hello from {self.port}".encode()})

        return app


def test_serves_on_the_port_it_bound_and_stops() -> None:
    server = Hello()
    with server:
        assert server.port != 0
        assert httpx.get(f"http://127.0.0.1:{server.port}/").text == f"hello from {server.port}"
    assert server.events == [f"bound {server.port}", "stopped"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/")


async def test_async_context() -> None:
    async with Hello() as server, httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).status_code == 200


def test_a_taken_port_is_a_clear_error() -> None:
    with Hello() as first:
        second = Hello()
        second.port = first.port
        with pytest.raises(OSError, match="in use"):
            second.start()
