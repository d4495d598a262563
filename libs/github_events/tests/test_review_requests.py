"""Review mode's trigger: the review label on a pull request from a fork is one ReviewRequested,
with the same id and the same pinned head whether Paid heard of it by webhook or by polling; other
labels, a bot's labeling and the label on an issue ask for no review."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from paid_contracts import Event, LabelMapping, RepoRef, ReviewRequested
from paid_github_emulator import GitHubEmulator
from paid_github_emulator.git_repos import git_env
from paid_github_emulator.testing import WebhookReceiver
from paid_github_events import Delivery, Ignored, delivery_event, labeled_pull, labeled_pull_number

OWNER, NAME, TOKEN = "octo", "widgets", "ghp_octo"
FORKER, FORKER_TOKEN = "fran", "ghp_fran"
LABELS = LabelMapping()
HOW_HEARD = {"producer", "source", "source_id", "occurred_at"}


def api(emu: GitHubEmulator, token: str = TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=f"{emu.api_url}/repos/{OWNER}/{NAME}", headers={"Authorization": f"token {token}"}
    )


def fork_pull(emu: GitHubEmulator, workdir: Path) -> tuple[int, str]:
    """Fran's pull request from her fork; its number and head."""
    assert api(emu, FORKER_TOKEN).post("/forks").status_code == 202
    env = git_env({"GIT_AUTHOR_NAME": "F", "GIT_AUTHOR_EMAIL": "f@x.test"})
    env |= {"GIT_COMMITTER_NAME": "F", "GIT_COMMITTER_EMAIL": "f@x.test"}

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=workdir, env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    git("clone", emu.git_url(FORKER, NAME, FORKER_TOKEN), ".")
    (workdir / "README.md").write_text("# widgets, improved\n")
    git("commit", "-am", "Improve the readme")
    git("push", "origin", "main")  # the fork's branch shares its name with the base's
    opened = api(emu, FORKER_TOKEN).post(
        "/pulls", json={"title": "Readme", "head": f"{FORKER}:main", "base": "main"}
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["head"]["repo"]["fork"] is True
    return int(opened.json()["number"]), git("rev-parse", "HEAD")


def from_webhooks(emu: GitHubEmulator) -> list[Event]:
    found = []
    for record in emu.deliveries(event="pull_request", action="labeled"):
        event = delivery_event(
            Delivery(record.event, record.guid, json.loads(record.body)), labels=LABELS, producer="gateway"
        )
        if not isinstance(event, Ignored):
            found.append(event)
    return found


def from_polling(emu: GitHubEmulator, repo: RepoRef) -> list[Event]:
    found = []
    for event in api(emu).get("/issues/events").json():
        number = labeled_pull_number(event, LABELS)
        if number is not None:
            pull = api(emu).get(f"/pulls/{number}").json()
            requested = labeled_pull(repo, event, pull, LABELS, producer="poller")
            if requested is not None:
                found.append(requested)
    return found


def test_the_review_label_on_a_fork_pull_request_is_one_request_pinned_to_its_head(tmp_path: Path) -> None:
    with GitHubEmulator() as emu, WebhookReceiver() as receiver:
        emu.add_user(OWNER, TOKEN)
        emu.add_user(FORKER, FORKER_TOKEN)
        emu.add_user("renovate[bot]", "ghs_renovate")
        emu.create_repository(OWNER, NAME, {"README.md": "# widgets\n"})
        emu.set_permission(OWNER, NAME, "renovate[bot]", "write")
        emu.create_hook(OWNER, NAME, receiver.url, events=["*"])
        number, head = fork_pull(emu, tmp_path)
        issue = int(emu.create_issue(OWNER, NAME, title="An issue", as_user=OWNER)["number"])
        emu.add_labels(OWNER, NAME, issue, ["paid-review"], as_user=OWNER)  # on an issue: no review
        emu.add_labels(OWNER, NAME, number, ["bug"], as_user=OWNER)  # not the review label
        emu.add_labels(OWNER, NAME, number, ["paid-review"], as_user="renovate[bot]")  # a bot
        emu.remove_label(OWNER, NAME, number, "paid-review", as_user=OWNER)
        emu.advance_clock(2)
        emu.add_labels(OWNER, NAME, number, ["paid-review"], as_user=OWNER)
        emu.wait_for_deliveries(3, event="pull_request", action="labeled")
        repo = RepoRef(owner=OWNER, name=NAME, clone_url=emu.git_url(OWNER, NAME))
        heard = from_webhooks(emu)
        polled = from_polling(emu, repo)

    assert [type(event) for event in heard] == [ReviewRequested]
    requested = heard[0]
    assert isinstance(requested, ReviewRequested)
    assert (requested.number, requested.head_sha, requested.head_ref) == (number, head, "main")
    assert (requested.head_repo, requested.requested_by) == (f"{FORKER}/{NAME}", OWNER)
    assert [e.model_dump(exclude=HOW_HEARD) for e in polled] == [requested.model_dump(exclude=HOW_HEARD)]
