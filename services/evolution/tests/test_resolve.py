"""`paid.prompt.resolve` end to end: evolution's handler on a real NATS, the client library asking it."""

from __future__ import annotations

from collections import Counter

from faststream.nats import NatsBroker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory, PromptResolveReply, subjects
from paid_evolution import experiments, registry
from paid_evolution.decisions import ExperimentSettings
from paid_prompt_client import PromptClient

CODING = PromptCategory.CODING
VARIABLES = ("repo", "branch", "number", "title", "body")


async def test_a_run_gets_the_active_prompt_of_its_project(
    evolution: NatsBroker, broker: NatsBroker, project: str
) -> None:
    client = PromptClient(broker.connection, timeout=5)

    prompt = await client.resolve(CODING, project=project, run_key="exec:acme/calc#1:1")

    assert (prompt.version, prompt.source, prompt.experiment_id) == ("coding@1", "evolution", None)
    text = prompt.render(repo=project, branch="paid/issue-1", number=1, title="add", body="fix it")
    assert "Resolve GitHub issue #1: add" in text


async def test_during_an_experiment_runs_are_split_by_their_key_and_keep_their_arm(
    evolution: NatsBroker, broker: NatsBroker, session: AsyncSession, project: str
) -> None:
    candidate = await registry.register_version(
        session,
        category=CODING,
        template="Issue {{ repo }}#{{ number }} ({{ branch }}): {{ title }}\n{{ body }}\nThink first.",
        variables=VARIABLES,
        parent_id="coding@1",
        reason="test",
    )
    experiment = await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[candidate.id], settings=ExperimentSettings()
    )
    client = PromptClient(broker.connection, timeout=5)

    versions: Counter[tuple[str | None, str]] = Counter()
    for number in range(200):
        prompt = await client.resolve(CODING, project=project, run_key=f"exec:{project}#{number}:1")
        assert prompt.experiment_id == experiment.id
        versions[(prompt.arm, prompt.version)] += 1
    assert set(versions) == {("control", "coding@1"), ("candidate-1", candidate.id)}
    assert 70 <= versions[("control", "coding@1")] <= 130  # a 50/50 split

    # Another process asking for the same run key (a retry on another replica) gets the same arm.
    fresh = PromptClient(broker.connection, timeout=5)
    for number in range(20):
        key = f"exec:{project}#{number}:1"
        assert (await fresh.resolve(CODING, project=project, run_key=key)).arm == (
            await client.resolve(CODING, project=project, run_key=key)
        ).arm


async def test_a_malformed_request_gets_an_error_reply_not_silence(
    evolution: NatsBroker, broker: NatsBroker
) -> None:
    message = await broker.connection.request(subjects.PROMPT_RESOLVE, b'{"category": "poetry"}', timeout=5)

    reply = PromptResolveReply.model_validate_json(message.data)

    assert reply.error is not None
    assert "invalid paid.prompt.resolve request" in reply.error
