"""The probe that tests/docker runs inside compose's executor container, run here against a nats-server
configured from the same declaration (no Docker): every attempt it makes is refused, and refused for
the reason the compose test names, so that test cannot pass by the probe failing for another reason."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from paid_contracts import subjects
from paid_devstack.nats import NatsServer
from paid_devstack.nats_credentials import NatsCredentials
from paid_runtime.messaging import provision_streams

from ..docker.probes import NATS_PROBE, PLANNER_DURABLE  # noqa: TID252 (tests are no package)

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

    outcome = json.loads(await run_probe())

    assert outcome["published"] is False
    assert outcome["deleted"] is False
    assert outcome["read_consumer"] == []
    assert outcome["anonymous_connected"] is False
    errors = [error.lower() for error in outcome["errors"]]
    for subject in (
        "paid.github.build_requested",
        "$js.api.stream.delete.paid_github",
        f"$js.api.consumer.info.paid_github.{PLANNER_DURABLE}",
        f"$js.api.consumer.msg.next.paid_github.{PLANNER_DURABLE}",
    ):
        assert any(f'permissions violation for publish to "{subject}"' in error for error in errors), errors
    assert "anonymous: nats: 'authorization violation'" in errors


async def run_probe() -> str:
    """The probe's code in this process (it would take seconds to start an interpreter under load); its
    `asyncio.run(main())` becomes an await of `main()` on this loop."""
    code = NATS_PROBE.replace("asyncio.run(main())", "")
    namespace: dict[str, object] = {"__name__": "probe"}
    exec(compile(code, str(Path(__file__).parent.parent / "docker" / "probes.py"), "exec"), namespace)  # noqa: S102
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        await namespace["main"]()  # type: ignore[operator]
    return printed.getvalue()
