"""A push to the default branch is the one push the translator passes on: Paid's pull requests are
against it, and it may have made them conflict. A commit status reads the same from its webhook and
from the REST listing."""

from __future__ import annotations

from typing import Any

from paid_contracts import BaseBranchPushed, CheckSuiteCompleted, CommitStatusChanged, LabelMapping, RepoRef
from paid_github_events import Delivery, Ignored, delivery_event, listed_status

BEFORE, AFTER = "a" * 40, "b" * 40


def push(ref: str, *, after: str = AFTER, deleted: bool = False) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": BEFORE,
        "after": after,
        "deleted": deleted,
        "repository": {
            "name": "calc",
            "owner": {"login": "alice"},
            "clone_url": "https://github.com/alice/calc.git",
            "default_branch": "main",
        },
        "sender": {"login": "bob", "type": "User"},
    }


def read(payload: dict[str, Any], delivery_id: str = "d-1") -> BaseBranchPushed | Ignored:
    event = delivery_event(Delivery("push", delivery_id, payload), labels=LabelMapping(), producer="gateway")
    assert isinstance(event, BaseBranchPushed | Ignored)
    return event


def test_a_push_to_the_default_branch_is_a_base_push_named_by_its_commit() -> None:
    first, again = read(push("refs/heads/main")), read(push("refs/heads/main"), "d-2")
    assert isinstance(first, BaseBranchPushed)
    assert isinstance(again, BaseBranchPushed)
    assert (first.repo.full_name, first.branch, first.before, first.after, first.pusher) == (
        "alice/calc",
        "main",
        BEFORE,
        AFTER,
        "bob",
    )
    assert first.event_id == again.event_id  # a redelivery is the same change
    assert (first.source_id, again.source_id) == ("d-1", "d-2")


def test_other_branches_tags_and_a_deleted_default_branch_are_ignored() -> None:
    assert isinstance(read(push("refs/heads/paid/issue-1")), Ignored)
    assert isinstance(read(push("refs/tags/main")), Ignored)
    assert isinstance(read(push("refs/heads/main", after="0" * 40, deleted=True)), Ignored)
    assert isinstance(read({"ref": "refs/heads/main"}), Ignored)  # lacks what Paid needs


def test_a_commit_status_is_the_same_event_from_its_webhook_and_its_listing() -> None:
    """Its creator is the webhook's sender, and the listing's `creator`: the allowlist checks it."""
    status = {
        "id": 41,
        "state": "failure",
        "context": "ci/tests",
        "description": "2 failed",
        "target_url": None,
    }
    webhook = status | {
        "sha": AFTER,
        "repository": push("refs/heads/main")["repository"],
        "sender": {"login": "ci-bot", "type": "User"},
    }
    pushed = delivery_event(Delivery("status", "d-9", webhook), labels=LabelMapping(), producer="gateway")
    listed = listed_status(
        RepoRef(owner="alice", name="calc"),
        status | {"creator": {"login": "ci-bot"}},
        AFTER,
        producer="poller",
    )
    assert isinstance(pushed, CommitStatusChanged)
    assert (pushed.event_id, pushed.creator, pushed.state, pushed.context, pushed.sha) == (
        listed.event_id,
        listed.creator,
        "failure",
        "ci/tests",
        AFTER,
    )
    assert pushed.event_id == "github:alice/calc:status:41"


def test_a_completed_check_suite_names_its_app_and_pull_requests() -> None:
    suite = {"id": 77, "head_sha": AFTER, "conclusion": "failure", "app": {"slug": "test-ci-checks"}}
    payload = {
        "action": "completed",
        "check_suite": suite | {"pull_requests": [{"number": 2}]},
        "repository": push("refs/heads/main")["repository"],
    }
    event = delivery_event(Delivery("check_suite", "d-3", payload), labels=LabelMapping(), producer="gateway")
    assert isinstance(event, CheckSuiteCompleted)
    assert (event.event_id, event.app_slug, event.pull_numbers, event.conclusion) == (
        "github:alice/calc:check-suite:77:completed",
        "test-ci-checks",
        (2,),
        "failure",
    )
    running = payload | {"check_suite": suite | {"conclusion": None}}
    assert isinstance(
        delivery_event(Delivery("check_suite", "d-4", running), labels=LabelMapping(), producer="g"), Ignored
    )
