"""`paid provision`: what compose's provision job runs before the services, on real servers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import nats
import pytest
from typer.testing import CliRunner

from paid_cli.main import app
from paid_devstack.nats import NatsServer
from paid_devstack.nats_credentials import NatsCredentials
from paid_devstack.test_servers import scratch_postgres
from paid_runtime import provisioning

pytestmark = pytest.mark.integration
SERVICES = ("gateway", "poller", "planner", "executor", "evolution", "notifier")


async def _streams_and_roles(nats_url: str, database_url: str) -> tuple[list[str], list[str]]:
    connection = await nats.connect(nats_url)
    try:
        streams = sorted(await connection.jetstream().streams_info(), key=lambda s: s.config.name)
    finally:
        await connection.close()
    database = await asyncpg.connect(database_url)
    try:
        roles = await database.fetch(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'paid\\_%' AND rolcanlogin ORDER BY 1"
        )
    finally:
        await database.close()
    return [s.config.name for s in streams], [row["rolname"] for row in roles]


def test_provision_creates_the_streams_and_the_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = NatsCredentials.generate()
    with (
        NatsServer(tmp_path / "nats", sync_always=False, credentials=credentials) as server,
        scratch_postgres("provision") as postgres,
    ):
        for service in SERVICES:
            monkeypatch.setenv(f"PAID_DB_{service.upper()}_PASSWORD", f"pw-{service}")
        monkeypatch.setenv("PAID_NATS_ADMIN_URL", server.admin_url)
        monkeypatch.setenv("PAID_DATABASE_ADMIN_URL", postgres.url)
        result = CliRunner().invoke(app, ["provision"])
        assert result.exit_code == 0, result.output
        streams, roles = asyncio.run(_streams_and_roles(server.admin_url, postgres.url))
        # A rotation of the planner's password: its second login beside the first, then alone.
        monkeypatch.setenv("PAID_DB_PLANNER_NEXT_PASSWORD", "pw-planner-next")
        assert CliRunner().invoke(app, ["provision"]).exit_code == 0
        _, overlapping = asyncio.run(_streams_and_roles(server.admin_url, postgres.url))
        monkeypatch.delenv("PAID_DB_PLANNER_PASSWORD")
        assert CliRunner().invoke(app, ["provision"]).exit_code == 0
        _, rotated = asyncio.run(_streams_and_roles(server.admin_url, postgres.url))
    assert streams == [
        "PAID_ATTENTION",
        "PAID_BUDGET",
        "PAID_DEAD",
        "PAID_EVOLUTION",
        "PAID_GITHUB",
        "PAID_PLAN",
        "PAID_PROJECT",
        "PAID_RUN",
    ]
    assert roles == sorted(f"paid_{service}" for service in SERVICES)
    assert overlapping == sorted([*roles, "paid_planner_next"])
    assert rotated == sorted({*overlapping} - {"paid_planner"})


def test_provision_refuses_a_missing_role_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with NatsServer(tmp_path / "nats", sync_always=False) as server:
        monkeypatch.setenv("PAID_NATS_ADMIN_URL", server.url)
        monkeypatch.setenv("PAID_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:1/postgres")
        for service in SERVICES:
            monkeypatch.delenv(f"PAID_DB_{service.upper()}_PASSWORD", raising=False)
        result = CliRunner().invoke(app, ["provision"])
    assert result.exit_code != 0
    assert "PAID_DB_GATEWAY_PASSWORD is not set" in result.output


def test_the_images_entry_point_refuses_a_missing_role_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose runs `paid-provision` (paid_runtime.provisioning:main) from the gateway's image, which
    carries no CLI; it checks every password before it provisions anything."""
    monkeypatch.setenv("PAID_NATS_ADMIN_URL", "nats://127.0.0.1:1")
    monkeypatch.setenv("PAID_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    for service in SERVICES:
        monkeypatch.setenv(f"PAID_DB_{service.upper()}_PASSWORD", f"pw-{service}")
    monkeypatch.delenv("PAID_DB_EVOLUTION_PASSWORD")
    with pytest.raises(SystemExit, match="PAID_DB_EVOLUTION_PASSWORD is not set"):
        provisioning.main()
