"""Each event type the emulator sends validates against octokit/webhooks' schemas; the check can fail.

(The autouse fixture in conftest validates every delivery of every test; this test makes sure every
event and action is sent at least once.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from paid_github_emulator.testing import WebhookReceiver

from .conftest import World
from .test_git_and_pulls import push_branch
from .webhook_schema import FIELDS_THE_SCHEMAS_LAG_BEHIND_ON, schema_errors

FIXTURES = Path("/work/shared/fixtures/github-webhooks")


def drive_every_event(world: World, tmp_path: Path) -> None:
    gh, owner, repo = world.owner_gh, world.owner, world.repo
    gh.rest.issues.create_label(owner, repo, name="paid", color="ededed")
    number = gh.rest.issues.create(owner, repo, title="Make widgets blue", body="please").parsed_data.number
    gh.rest.issues.add_labels(owner, repo, number, labels=["paid"])
    gh.rest.issues.remove_label(owner, repo, number, "paid")
    gh.rest.issues.update(owner, repo, number, title="Make widgets bluer")
    comment = gh.rest.issues.create_comment(owner, repo, number, body="/paid go").parsed_data
    gh.rest.issues.update_comment(owner, repo, comment.id, body="/paid stop")
    gh.rest.issues.update(owner, repo, number, state="closed")
    gh.rest.issues.update(owner, repo, number, state="open")
    push_branch(world, tmp_path, "paid/issue-1", world.bot_token)
    pull = world.bot_gh.rest.pulls.create(owner, repo, title="Fix", head="paid/issue-1", base="main")
    world.bot_gh.rest.pulls.update(owner, repo, pull.parsed_data.number, body="Closes #1")
    gh.rest.issues.add_labels(owner, repo, pull.parsed_data.number, labels=["paid"])
    gh.rest.pulls.merge(owner, repo, pull.parsed_data.number)


EXPECTED = {
    ("ping", None),
    ("label", "created"),
    ("issues", "opened"),
    ("issues", "labeled"),
    ("issues", "unlabeled"),
    ("issues", "edited"),
    ("issues", "closed"),
    ("issues", "reopened"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("pull_request", "opened"),
    ("pull_request", "edited"),
    ("pull_request", "labeled"),
    ("pull_request", "closed"),
}


def test_every_event_type_sent_validates(
    world: World, receiver: WebhookReceiver, tmp_path: Path, deliveries_match_githubs_schemas: list[Any]
) -> None:
    world.emu.create_hook(world.owner, world.repo, receiver.url, secret="s", events=["*"])
    drive_every_event(world, tmp_path)
    sent = deliveries_match_githubs_schemas
    assert {(event, payload.get("action")) for event, payload in sent} >= EXPECTED
    for event, payload in sent:
        assert schema_errors(event, payload) == [], event


def test_a_new_hooks_ping_goes_only_to_it(world: World) -> None:
    with WebhookReceiver() as first, WebhookReceiver() as second:
        first_id = world.emu.create_hook(world.owner, world.repo, first.url, events=["issues"])["id"]
        second_id = world.emu.create_hook(world.owner, world.repo, second.url, events=["issues"])["id"]
        world.emu.create_issue(world.owner, world.repo, title="after both hooks", as_user=world.owner)
        world.emu.wait_for_deliveries(2, event="issues")
    pings = world.emu.deliveries(event="ping")
    assert sorted((d.hook_id, json.loads(d.body)["hook_id"]) for d in pings) == [
        (first_id, first_id),
        (second_id, second_id),
    ]


def test_the_check_rejects_unknown_fields_missing_fields_and_wrong_types() -> None:
    good = json.loads((FIXTURES / "issues" / "labeled.payload.json").read_text())
    assert schema_errors("issues", good) == []

    unknown = copy.deepcopy(good)
    unknown["issue"]["closed_by"] = None
    assert any("'closed_by' was unexpected" in e for e in schema_errors("issues", unknown))

    missing = copy.deepcopy(good)
    del missing["sender"]["login"]
    assert schema_errors("issues", missing)

    wrong = copy.deepcopy(good)
    wrong["issue"]["number"] = "1"
    assert schema_errors("issues", wrong)

    assert schema_errors("no_such_event", {"action": "x"}) == ["no vendored schema 'no_such_event$x'"]


def test_only_the_named_lagging_fields_are_allowed() -> None:
    good = json.loads((FIXTURES / "issues" / "labeled.payload.json").read_text())
    lagging = copy.deepcopy(good)
    lagging["sender"]["user_view_type"] = "public"
    lagging["label"] |= {"archived_at": None, "archived_by": None}
    assert schema_errors("issues", lagging) == []
    assert set(FIELDS_THE_SCHEMAS_LAG_BEHIND_ON) == {"common/user.schema.json", "common/label.schema.json"}

    other = copy.deepcopy(good)
    other["sender"]["user_view_kind"] = "public"
    assert schema_errors("issues", other)
