"""The probe that tests/docker runs inside compose's executor container, run here against a nats-server
configured from the same declaration (no Docker): every attempt it makes is refused, and refused for
the reason the compose test names, so that test cannot pass by the probe failing for another reason."""

from __future__ import annotations

from collections.abc import Iterator

import nats
import pytest

from paid_contracts import subjects
from paid_devstack.nats import NatsServer
from paid_devstack.nats_credentials import NatsCredentials
from paid_runtime.messaging import provision_streams

from ..docker.probes import (  # noqa: TID252 (tests are no package)
    PLANNER_DURABLE,
    assert_every_attempt_refused,
    run_nats_probe_here,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def credentials() -> NatsCredentials:
    return NatsCredentials.generate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, credentials: NatsCredentials) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False, credentials=credentials) as server:
        yield server


async def test_the_executor_probe_is_refused_on_every_attempt(
    server: NatsServer, credentials: NatsCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    await provision_streams(server.admin_url)
    planner_settings = credentials.service_settings("planner")
    planner = await nats.connect(
        server.url,
        user=planner_settings["NATS_USER"],
        password=planner_settings["NATS_PASSWORD"],
        inbox_prefix=f"_INBOX.{planner_settings['NATS_USER']}",
    )
    try:
        await planner.jetstream().pull_subscribe(
            subjects.GITHUB_PLAN_REQUESTED, durable=PLANNER_DURABLE, stream="PAID_GITHUB"
        )
    finally:
        await planner.close()
    executor_settings = credentials.service_settings("executor")
    monkeypatch.setenv("PAID_EXECUTOR_NATS_URL", server.url)
    monkeypatch.setenv("PAID_EXECUTOR_NATS_USER", executor_settings["NATS_USER"])
    monkeypatch.setenv("PAID_EXECUTOR_NATS_PASSWORD", executor_settings["NATS_PASSWORD"])

    assert_every_attempt_refused(await run_nats_probe_here())
