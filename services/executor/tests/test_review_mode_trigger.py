"""Review mode end to end on the real servers (the GitHub emulator, Temporal's test server, the bwrap
sandbox): the review label on a fork's pull request, read by the one translator from the emulator's
webhook, gets exactly one COMMENT review from Paid with its finding inline, while the agent held no
write credential (none in its environment or its files, no `.git`, no network to push over); the
fork's hooks, filter attributes and links ran nothing on the host. A head pushed after the label is
not what is reviewed (Paid explains, and posts no review); a read-only user's label or `/paid review`
starts nothing; a trusted user's `/paid review` reviews the head as it is then, once, and is
acknowledged with one reaction."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from paid_contracts import IssueCommented, LabelMapping, RepoRef, ReviewRequested
from paid_executor import subscribers
from paid_executor.activities import make_deps
from paid_executor.comment_commands import CommandContext, act_on_command
from paid_executor.config import ExecutorSettings
from paid_executor.review_trigger import on_review_requested
from paid_executor.review_workflow import ReviewModeResult, ReviewModeWorkflow
from paid_executor.sandbox.bwrap import bwrap_path
from paid_executor.worker import make_worker
from paid_github_emulator.server import GitHubEmulator
from paid_github_events import Delivery, Ignored, delivery_event, listed_comment
from paid_runtime.database import session_factory
from paid_runtime.github_credentials import GitHubCredentials

from .conftest import TOKEN
from .review_fork_support import CANARY, FRAN, PROBING_AGENT, RITA, git, hostile_fork_pull, review_world
from .review_support import LONG_FILE

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed")
SECRETS = (TOKEN, FRAN, RITA)


@pytest.fixture
def repository(emulator: GitHubEmulator) -> RepoRef:
    return review_world(emulator)


@pytest.fixture
def settings(emulator: GitHubEmulator, repository: RepoRef, tmp_path: Path) -> ExecutorSettings:
    agent = tmp_path / "agent.py"
    agent.write_text(PROBING_AGENT.replace("__URL__", emulator.git_url(repository.owner, repository.name)))
    return ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",
        workspace_root=tmp_path / "workspaces",
        task_queue=f"review-mode-{uuid.uuid4()}",
        agent="command",
        agent_command=f"{sys.executable} {agent}",
        sandbox="bwrap",
        sandbox_read_only=[agent],
        agent_timeout_seconds=120,
    )


@pytest.fixture
async def client(
    env: WorkflowEnvironment, settings: ExecutorSettings, engine: AsyncEngine, broker: NatsBroker
) -> AsyncIterator[Client]:
    deps = make_deps(settings, broker, session_factory(engine))
    async with make_worker(env.client, deps):
        yield env.client


def labeled(emulator: GitHubEmulator, repo: RepoRef, number: int, as_user: str) -> ReviewRequested:
    """The review label put on `number`, as the gateway reads the emulator's webhook."""
    emulator.add_labels(repo.owner, repo.name, number, ["paid-review"], as_user=as_user)
    record = emulator.wait_for_deliveries(1, event="pull_request", action="labeled")[-1]
    delivery = Delivery(record.event, record.guid, json.loads(record.body))
    event = delivery_event(delivery, labels=LabelMapping(), producer="gateway")
    assert isinstance(event, ReviewRequested), event
    return event


def reviews(emulator: GitHubEmulator, repo: RepoRef, number: int) -> list[dict[str, Any]]:
    url = f"{emulator.api_url}/repos/{repo.owner}/{repo.name}/pulls/{number}"
    found: list[dict[str, Any]] = httpx.get(
        f"{url}/reviews", headers={"Authorization": f"token {TOKEN}"}
    ).json()
    for review in found:
        review["comments"] = httpx.get(
            f"{url}/reviews/{review['id']}/comments", headers={"Authorization": f"token {TOKEN}"}
        ).json()
    return found


async def result_of(client: Client, workflow_id: str) -> ReviewModeResult:
    return await client.get_workflow_handle_for(ReviewModeWorkflow.run, workflow_id).result()


async def test_the_review_label_on_a_fork_pull_gets_one_comment_review_from_a_sandbox_without_credentials(
    emulator: GitHubEmulator, repository: RepoRef, settings: ExecutorSettings, client: Client, tmp_path: Path
) -> None:
    canary = tmp_path / CANARY
    emulator.create_hook(
        repository.owner, repository.name, "http://127.0.0.1:9/unused", events=["pull_request"]
    )
    number, _ = hostile_fork_pull(emulator, repository, tmp_path, canary)
    event = labeled(emulator, repository, number, as_user="rita")

    workflow_id = await on_review_requested(client, event, settings, GitHubCredentials.fixed(TOKEN))
    assert workflow_id is not None
    result = await result_of(client, workflow_id)
    assert (result.outcome, result.inline_comments) == ("posted", 1)
    again = await on_review_requested(client, event, settings, GitHubCredentials.fixed(TOKEN))  # a redelivery
    assert again == workflow_id

    [review] = reviews(emulator, repository, number)
    assert (review["user"]["login"], review["state"], review["commit_id"]) == (
        "alice",
        "COMMENTED",
        event.head_sha,
    )
    assert [(c["path"], c["line"], c["body"]) for c in review["comments"]] == [
        ("notes.py", 15, "1500 looks like a typo")
    ]
    assert "outside the diff: goes to the body" in review["body"]
    seen = json.loads(review["body"].split("SEEN ", 1)[1].split("\n\n", 1)[0])
    assert seen["token_like_values"] == []  # the proxy's per-run key only; no GitHub token
    assert not {"GITHUB_TOKEN", "GH_TOKEN", "GIT_ASKPASS"} & set(seen["env_names"])
    assert seen["token_in_tree"] is False
    assert seen["git_dir_in_tree"] is False
    assert seen["edit"] != "done"
    assert seen["push"] != 0
    assert seen["prompt_has_diff"] is True
    assert "host-passwd" not in seen["tree_files"]  # links out of the tree are not exported
    assert "up" not in seen["tree_files"]
    assert "same" in seen["tree_files"]
    assert "notes.py" in seen["tree_files"]  # the fork's export-ignore hides nothing from the review
    assert not canary.exists()  # no hook, filter or submodule of the fork ran on the host
    assert emulator.branch_sha(repository.owner, repository.name, "typo") is None
    for secret in SECRETS:
        assert secret not in review["body"]


async def test_a_head_pushed_after_the_trigger_is_not_reviewed_and_untrusted_requests_start_nothing(
    emulator: GitHubEmulator, repository: RepoRef, settings: ExecutorSettings, client: Client, tmp_path: Path
) -> None:
    emulator.create_hook(
        repository.owner, repository.name, "http://127.0.0.1:9/unused", events=["pull_request"]
    )
    number, checkout = hostile_fork_pull(emulator, repository, tmp_path, tmp_path / CANARY)
    event = labeled(emulator, repository, number, as_user="rita")
    (checkout / "notes.py").write_text(LONG_FILE.replace("line_3 = 3\n", "line_3 = 'moved'\n"))
    git(checkout, "commit", "-qam", "Pushed after the label")
    git(checkout, "push", "-q", "origin", "typo")
    credentials = GitHubCredentials.fixed(TOKEN)

    labeled_id = await on_review_requested(client, event, settings, credentials)
    assert labeled_id is not None
    result = await result_of(client, labeled_id)
    assert result.outcome == "head_moved"
    assert event.head_sha[:12] in result.detail
    assert reviews(emulator, repository, number) == []
    [explained] = comments(emulator, repository, number)
    assert explained["user"]["login"] == "alice"
    assert "did not review" in explained["body"]

    untrusted = event.model_copy(update={"requested_by": "fran", "event_id": f"{event.event_id}-fran"})
    assert await on_review_requested(client, untrusted, settings, credentials) is None
    context = command_context(settings)
    fran_says = await command(emulator, repository, number, FRAN)
    assert (await act_on_command(client, fran_says, context)).startswith("ignored: ")
    assert reviews(emulator, repository, number) == []

    # A trusted `/paid review` pins the head as it is now: that is reviewed, once.
    rita_says = await command(emulator, repository, number, RITA)
    commanded_id = (await act_on_command(client, rita_says, context)).removeprefix("review ")
    assert commanded_id != labeled_id
    assert (await result_of(client, commanded_id)).outcome == "posted"
    assert await act_on_command(client, rita_says, context) == f"review {commanded_id}"  # a redelivery
    assert await on_review_requested(client, event, settings, credentials) == labeled_id
    [review] = reviews(emulator, repository, number)
    assert review["state"] == "COMMENTED"
    assert review["commit_id"] != event.head_sha
    assert len(comments(emulator, repository, number)) == 3  # the explanation and the two commands
    assert reactions(emulator, repository, rita_says.comment_id) == [("alice", "eyes")]  # acknowledged once
    assert reactions(emulator, repository, fran_says.comment_id) == []


def reactions(emulator: GitHubEmulator, repo: RepoRef, comment_id: int) -> list[tuple[str, str]]:
    listed = httpx.get(
        f"{emulator.api_url}/repos/{repo.owner}/{repo.name}/issues/comments/{comment_id}/reactions",
        headers={"Authorization": f"token {TOKEN}"},
    ).json()
    return [(r["user"]["login"], r["content"]) for r in listed]


def comments(emulator: GitHubEmulator, repo: RepoRef, number: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(
        f"{emulator.api_url}/repos/{repo.owner}/{repo.name}/issues/{number}/comments",
        headers={"Authorization": f"token {TOKEN}"},
    ).json()
    return found


def command_context(settings: ExecutorSettings) -> CommandContext:
    async def unchanged(request: Any) -> Any:
        return request

    return CommandContext(
        settings=settings,
        prepare=unchanged,
        to_request=lambda event, issue: subscribers.from_command(event, issue, settings),
        pull_states=subscribers.github_pull_states(settings, GitHubCredentials.fixed(TOKEN)),
        explain=subscribers.github_explanations(settings, GitHubCredentials.fixed(TOKEN)),
        credentials=GitHubCredentials.fixed(TOKEN),
    )


async def command(emulator: GitHubEmulator, repo: RepoRef, number: int, token: str) -> IssueCommented:
    created = httpx.post(
        f"{emulator.api_url}/repos/{repo.owner}/{repo.name}/issues/{number}/comments",
        headers={"Authorization": f"token {token}"},
        json={"body": "/paid review"},
    )
    created.raise_for_status()
    event = listed_comment(repo, created.json(), producer="test")
    assert event is not None
    assert not isinstance(event, Ignored)
    assert event.command == "review"
    return event
