"""A `paid-plan` issue becomes a plan comment and ordered sub-issues; the executor builds the first
ready task; merging its pull request releases the next. All five services, real servers, the GitHub
and LLM emulators."""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest

from paid_contracts import PullRequestClosed, RepoRef, TriggerSource
from paid_devstack import wait_until
from paid_devstack.demo_repo import CALC_FIXED, MAINTAINER, README, DemoIssue, fix_diff
from paid_devstack.sandbox import EmulatedPaid
from paid_llm_emulator import LLMEmulator
from paid_runtime.messaging import ensure_streams, make_broker, publish_event

pytestmark = [pytest.mark.integration, pytest.mark.slow]
README_NOTE = README + "\nAdding and multiplying both work.\n"


def readme_diff() -> str:
    lines = difflib.unified_diff(
        README.splitlines(keepends=True), README_NOTE.splitlines(keepends=True), "a/README.md", "b/README.md"
    )
    return "".join(lines)


def plan_for(title: str) -> str:
    tasks = [
        {
            "id": "fix-add",
            "title": "Make add() add",
            "description": f"Fix `add` in `calc.py`:\n\n```diff\n{fix_diff()}```\n",
            "acceptance_criteria": ["test_add passes"],
            "depends_on": [],
        },
        {
            "id": "document",
            "title": "Say in the README that the calculator works",
            "description": f"Once add() is fixed, note it in README.md:\n\n```diff\n{readme_diff()}```\n",
            "acceptance_criteria": ["README.md says both operations work"],
            "depends_on": ["fix-add"],
        },
    ]
    return json.dumps({"summary": f"{title}: fix add(), then document it.", "tasks": tasks})


def pull_closing(paid: EmulatedPaid, issue: DemoIssue, number: int) -> dict[str, Any] | None:
    found = [p for p in paid.pulls(issue) if f"Closes #{number}" in (p.get("body") or "")]
    return found[0] if found else None


async def test_a_planned_issue_is_built_task_by_task(
    paid: EmulatedPaid, issue: DemoIssue, llm: LLMEmulator
) -> None:
    title = f"Make the calculator right ({issue.repo})"
    parent = paid.github.create_issue(
        issue.owner, issue.repo, title=title, body="add() is wrong.", as_user=MAINTAINER
    )
    llm.reply(plan_for(title), contains=title)

    paid.label(DemoIssue(issue.owner, issue.repo, parent["number"], parent["html_url"]), "paid-plan")

    def sub_issues() -> list[dict[str, Any]]:
        return paid.github.sub_issues(issue.owner, issue.repo, parent["number"])

    wait_until(lambda: len(sub_issues()) == 2, timeout=120, what="two sub-issues")
    first, second = sub_issues()
    assert [first["title"], second["title"]] == [
        "Make add() add",
        "Say in the README that the calculator works",
    ]

    def plan_comments() -> list[dict[str, Any]]:
        found = paid.github.comments(issue.owner, issue.repo, parent["number"])
        return [c for c in found if "## Plan" in c["body"]]

    wait_until(lambda: bool(plan_comments()), timeout=60, what="the plan comment")
    plan_comment = plan_comments()
    assert len(plan_comment) == 1
    assert f"#{first['number']}" in plan_comment[0]["body"]

    wait_until(
        lambda: pull_closing(paid, issue, first["number"]) is not None,
        timeout=180,
        what="the first task's PR",
    )
    pull = pull_closing(paid, issue, first["number"])
    assert pull is not None
    assert paid.github.file_content(issue.owner, issue.repo, "calc.py", ref=pull["head"]["ref"]) == CALC_FIXED
    assert pull_closing(paid, issue, second["number"]) is None  # the second task waits for the first

    paid.github.merge_pull(issue.owner, issue.repo, pull["number"], as_user=MAINTAINER)
    # The gateway's normalization of pull_request webhooks is another change (issue 3): publish the
    # event it will publish, as it will.
    broker = make_broker(paid.platform.infra.nats_admin_url, "plan-path-test")
    await broker.connect()
    await ensure_streams(broker)
    await publish_event(
        broker,
        PullRequestClosed(
            producer="test", repo=RepoRef(owner=issue.owner, name=issue.repo), number=pull["number"],
            merged=True, head_ref=pull["head"]["ref"], closes=(first["number"],),
            source=TriggerSource.WEBHOOK, source_id=f"merge-{issue.repo}-{pull['number']}",
        ),
    )  # fmt: skip
    await broker.stop()

    wait_until(
        lambda: pull_closing(paid, issue, second["number"]) is not None, timeout=180, what="the next PR"
    )
    second_pull = pull_closing(paid, issue, second["number"])
    assert second_pull is not None
    readme = paid.github.file_content(issue.owner, issue.repo, "README.md", ref=second_pull["head"]["ref"])
    assert readme == README_NOTE


@pytest.mark.heavy
async def test_an_auto_issue_builds_the_next_task_on_the_first_pull_request_without_a_merge(
    paid: EmulatedPaid, issue: DemoIssue, llm: LLMEmulator
) -> None:
    """`paid-auto`: the second task is built as soon as the first has its pull request open, nobody
    merging. Built from the default branch, it does not have the first's fix, so the repository's tests
    fail there and auto mode stops with one comment."""
    title = f"Make the calculator right, in auto mode ({issue.repo})"
    parent = paid.github.create_issue(
        issue.owner, issue.repo, title=title, body="add() is wrong.", as_user=MAINTAINER
    )
    llm.reply(plan_for(title), contains=title)

    paid.label(DemoIssue(issue.owner, issue.repo, parent["number"], parent["html_url"]), "paid-auto")

    def stopped() -> list[dict[str, Any]]:
        found = paid.github.comments(issue.owner, issue.repo, parent["number"])
        return [c for c in found if "Auto mode stopped" in c["body"]]

    wait_until(lambda: bool(stopped()), timeout=240, what="the second task built, and auto mode stopped")
    first, second = paid.github.sub_issues(issue.owner, issue.repo, parent["number"])
    first_pull = pull_closing(paid, issue, first["number"])
    assert first_pull is not None
    assert first_pull["state"] == "open"
    assert not first_pull.get("merged_at")
    [comment] = stopped()
    assert f"#{second['number']}" in comment["body"]
    assert pull_closing(paid, issue, second["number"]) is None
