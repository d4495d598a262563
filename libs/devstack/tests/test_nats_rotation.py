"""Rotating a service's NATS password with an overlap: no event is lost, the old password stops working."""

from __future__ import annotations

from pathlib import Path

import nats
import pytest
from faststream.nats import NatsBroker
from nats.errors import Error as NatsError

from paid_contracts import subjects
from paid_contracts.nats_access import user_for
from paid_devstack import NatsServer, wait_until_async
from paid_devstack.nats_credentials import NatsCredentials
from paid_runtime.messaging import STREAMS, make_broker, provision_streams
from paid_runtime.redaction import find_secrets
from paid_runtime.subscriptions import durable_subscriber

pytestmark = pytest.mark.integration
EXECUTOR = user_for("executor")


def executor_broker(server: NatsServer, credentials: NatsCredentials, received: list[bytes]) -> NatsBroker:
    login = credentials.login(EXECUTOR)
    broker = make_broker(server.url, "executor", user=login, password=credentials.passwords[login])

    @durable_subscriber(
        broker,
        service="executor",
        name="task-ready",
        subject=subjects.PLAN_TASK_READY,
        stream=STREAMS["PAID_PLAN"],
    )
    async def on_task_ready(payload: bytes) -> None:
        received.append(payload)

    return broker


async def can_connect(server: NatsServer, login: str, password: str) -> bool:
    try:
        connection = await nats.connect(
            server.url, user=login, password=password, allow_reconnect=False, max_reconnect_attempts=0
        )
    except (NatsError, OSError):
        # A refused login is a closed connection; the client reports it either way, depending on
        # whether the server's -ERR or its close arrives first.
        return False
    await connection.close()
    return True


async def test_rotation_overlaps_and_loses_no_event(tmp_path: Path) -> None:
    old = NatsCredentials.generate()
    with NatsServer(tmp_path / "nats", sync_always=False, credentials=old) as server:
        await provision_streams(server.admin_url)
        admin = await nats.connect(server.admin_url)
        js = admin.jetstream()
        received: list[bytes] = []
        before = executor_broker(server, old, received)
        await before.start()
        for number in range(5):
            await js.publish(subjects.PLAN_TASK_READY, f'"before-{number}"'.encode())

        both = old.rotated(EXECUTOR)  # the new password is accepted beside the old one
        new_login = both.login(EXECUTOR)
        assert new_login != EXECUTOR
        server.reload(both)
        await wait_until_async(
            lambda: can_connect(server, new_login, both.passwords[new_login]),
            timeout=30,
            what="the new login",
        )
        after = executor_broker(server, both, received)
        await after.start()  # a second replica, as a rolling restart has for a while
        for number in range(5):
            await js.publish(subjects.PLAN_TASK_READY, f'"during-{number}"'.encode())
        await before.stop()

        new = both.retired(EXECUTOR)
        server.reload(new)
        await wait_until_async(
            lambda: _refused(server, EXECUTOR, old.passwords[EXECUTOR]),
            timeout=30,
            what="the old login to go",
        )
        for number in range(5):
            await js.publish(subjects.PLAN_TASK_READY, f'"after-{number}"'.encode())
        try:
            await wait_until_async(lambda: len(set(received)) == 15, timeout=60, what="every event")
        finally:
            await after.stop()
            await admin.close()
    expected = {f"{phase}-{n}".encode() for phase in ("before", "during", "after") for n in range(5)}
    assert set(received) == expected
    # nats-server logged the refused old login: no password, old or new, is in its log.
    log = (server.data_dir / "nats.log").read_text(errors="replace")
    assert f'authentication error - User "{EXECUTOR}"' in log
    assert find_secrets(log, frozenset(both.passwords.values())) == []


async def _refused(server: NatsServer, login: str, password: str) -> bool:
    """Refused by the server for its credentials: a connect that merely timed out on a loaded machine
    does not count (the server then logs no authentication error)."""
    if await can_connect(server, login, password):
        return False
    log = (server.data_dir / "nats.log").read_text(errors="replace")
    return f'authentication error - User "{login}"' in log


def test_a_rotation_is_finished_before_the_next_and_never_leaves_a_user_without_a_login() -> None:
    credentials = NatsCredentials.generate().rotated(EXECUTOR)
    with pytest.raises(ValueError, match="already being rotated"):
        credentials.rotated(EXECUTOR)
    with pytest.raises(ValueError, match="newest login"):
        credentials.retired(credentials.login(EXECUTOR))
    assert credentials.retired(EXECUTOR).login(EXECUTOR) == f"{EXECUTOR}.next"
