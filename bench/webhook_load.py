"""An open-loop HTTP/1.1 load generator light enough to share two cores with the server it measures.

Requests are built (and signed) before the run; each is sent at its own slot whatever earlier ones
did, over a pool of keep-alive connections on raw asyncio streams (no HTTP client library: httpx's
pool costs milliseconds per request under hundreds of concurrent requests). Latency is counted from
the slot, not from the moment a connection was free, so queueing in the generator or the server is
not hidden (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    status: int  # 0: no answer (connection error or timeout)
    latency_ms: float
    body: bytes
    slot_seconds: float  # when it was due, from the start of the run


@dataclass
class LoadResult:
    outcomes: list[Outcome] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    send_lag_ms: list[float] = field(default_factory=list)  # how late each request left its slot

    def with_status(self, low: int, high: int) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if low <= outcome.status <= high]

    def accepted_event_ids(self) -> list[str]:
        ids = []
        for outcome in self.with_status(200, 299):
            answer = json.loads(outcome.body)
            if answer.get("accepted") is True:
                ids.append(str(answer["event_id"]))
        return ids


def http_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Sends one request; returns (status, body, whether the connection may be reused)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, keep = 0, True
        for line in header_lines:
            name, _, value = line.partition(":")
            lowered = name.strip().lower()
            if lowered == "content-length":
                length = int(value)
            elif lowered == "connection" and value.strip().lower() == "close":
                keep = False
        body = await self.reader.readexactly(length) if length else b""
        return status, body, keep

    def close(self) -> None:
        self.writer.close()


class OpenLoopClient:
    """Keep-alive connections to one server, reused across runs (so a warm-up leaves them open)."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0, max_connections: int = 512) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)
        self.opened = 0

    async def run(self, requests: list[bytes], rate: float) -> LoadResult:
        """Sends `requests` at `rate` per second; each outcome's latency runs from its scheduled slot."""
        result = LoadResult()
        started = time.perf_counter()
        tasks = []
        for index, request in enumerate(requests):
            slot = started + index / rate
            if (wait := slot - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            result.send_lag_ms.append((time.perf_counter() - slot) * 1000)
            tasks.append(asyncio.create_task(self._send(request, slot, started, result)))
        await asyncio.gather(*tasks)
        result.elapsed_seconds = time.perf_counter() - started
        return result

    async def _send(self, request: bytes, slot: float, started: float, result: LoadResult) -> None:
        status, body = 0, b""
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout - (time.perf_counter() - slot)):
                    status, body = await self._exchange(request)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                status = 0
        result.outcomes.append(Outcome(status, (time.perf_counter() - slot) * 1000, body, slot - started))

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        """One request on an idle connection, or on a new one. A kept-alive connection the server has
        closed meanwhile (its idle timeout) fails before any answer: the request goes again on a new
        connection, as HTTP clients do."""
        while self._idle:
            connection = self._idle.pop()
            try:
                return await self._use(connection, request)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                    raise
        connection = _Connection(*await asyncio.open_connection(self.host, self.port))
        self.opened += 1
        return await self._use(connection, request)

    async def _use(self, connection: _Connection, request: bytes) -> tuple[int, bytes]:
        try:
            status, body, keep = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        if keep:
            self._idle.append(connection)
        else:
            connection.close()
        return status, body

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]
