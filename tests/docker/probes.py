"""Probes run inside the compose stack's containers (`docker compose exec`), with the credentials that
container holds: what an attacker who took over that service could try on the internal channels."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

PLANNER_DURABLE = "planner-plan-requested"  # the planner's consumer of plan requests
PROBE_CLIENT = "paid-probe"  # the probe's NATS client name, which nats-server puts in its log lines

# Each refused attempt waits `timeout` for a reply that cannot come; the violation itself arrives at
# once, and the tests look for it by name, so a short wait cannot make a granted attempt look refused.
NATS_PROBE = r"""
import asyncio, json, os
import nats
from nats.errors import Error as NatsError

PLANNER_DURABLE = "@PLANNER_DURABLE@"

async def main():
    url = os.environ["PAID_EXECUTOR_NATS_URL"]
    seen = []
    async def on_error(error):
        seen.append(str(error))
    executor = await nats.connect(
        url, user=os.environ["PAID_EXECUTOR_NATS_USER"], password=os.environ["PAID_EXECUTOR_NATS_PASSWORD"],
        inbox_prefix="_INBOX." + os.environ["PAID_EXECUTOR_NATS_USER"], name="@PROBE_CLIENT@",
        error_cb=on_error, allow_reconnect=False, max_reconnect_attempts=0,
    )
    published = True
    try:
        await executor.jetstream().publish("paid.github.build_requested", b"{}", timeout=1.0)
    except Exception:
        published = False
    try:
        await executor.jetstream().delete_stream("PAID_GITHUB")
        deleted = True
    except Exception:
        deleted = False
    # The planner's durable consumer: neither its state nor its next message.
    read_consumer = []
    try:
        await executor.jetstream().consumer_info("PAID_GITHUB", PLANNER_DURABLE, timeout=1.0)
        read_consumer.append("info")
    except Exception:
        pass
    try:
        await executor.request(f"$JS.API.CONSUMER.MSG.NEXT.PAID_GITHUB.{PLANNER_DURABLE}", b"1", timeout=1.0)
        read_consumer.append("next")
    except Exception:
        pass
    await executor.close()
    try:
        anonymous = await nats.connect(
            url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3
        )
        await anonymous.close()
        anonymous_connected = True
    except Exception as error:
        anonymous_connected = False
        seen.append(f"anonymous: {error}")
    print(json.dumps({"published": published, "deleted": deleted, "read_consumer": read_consumer,
                      "anonymous_connected": anonymous_connected, "errors": seen}))

asyncio.run(main())
""".replace("@PLANNER_DURABLE@", PLANNER_DURABLE).replace("@PROBE_CLIENT@", PROBE_CLIENT)

DATABASE_PROBE = r"""
import asyncio, json, os
import asyncpg

async def main():
    connection = await asyncpg.connect(os.environ["PAID_PLANNER_DATABASE_URL"])
    outcomes = {}
    for table in ("gateway.api_tokens", "gateway.projects"):
        try:
            await connection.fetch(f"SELECT * FROM {table} LIMIT 1")
            outcomes[table] = "read"
        except asyncpg.PostgresError as error:
            outcomes[table] = f"{type(error).__name__}: {error}"
    await connection.close()
    print(json.dumps(outcomes))

asyncio.run(main())
"""


async def run_nats_probe_here() -> Any:
    """NATS_PROBE in this process, with the PAID_EXECUTOR_NATS_* of this environment (starting an
    interpreter would take seconds under load); its `asyncio.run(main())` becomes an await of `main()`."""
    code = NATS_PROBE.replace("asyncio.run(main())", "")
    namespace: dict[str, Any] = {"__name__": "probe"}
    exec(compile(code, str(Path(__file__)), "exec"), namespace)  # noqa: S102 (our own probe's code)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        await namespace["main"]()
    return json.loads(printed.getvalue())


def assert_every_attempt_refused(outcome: Any) -> None:
    """Each attempt failed, and nats-server said why: the named violation, not some other error."""
    assert outcome["published"] is False, outcome
    assert outcome["deleted"] is False, outcome
    assert outcome["read_consumer"] == [], outcome
    assert outcome["anonymous_connected"] is False, outcome
    errors = [error.lower() for error in outcome["errors"]]
    for subject in (
        "paid.github.build_requested",
        "$js.api.stream.delete.paid_github",
        f"$js.api.consumer.info.paid_github.{PLANNER_DURABLE}",
        f"$js.api.consumer.msg.next.paid_github.{PLANNER_DURABLE}",
    ):
        assert any(f'permissions violation for publish to "{subject}"' in error for error in errors), errors
    assert "anonymous: nats: 'authorization violation'" in errors, errors
