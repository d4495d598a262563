"""Choosing the agent by label: `paid-agent:<agent>` is a build request whose agent is the trigger's
choice, as `/paid build agent=` is, held to the project's allowed agents; anything else starts nothing
and is explained once, without echoing a name Paid does not know. The labeler's trust is checked before
the request is published (gateway and poller, tests there), as for the build label."""

from __future__ import annotations

import uuid

import pytest

from paid_contracts import BuildRequested, IssueRef, RepoRef, TriggerSource
from paid_executor import subscribers
from paid_executor.config import ExecutorSettings
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_credentials import GitHubCredentials

from .conftest import BUGGY_CALC, TOKEN


@pytest.fixture
def repository(emulator: GitHubEmulator) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC})
    emulator.create_issue("alice", name, title="add() subtracts", body="it does", as_user="alice")
    return RepoRef(owner="alice", name=name)


def settings(emulator: GitHubEmulator) -> ExecutorSettings:
    return ExecutorSettings(github_api_url=emulator.api_url, github_token=TOKEN, allowed_agents=["codex"])


def labeled(repository: RepoRef, agent: str) -> BuildRequested:
    return BuildRequested(
        producer="test",
        issue=IssueRef(repo=repository, number=1),
        label=f"paid-agent:{agent}",
        agent=agent,
        actor="alice",
        source=TriggerSource.WEBHOOK,
        source_id=str(uuid.uuid4()),
    )


async def test_an_agent_label_chooses_an_allowed_agent_as_the_trigger(
    emulator: GitHubEmulator, repository: RepoRef
) -> None:
    config = settings(emulator)
    explain = subscribers.github_explanations(config, GitHubCredentials.fixed(TOKEN))
    request = await subscribers.build_request(labeled(repository, "codex"), config, explain)

    assert request is not None
    assert (request.trigger_agent, request.trigger_model) == ("codex", None)
    assert request.agent == "demo", "the project's agent stays the lowest level"
    assert emulator.comments("alice", repository.name, 1) == []


@pytest.mark.parametrize(
    ("agent", "why"),
    [
        ("command", "does not allow"),  # the operator's command line, never a labeler's
        ("gemini", "does not allow"),  # known, but not in ALLOWED_AGENTS
        ("$(id)", "unknown agent"),
        ("Codex", "unknown agent"),
        ("codex model=gpt-5", "unknown agent"),  # a label is one name, never options
    ],
)
async def test_an_agent_label_outside_the_allowed_agents_starts_nothing_with_one_comment(
    emulator: GitHubEmulator, repository: RepoRef, agent: str, why: str
) -> None:
    config = settings(emulator)
    explain = subscribers.github_explanations(config, GitHubCredentials.fixed(TOKEN))
    event = labeled(repository, agent)

    assert await subscribers.build_request(event, config, explain) is None
    assert await subscribers.build_request(event, config, explain) is None  # redelivered

    (refusal,) = [c["body"] for c in emulator.comments("alice", repository.name, 1)]
    assert "did not start" in refusal
    assert why in refusal
    if why == "unknown agent":
        assert agent not in refusal, "a name Paid does not know is not echoed"
    else:
        assert "demo, codex)" in refusal, "the refusal says which agents may be chosen"
