"""`paid-poller` as deployed, on a real Temporal server: it polls the configured repository."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.temporal import TemporalDevServer
from paid_poller import repo


@pytest.fixture
def temporal_server(tmp_path: Path) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path / "temporal", headless=True) as server:
        yield server


async def ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=1.0)).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.integration
async def test_polls_the_configured_repository_and_stops_on_sigterm(
    tmp_path: Path,
    temporal_server: TemporalDevServer,
    postgres: EmbeddedPostgres,
    sessions: async_sessionmaker[AsyncSession],
    nats_server: NatsServer,
    world: Any,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PAID_POLLER_HTTP_PORT": str(port),
        "PAID_POLLER_TEMPORAL_TARGET": temporal_server.target,
        "PAID_POLLER_DATABASE_URL": postgres.url,
        "PAID_POLLER_NATS_URL": nats_server.url,
        "PAID_POLLER_GITHUB_API_URL": world.emulator.api_url,
        "PAID_POLLER_GITHUB_TOKEN": world.token,
        "PAID_POLLER_GITHUB_CREDENTIALS": "global",  # no gateway here to answer for the minter
        "PAID_POLLER_TASK_QUEUE": f"poller-{uuid.uuid4()}",
        "PAID_POLLER_REPOSITORIES": world.full_name,
    }
    with (tmp_path / "poller.log").open("wb") as log:
        process = subprocess.Popen(
            [Path(sys.executable).parent / "paid-poller"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = asyncio.get_running_loop().time() + 60

            async def polled() -> bool:
                async with sessions() as session:
                    return await repo.get_poll_state(session, repo=world.full_name) is not None

            while not (await ready(f"http://127.0.0.1:{port}/readyz") and await polled()):
                assert process.poll() is None, (tmp_path / "poller.log").read_text()
                assert asyncio.get_running_loop().time() < deadline, "the repository was never polled"
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
