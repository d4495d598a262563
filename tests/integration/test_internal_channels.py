"""On the whole stack: evolution's API answers only through the gateway, NATS only its users, and each
service's database role only its own schema."""

from __future__ import annotations

import re

import asyncpg
import httpx
import nats
import pytest
from asyncpg.exceptions import InsufficientPrivilegeError
from nats.errors import Error as NatsError

from paid_devstack.postgres import libpq_url
from paid_devstack.sandbox import EmulatedPaid

from ..docker.probes import (  # noqa: TID252 (tests are no package)
    PLANNER_DURABLE,
    PROBE_CLIENT,
    assert_every_attempt_refused,
    run_nats_probe_here,
)

pytestmark = pytest.mark.integration


def test_evolution_answers_the_gateway_not_a_direct_caller(paid: EmulatedPaid, admin_token: str) -> None:
    direct = httpx.get(f"{paid.platform.url('evolution')}/api/prompts", trust_env=False, timeout=10)
    health = httpx.get(f"{paid.platform.url('evolution')}/healthz", trust_env=False, timeout=10)
    through_gateway = httpx.get(
        f"{paid.platform.url('gateway')}/api/evolution/prompts",
        headers={"Authorization": f"Bearer {admin_token}"},
        trust_env=False,
        timeout=10,
    )
    assert direct.status_code == 401
    assert health.status_code == 200
    assert through_gateway.status_code == 200, through_gateway.text
    assert {"category": "coding"}.items() <= through_gateway.json()[0].items()


async def test_the_stacks_nats_refuses_a_connection_without_credentials(paid: EmulatedPaid) -> None:
    with pytest.raises(NatsError, match="Authorization Violation"):
        await nats.connect(paid.platform.infra.nats_url, allow_reconnect=False, max_reconnect_attempts=0)


def test_the_services_broke_no_nats_permission(paid: EmulatedPaid) -> None:
    """A service doing something its declaration does not allow shows up in nats-server's log (the
    probe's own refusals, under its client name, are not the services')."""
    nats_server = paid.platform.infra.nats
    assert nats_server is not None
    log = (nats_server.data_dir / "nats.log").read_text()
    violations = re.findall(r".*(?:Publish|Subscription) Violation.*", log)
    assert [line for line in violations if f':{PROBE_CLIENT}"' not in line] == []


async def test_a_process_connected_as_the_executor_is_refused_what_is_not_its_own(
    paid: EmulatedPaid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose's probe (tests/docker), on the stack: with the executor's credentials it cannot publish a
    build request, read the running planner's durable consumer or delete a stream; without any, no
    connection."""
    infra = paid.platform.infra
    assert infra.nats_credentials is not None
    executor = infra.nats_credentials.service_settings("executor")
    monkeypatch.setenv("PAID_EXECUTOR_NATS_URL", infra.nats_url)
    monkeypatch.setenv("PAID_EXECUTOR_NATS_USER", executor["NATS_USER"])
    monkeypatch.setenv("PAID_EXECUTOR_NATS_PASSWORD", executor["NATS_PASSWORD"])
    admin = await nats.connect(infra.nats_admin_url)
    try:
        js = admin.jetstream()
        await js.consumer_info("PAID_GITHUB", PLANNER_DURABLE)  # the planner's, there to be tried
        before = (await js.stream_info("PAID_GITHUB")).state.messages

        assert_every_attempt_refused(await run_nats_probe_here())

        assert (await js.stream_info("PAID_GITHUB")).state.messages == before
    finally:
        await admin.close()


async def test_the_planners_database_role_cannot_read_the_gateways_tables(paid: EmulatedPaid) -> None:
    """The URL the stack gave the planner (its own role), against tables the gateway really made."""
    planner = await asyncpg.connect(libpq_url(paid.platform.infra.service_database_url("planner")))
    try:
        assert await planner.fetchval("SELECT current_user") == "paid_planner"
        for table in ("api_tokens", "projects"):
            with pytest.raises(InsufficientPrivilegeError, match=r"^permission denied for schema gateway$"):
                await planner.fetch(f"SELECT * FROM gateway.{table}")  # noqa: S608 (a fixed table name)
    finally:
        await planner.close()
