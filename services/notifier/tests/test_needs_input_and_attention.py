"""The planner's questions (needs input) and a project needing a person (project needs attention) reach
the channels routed to their kind and project, through the notifier's own NATS handlers; the question
text and the reason are untrusted and stay text in every channel's format."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.nats import TestNatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts import Event, IssueRef, PlanNeedsInput, ProjectNeedsAttention, RepoRef
from paid_contracts.notifications import ChannelSpec, NotificationKind
from paid_contracts.projects import attention_event_id
from paid_devstack.notification_receivers import HttpReceiver, SmtpReceiver
from paid_notifier import subscribers
from paid_notifier.channels import Senders, SmtpRelay
from paid_notifier.delivery import Dispatcher, RetryPolicy
from paid_notifier.messages import email_message, slack_payload, webhook_body
from paid_notifier.routing import route
from paid_notifier.store import Store
from paid_runtime.messaging import make_broker

SECRET = "whsec-0123456789abcdef"
HOSTILE = "Which <!channel> <https://evil.example|login> & *db*?\r\nBcc: victim@example.com <b>x</b>"


def needs_input(repo: str = "alice/app", question: str = "Which database?") -> PlanNeedsInput:
    owner, name = repo.split("/")
    return PlanNeedsInput(
        event_id=f"plan:{repo}#7:run-1:questions-1",
        producer="planner",
        plan_id=f"plan:{repo}#7",
        issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=7),
        round=1,
        questions=(question, "Which region?"),
        comment_url=f"https://github.com/{repo}/issues/7#issuecomment-1",
        label="paid-needs-input",
    )


def attention(repo: str = "alice/app", reason: str = "the GitHub App installation is suspended") -> Event:
    return ProjectNeedsAttention(
        event_id=attention_event_id(repo, 4),
        producer="gateway",
        project=repo,
        version=4,
        reason=reason,
        app_state="suspended",
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_each_kind_reaches_the_channels_of_its_kind_and_project_through_the_handlers(
    engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    with SmtpReceiver() as smtp:
        async with HttpReceiver() as slack, HttpReceiver(secret=SECRET) as hook:
            relay = SmtpRelay(host="127.0.0.1", port=smtp.port, sender="paid@example.com", timeout=5)
            retry = RetryPolicy(12, first_seconds=0.01, max_seconds=0.05, send_timeout_seconds=5)
            dispatcher = Dispatcher(Store(engine), Senders(http, relay), retry)
            await dispatcher.store.save_channels(
                [
                    ChannelSpec(
                        name="questions",
                        kind="slack",
                        target=slack.url,
                        project="Alice/App",
                        events=(NotificationKind.NEEDS_INPUT,),
                    ),
                    ChannelSpec(
                        name="ops",
                        kind="webhook",
                        target=hook.url,
                        secret=SECRET,
                        events=(NotificationKind.PROJECT_NEEDS_ATTENTION,),
                    ),
                    ChannelSpec(name="owner", kind="email", target="owner@example.com", project="alice/app"),
                    ChannelSpec(name="other", kind="slack", target=slack.url + "?other", project="bob/x"),
                ]
            )
            broker = make_broker("nats://unused:4222", "notifier")
            subscribers.register(broker, dispatcher)
            questions, needed = needs_input(), attention()
            async with TestNatsBroker(broker) as test_broker:
                for event in (questions, needed, questions):  # a redelivery is logged once
                    await test_broker.publish(event.model_dump(mode="json"), subject=event.subject)

            assert [body["text"] for body in slack.bodies()] == [
                "alice/app#7: the planner needs input (2 question(s))"
            ]
            assert [body["event_id"] for body in hook.bodies()] == [needed.event_id]
            assert hook.bodies()[0]["kind"] == "project_needs_attention"
            assert [str(message["Subject"]).strip() for message in smtp.messages] == [
                "[Paid] alice/app#7: the planner needs input (2 question(s))",
                "[Paid] alice/app: needs attention",
            ]
            assert "1. Which database?" in smtp.messages[0].get_content()
            assert "the GitHub App installation is suspended" in smtp.messages[1].get_content()


def test_routing_sends_each_kind_only_where_it_is_asked_for() -> None:
    questions_only = ChannelSpec(
        name="q", kind="slack", target="https://hooks.example/q", events=(NotificationKind.NEEDS_INPUT,)
    )
    attention_only = ChannelSpec(
        name="a",
        kind="slack",
        target="https://hooks.example/a",
        events=(NotificationKind.PROJECT_NEEDS_ATTENTION,),
    )
    theirs = ChannelSpec(name="t", kind="slack", target="https://hooks.example/t", project="bob/x")
    channels = [questions_only, attention_only, theirs]
    assert [c.name for c in route(channels, needs_input())] == ["q"]
    assert [c.name for c in route(channels, attention())] == ["a"]
    assert [c.name for c in route(channels, attention("bob/x"))] == ["a", "t"]


@pytest.mark.parametrize(
    "event",
    [needs_input(question=HOSTILE), attention(reason="GitHub refused a token: " + HOSTILE)],
    ids=["needs-input", "project-needs-attention"],
)
def test_untrusted_questions_and_reasons_stay_text_in_every_format(event: Event) -> None:
    slack = slack_payload(event)
    text = slack["blocks"][0]["text"]["text"]  # type: ignore[index]
    assert "<!channel>" not in text
    assert "<https://evil.example" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|login&gt; &amp; *db*?" in text

    message = email_message(event, sender="paid@example.com", recipient="owner@example.com")
    assert message["Bcc"] is None
    assert message.get_content_type() == "text/plain"  # <b> is shown, never rendered
    assert "<b>x</b>" in message.get_content()

    assert b"\\r\\nBcc: victim@example.com <b>x</b>" in webhook_body(event)
