"""Which failing checks start a CI round, against the GitHub emulator's test CI: a failure written by
an allowlisted app on the head of Paid's pull request carrying the fix-CI label; its name, output and
annotations reach the request, and the same failure on two heads has the same signature (the
conversation stops at the second). Another app's check, a success or an unlabeled pull request ask
for nothing. A failed check suite asks for its failing runs' rounds, named as the runs name them.
Commit statuses alike: only a failure or error set by an allowlisted creator."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from paid_contracts import CheckRunCompleted, CheckSuiteCompleted, CommitStatusChanged, RepoRef, TriggerSource
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_executor import subscribers
from paid_executor.comment_commands import CommandContext, act_on_command
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_executor.rounds.ci import ci_rounds, status_rounds, suite_rounds
from paid_executor.rounds.prompt import round_prompt
from paid_executor.rounds.triggers import FoundRound, NoRound
from paid_github_emulator.ci import CI_LOGIN
from paid_github_emulator.server import GitHubEmulator
from paid_github_events import Origin, listed_check_run, listed_comment, listed_status
from paid_github_events.pull_requests import check_suite_completed
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.github_trust import github_client

from .conftest import TOKEN
from .test_round_triggers import MALLORY, RITA, open_pull, paid, repository
from .test_subscribers import eventually

__all__ = ["paid", "repository"]  # fixtures shared with test_round_triggers
CI_APP = f"{CI_LOGIN}-checks"
FAILING = ["python3", "-c", "import sys; print('calc.py:1: add() has no docstring'); sys.exit(1)"]


async def push_note(emulator: GitHubEmulator, repo: RepoRef, branch: str, text: str) -> str:
    async with github_client(emulator.api_url, TOKEN) as github:
        content = base64.b64encode(text.encode()).decode()
        written = await github.put(
            f"/repos/{repo.owner}/{repo.name}/contents/NOTES.md",
            json={"message": "note", "content": content, "branch": branch}
            | ({"sha": sha} if (sha := await _blob(github, repo, branch)) else {}),
        )
        written.raise_for_status()
        return str(written.json()["commit"]["sha"])


async def _blob(github: httpx.AsyncClient, repo: RepoRef, branch: str) -> str | None:
    found = await github.get(f"/repos/{repo.owner}/{repo.name}/contents/NOTES.md", params={"ref": branch})
    return str(found.json()["sha"]) if found.status_code == 200 else None


async def completed_check(paid: httpx.AsyncClient, repo: RepoRef, sha: str) -> CheckRunCompleted:
    found: list[CheckRunCompleted] = []

    async def done() -> bool:
        listed = await paid.get(f"/repos/{repo.owner}/{repo.name}/commits/{sha}/check-runs")
        runs = [listed_check_run(repo, run, producer="test") for run in listed.json()["check_runs"]]
        found[:] = [run for run in runs if run is not None]
        return bool(found)

    await eventually(done, timeout=120)
    return found[0]


async def test_a_failing_allowlisted_check_on_a_labeled_paid_pull_request_asks_for_a_ci_round(
    emulator: GitHubEmulator, repository: RepoRef, paid: httpx.AsyncClient
) -> None:
    number = await open_pull(emulator, repository, TOKEN, "paid/issue-1")
    emulator.enable_test_ci("alice", repository.name, FAILING)
    first = await completed_check(
        paid, repository, await push_note(emulator, repository, "paid/issue-1", "a")
    )
    assert (first.conclusion, first.app_slug, first.pull_numbers) == ("failure", CI_APP, (number,))

    async def decide(
        event: CheckRunCompleted, apps: tuple[str, ...] = (CI_APP,)
    ) -> list[FoundRound] | NoRound:
        return await ci_rounds(event, paid, apps=apps, fix_label="paid-fix-ci", auto_fix_ci=False)

    unlabeled = await decide(first)
    assert isinstance(unlabeled, NoRound)
    assert unlabeled.reason == f"neither #{number} nor #1 carries paid-fix-ci"
    other_app = await decide(first, apps=("someone-elses-ci",))
    assert isinstance(other_app, NoRound)
    assert other_app.reason == f"check runs of {CI_APP} are not on the allowlist"

    emulator.add_labels("alice", repository.name, number, ["paid-fix-ci"], as_user="alice")
    found = await decide(first)
    assert isinstance(found, list)
    (one,) = found
    assert isinstance(one, FoundRound)
    assert (one.issue.number, one.number, one.request.kind, one.request.change_id) == (
        1,
        number,
        "ci",
        first.event_id,
    )
    assert "calc.py:1: add() has no docstring" in one.request.summary
    assert "<check>" in round_prompt(
        one.request, repository=repository.full_name, branch=one.branch, number=number, title="t"
    )

    # The check's suite names the same round (the suite's event and the run's ask once); another
    # app's suite asks for none.
    suites = await paid.get(f"/repos/alice/{repository.name}/commits/{first.head_sha}/check-suites")
    (suite,) = suites.json()["check_suites"]
    completed_suite = check_suite_completed(
        repository,
        check_suite_id=int(suite["id"]),
        head_sha=first.head_sha,
        conclusion=suite["conclusion"],
        pull_numbers=[number],
        app_slug=suite["app"]["slug"],
        origin=Origin("test", TriggerSource.POLL, f"suite:{suite['id']}"),
    )
    assert isinstance(completed_suite, CheckSuiteCompleted)
    from_suite = await suite_rounds(
        completed_suite, paid, apps=(CI_APP,), fix_label="paid-fix-ci", auto_fix_ci=False
    )
    assert isinstance(from_suite, list)
    assert [found.request.change_id for found in from_suite] == [first.event_id]
    assert isinstance(
        await suite_rounds(
            completed_suite, paid, apps=("other-ci",), fix_label="paid-fix-ci", auto_fix_ci=True
        ),
        NoRound,
    )

    # The same failure on the next head: another change, the same signature.
    second = await completed_check(
        paid, repository, await push_note(emulator, repository, "paid/issue-1", "b")
    )
    again = await decide(second)
    assert isinstance(again, list)
    assert again[0].request.change_id != one.request.change_id
    assert again[0].request.failure_signature == one.request.failure_signature
    # A check on a head that has moved on is stale.
    assert isinstance(await decide(first), NoRound)


async def test_paid_fix_ci_from_a_trusted_user_asks_for_a_round_without_the_label(
    env: WorkflowEnvironment, emulator: GitHubEmulator, repository: RepoRef, paid: httpx.AsyncClient
) -> None:
    emulator.create_issue("alice", repository.name, title="add() subtracts", body="it does", as_user="alice")
    number = await open_pull(emulator, repository, TOKEN, "paid/issue-1")
    assert number == 2
    emulator.enable_test_ci("alice", repository.name, FAILING)
    await completed_check(paid, repository, await push_note(emulator, repository, "paid/issue-1", "a"))
    settings = ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        task_queue=f"nobody-polls-{uuid.uuid4()}",
        ci_check_apps=[CI_APP],
    )
    context = CommandContext(
        settings=settings,
        prepare=_unchanged,
        to_request=lambda event, issue: subscribers.from_command(event, issue, settings),
        pull_states=subscribers.github_pull_states(settings, GitHubCredentials.fixed(TOKEN)),
        explain=subscribers.github_explanations(settings, GitHubCredentials.fixed(TOKEN)),
        credentials=GitHubCredentials.fixed(TOKEN),
    )

    async def command(token: str, on: int) -> str:
        async with github_client(emulator.api_url, token) as github:
            created = await github.post(
                f"/repos/{repository.owner}/{repository.name}/issues/{on}/comments",
                json={"body": "/paid fix-ci"},
            )
            created.raise_for_status()
        event = listed_comment(repository, created.json(), producer="test")
        assert event is not None
        return await act_on_command(env.client, event, context)

    assert await command(MALLORY, number) == "ignored: mallory has read permission, write is needed"
    assert await command(RITA, 1) == "ignored: #1 is not a pull request"
    assert await command(RITA, number) == "1 CI round(s) asked for"
    conversation = env.client.get_workflow_handle(pull_conversation_workflow_id(repository.full_name, number))
    assert (await conversation.describe()).status == WorkflowExecutionStatus.RUNNING


async def _unchanged(request: ExecutionInput) -> ExecutionInput:
    return request


async def set_status(
    emulator: GitHubEmulator, token: str, repo: RepoRef, sha: str, state: str
) -> CommitStatusChanged:
    """Sets a commit status with `token` and reads it back as the poll path does."""
    async with github_client(emulator.api_url, token) as github:
        created = await github.post(
            f"/repos/{repo.owner}/{repo.name}/statuses/{sha}",
            json={"state": state, "context": "ci/tests", "description": "3 of 40 tests failed"},
        )
        created.raise_for_status()
    return listed_status(repo, created.json(), sha, producer="test")


async def test_only_a_failing_status_from_an_allowlisted_creator_asks_for_a_ci_round(
    emulator: GitHubEmulator, repository: RepoRef, paid: httpx.AsyncClient
) -> None:
    emulator.add_user("ci-bot", "ghp_ci_bot_token")
    emulator.set_permission("alice", repository.name, "ci-bot", "write")
    number = await open_pull(emulator, repository, TOKEN, "paid/issue-1")
    head = (await paid.get(f"/repos/{repository.owner}/{repository.name}/pulls/{number}")).json()["head"][
        "sha"
    ]

    def rounds(event: CommitStatusChanged, *, auto: bool = False) -> Awaitable[list[FoundRound] | NoRound]:
        return status_rounds(event, paid, creators=("CI-Bot",), fix_label="paid-fix-ci", auto_fix_ci=auto)

    async def one_round(event: CommitStatusChanged) -> FoundRound:
        found = await rounds(event)
        assert isinstance(found, list)
        (only,) = found
        return only

    failing = await set_status(emulator, "ghp_ci_bot_token", repository, head, "failure")
    unlabeled = await rounds(failing)
    assert isinstance(unlabeled, NoRound)
    assert "carries paid-fix-ci" in unlabeled.reason
    emulator.add_labels("alice", repository.name, number, ["paid-fix-ci"], as_user="alice")

    found = await one_round(failing)
    assert (found.number, found.branch, found.request.kind, found.request.requested_by) == (
        number,
        "paid/issue-1",
        "ci",
        "ci-bot",
    )
    assert found.request.change_id == failing.event_id
    assert "`ci/tests` is failure" in found.request.summary
    assert "3 of 40 tests failed" in found.request.summary
    errored = await set_status(emulator, "ghp_ci_bot_token", repository, head, "error")
    again = await one_round(errored)
    assert again.request.failure_signature != found.request.failure_signature  # another state

    # A writer who is not on the allowlist fakes a failure: no round, even with auto_fix_ci.
    faked = await set_status(emulator, RITA, repository, head, "failure")
    refused = await rounds(faked, auto=True)
    assert isinstance(refused, NoRound)
    assert "rita are not on the allowlist" in refused.reason
    green = await rounds(await set_status(emulator, "ghp_ci_bot_token", repository, head, "success"))
    assert isinstance(green, NoRound)
