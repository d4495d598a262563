"""Runs a service's long-lived parts together and stops them cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.worker import Worker

from paid_contracts.nats_access import ACCESS_BY_SERVICE
from paid_contracts.subjects import ALL_STREAMS
from paid_runtime.http import make_server
from paid_runtime.messaging import require_streams
from paid_runtime.metrics import poll_consumer_lag
from paid_runtime.startup import until_available
from paid_runtime.telemetry import shutdown_tracing

log = logging.getLogger(__name__)
Cleanup = Callable[[], Awaitable[None]]


class ServiceHost:
    def __init__(self, name: str) -> None:
        self.name = name
        self.stopping = asyncio.Event()
        self._cleanups: list[Cleanup] = []

    def on_stop(self, cleanup: Cleanup) -> None:
        self._cleanups.append(cleanup)

    def _streams(self) -> list[str]:
        """The streams this service uses; the provisioning user creates them (`ensure_streams`)."""
        access = ACCESS_BY_SERVICE.get(self.name)
        return access.streams() if access else [spec.name for spec in ALL_STREAMS]

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)

    async def run(
        self, *, http: uvicorn.Server, broker: NatsBroker | None = None, worker: Worker | None = None
    ) -> None:
        """Starts the broker's subscribers, the Temporal worker and the HTTP server; returns once stopped."""
        self.install_signal_handlers()
        tasks = [asyncio.create_task(http.serve(), name=f"{self.name}-http")]
        if worker is not None:
            tasks.append(asyncio.create_task(worker.run(), name=f"{self.name}-worker"))
        if broker is not None:
            await until_available("NATS", broker.connect)
            await until_available("NATS streams", lambda: require_streams(broker, self._streams()))
            tasks.append(asyncio.create_task(poll_consumer_lag(lambda: broker.connection), name="lag"))
            await broker.start()
        log.info("%s started", self.name)
        stop_wait = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in done if t is not stop_wait and t.exception() is not None]
        for task in tasks:
            if task.get_name() == "lag":
                task.cancel()
        log.info("%s stopping", self.name)
        if broker is not None:
            await broker.stop()
        if worker is not None:
            await worker.shutdown()
        http.should_exit = True
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                await cleanup()
        await asyncio.gather(*tasks, return_exceptions=True)
        stop_wait.cancel()
        shutdown_tracing()
        if failed:
            raise RuntimeError(f"{self.name}: a component failed") from failed[0].exception()


async def host_service(
    name: str,
    app: FastAPI,
    *,
    listen: tuple[str, int],
    engine: AsyncEngine,
    broker: NatsBroker,
    worker: Worker | None = None,
) -> None:
    """Serves `app` on `listen` beside the broker and worker until SIGTERM, then disposes of `engine`."""
    host = ServiceHost(name)
    host.on_stop(engine.dispose)
    await host.run(http=make_server(app, *listen), broker=broker, worker=worker)
