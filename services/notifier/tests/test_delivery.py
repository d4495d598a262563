"""The 80% alert and the stop reach a Slack-format receiver, a signed-webhook receiver and a real SMTP
server once each, even when NATS delivers the events twice; a receiver down for K attempts gets every
notification once it is back (none lost, one per idempotency key); a refusal is not retried."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts import BudgetAlerted, BudgetExhausted, Event
from paid_contracts.notifications import ChannelSpec, NotificationKind
from paid_devstack.notification_receivers import HttpReceiver, SmtpReceiver
from paid_devstack.waiting import wait_until_async
from paid_notifier.channels import Senders, SmtpRelay, idempotency_key
from paid_notifier.delivery import Dispatcher, RetryPolicy
from paid_notifier.store import Store

SECRET = "whsec-0123456789abcdef"
PROJECT = "alice/app"


def budget_events(project: str = PROJECT) -> tuple[BudgetAlerted, BudgetExhausted]:
    scope = f"project:{project}:day:2026-12-07"
    common = {
        "producer": "executor",
        "scope": scope,
        "scope_kind": "project_day",
        "project": project,
        "period": "2026-12-07",
        "unit": "usd",
        "spent_tokens": 90_000,
        "cap_usd": 1.0,
        "run_id": "run-1",
    }
    return (
        BudgetAlerted(event_id=f"budget:{scope}:80", percent=80, spent_usd=0.81, **common),
        BudgetExhausted(event_id=f"budget:{scope}:100", percent=100, spent_usd=1.02, **common),
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def dispatcher(
    engine: AsyncEngine, http: httpx.AsyncClient, smtp_port: int = 1, *, max_attempts: int = 12
) -> Dispatcher:
    relay = SmtpRelay(host="127.0.0.1", port=smtp_port, sender="paid@example.com", timeout=5)
    retry = RetryPolicy(max_attempts, first_seconds=0.01, max_seconds=0.05, send_timeout_seconds=5)
    return Dispatcher(Store(engine), Senders(http, relay), retry)


async def test_the_alert_and_the_stop_arrive_once_at_slack_a_webhook_and_smtp(
    engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    with SmtpReceiver() as smtp:
        async with HttpReceiver() as slack, HttpReceiver(secret=SECRET) as hook:
            notifier = dispatcher(engine, http, smtp.port)
            await notifier.store.save_channels(
                [
                    ChannelSpec(name="team-slack", kind="slack", target=slack.url, project=PROJECT),
                    ChannelSpec(name="ops-hook", kind="webhook", target=hook.url, secret=SECRET),
                    ChannelSpec(
                        name="owner-mail",
                        kind="email",
                        target="owner@example.com",
                        events=(NotificationKind.BUDGET_ALERT, NotificationKind.BUDGET_STOP),
                    ),
                    # Another project's channel hears nothing of this one.
                    ChannelSpec(name="other", kind="slack", target=slack.url + "?other", project="bob/x"),
                ]
            )
            alert, stop = budget_events()
            for event in (alert, stop, alert, stop):  # NATS redelivers: the log dedupes
                assert await notifier.accept(event) == 3

            assert [body["text"] for body in slack.bodies()] == [
                "alice/app: 80% of the project day budget 2026-12-07 (UTC) spent",
                "alice/app: project day budget 2026-12-07 (UTC) is used up; runs stop",
            ]
            assert [body["event_id"] for body in hook.bodies()] == [alert.event_id, stop.event_id]
            assert set(hook.accepted) == {
                idempotency_key(alert.event_id, "ops-hook"),
                idempotency_key(stop.event_id, "ops-hook"),
            }
            assert [str(message["Subject"]).strip() for message in smtp.messages] == [
                "[Paid] alice/app: 80% of the project day budget 2026-12-07 (UTC) spent",
                "[Paid] alice/app: project day budget 2026-12-07 (UTC) is used up; runs stop",
            ]
            assert "Spent $1.02 of $1.00." in smtp.messages[1].get_content()


@pytest.mark.parametrize("down_for", [3])
async def test_a_receiver_down_for_k_attempts_gets_each_notification_once_after_it_returns(
    engine: AsyncEngine, http: httpx.AsyncClient, down_for: int
) -> None:
    async with HttpReceiver(down_for=down_for, secret=SECRET) as hook:
        notifier = dispatcher(engine, http)
        await notifier.store.save_channels(
            [ChannelSpec(name="hook", kind="webhook", target=hook.url, secret=SECRET)]
        )
        events: list[Event] = []
        for number in range(3):
            events += budget_events(f"alice/app-{number}")
        for event in events:
            await notifier.accept(event)  # the receiver is down for the first K of these attempts

        async def all_delivered() -> bool:
            await notifier.deliver_due()
            return len(hook.accepted) == len(events) and await pending(engine) == 0

        await wait_until_async(all_delivered, timeout=60, what="every notification delivered")

        assert {body["event_id"] for body in hook.accepted.values()} == {event.event_id for event in events}
        # Retries carry the same key, and nothing was sent again once delivered: the 200s are one per event.
        assert sorted(body["event_id"] for body in hook.bodies()) == sorted(
            event.event_id for event in events
        )
        assert len(hook.requests) == len(events) + down_for


async def test_a_refusal_is_not_retried_and_a_failing_receiver_is_given_up_after_max_attempts(
    engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    async with HttpReceiver(secret="another-secret-of-16+") as refusing, HttpReceiver(down_for=10**6) as down:
        notifier = dispatcher(engine, http, max_attempts=3)
        await notifier.store.save_channels(
            [
                ChannelSpec(name="refusing", kind="webhook", target=refusing.url, secret=SECRET),  # 401
                ChannelSpec(name="down", kind="slack", target=down.url),
            ]
        )
        alert, _ = budget_events(f"alice/{uuid.uuid4().hex[:6]}")
        await notifier.accept(alert)

        async def settled() -> bool:
            await notifier.deliver_due()
            return await pending(engine) == 0

        await wait_until_async(settled, timeout=60, what="both deliveries given up")
        assert len(refusing.requests) == 1
        assert len(down.requests) == 3
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT channel, status, attempts, last_error "
                        "FROM notifier.deliveries ORDER BY channel"
                    )
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("down", "failed", 3, "down: HTTP 503"),
            ("refusing", "failed", 1, "refusing: HTTP 401"),
        ]


async def pending(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM notifier.deliveries WHERE status = 'pending'")
        )
    return int(count or 0)
