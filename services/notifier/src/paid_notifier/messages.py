"""What a notification says, and the same words in each channel's format.

Every string that comes from outside Paid's own code (repository and branch names, a run's detail,
URLs in events) is untrusted: Slack's mrkdwn gets `&`, `<` and `>` escaped (so no text can form a link,
a mention such as `<!channel>` or markup), an email header loses line breaks (no header injection) and
its body is plain text, a webhook gets JSON (escaped by the encoder)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from email.message import EmailMessage

from paid_contracts import (
    BudgetAlerted,
    BudgetExhausted,
    Event,
    PlanNeedsInput,
    ProjectNeedsAttention,
    PullRequestOpened,
    RunFinished,
)
from paid_notifier.routing import kind_of, project_of

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Notification:
    title: str
    lines: tuple[str, ...]
    link: str | None = None


def compose(event: Event) -> Notification:
    project = project_of(event) or "Paid"
    if isinstance(event, RunFinished):
        lines = [f"Outcome: {event.outcome.value}", f"Iterations: {event.iterations}"]
        if event.cost_usd is not None:
            lines.append(f"Cost: ${event.cost_usd:.2f}")
        if event.detail:
            lines.append(event.detail)
        return Notification(
            f"{event.issue.key}: run finished ({event.outcome.value})", tuple(lines), event.pull_request_url
        )
    if isinstance(event, PullRequestOpened):
        return Notification(
            f"{event.issue.key}: pull request #{event.number} is ready for review",
            (f"Branch: {event.branch}",),
            event.url,
        )
    if isinstance(event, BudgetAlerted | BudgetExhausted):
        spent = f"{event.spent_tokens} tokens" if event.unit == "tokens" else f"${event.spent_usd:.2f}"
        cap = f"{event.cap_tokens} tokens" if event.unit == "tokens" else f"${event.cap_usd or 0:.2f}"
        what = f"{event.scope_kind.replace('_', ' ')} budget {event.period} ({event.time_zone})"
        if isinstance(event, BudgetExhausted):
            title = f"{project}: {what} is used up; runs stop"
        else:
            title = f"{project}: {event.percent}% of the {what} spent"
        return Notification(title, (f"Spent {spent} of {cap}.",))
    if isinstance(event, PlanNeedsInput):
        lines = [f"{n}. {question}" for n, question in enumerate(event.questions, start=1)]
        lines.append(f"Answer on the issue, or apply the label {event.label!r} again.")
        return Notification(
            f"{event.issue.key}: the planner needs input ({len(event.questions)} question(s))",
            tuple(lines),
            event.comment_url,
        )
    if isinstance(event, ProjectNeedsAttention):
        state = (f"GitHub App: {event.app_state}",) if event.app_state else ()
        return Notification(f"{project}: needs attention", (event.reason, *state))
    return Notification(f"{project}: {event.type}", ())


def slack_escape(text: str) -> str:
    """Slack's own rule for mrkdwn text: these three, and only these, are control characters."""
    return CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(event: Event) -> dict[str, object]:
    note = compose(event)
    text = "*" + slack_escape(note.title) + "*"
    body = "\n".join(slack_escape(line) for line in note.lines)
    if note.link and note.link.startswith(("https://", "http://")):
        body += f"\n<{slack_escape(note.link)}|open>"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{body}".strip()}}]
    return {"text": slack_escape(note.title), "blocks": blocks}


def webhook_body(event: Event) -> bytes:
    note = compose(event)
    document = {
        "event_id": event.event_id,
        "type": event.type,
        "kind": str(kind_of(event) or ""),
        "project": project_of(event),
        "title": note.title,
        "lines": list(note.lines),
        "link": note.link,
        "event": event.model_dump(mode="json"),
    }
    return json.dumps(document, sort_keys=True).encode()


def header_safe(text: str, limit: int = 200) -> str:
    return " ".join(CONTROL.sub(" ", text).replace("\r", " ").replace("\n", " ").split())[:limit]


def email_message(event: Event, *, sender: str, recipient: str) -> EmailMessage:
    note = compose(event)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = "[Paid] " + header_safe(note.title)
    # The same id on every retry, so a mail system that dedupes by Message-ID keeps one copy.
    message["Message-ID"] = f"<{hashlib.sha256(event.event_id.encode()).hexdigest()[:40]}@paid.notifier>"
    body = "\n".join(CONTROL.sub("", line) for line in (note.title, "", *note.lines))
    if note.link:
        body += f"\n\n{CONTROL.sub('', note.link)}"
    message.set_content(body + "\n")
    return message
