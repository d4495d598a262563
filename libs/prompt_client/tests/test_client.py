"""PromptClient against a real NATS server: answers, cache, and the fallbacks when evolution is silent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg

from paid_contracts import PromptCategory, PromptResolveReply, PromptResolveRequest, subjects
from paid_devstack.nats import NatsServer
from paid_prompt_client import DEFAULT_PROMPTS, PromptClient

CODING = PromptCategory.CODING
TEMPLATE = "Fix {{ repo }}#{{ number }}: {{ title }}"


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        yield server


@pytest.fixture
async def connection(nats_server: NatsServer) -> AsyncIterator[Nats]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()


class Responder:
    """Stands in for evolution's side of the contract, counting the requests it answers."""

    def __init__(self, reply: PromptResolveReply | None) -> None:
        self.reply = reply
        self.requests: list[PromptResolveRequest] = []

    async def handle(self, message: Msg) -> None:
        self.requests.append(PromptResolveRequest.model_validate_json(message.data))
        if self.reply is not None:  # None: hear the request, never answer
            await message.respond(self.reply.model_dump_json().encode())


def active_reply(experiment_id: str | None = None) -> PromptResolveReply:
    return PromptResolveReply(
        version="coding@7",
        category=CODING,
        template=TEMPLATE,
        variables=("number", "repo", "title"),
        experiment_id=experiment_id,
        arm="candidate-1" if experiment_id else None,
    )


async def test_an_answer_is_used_and_cached_per_run_key(connection: Nats) -> None:
    responder = Responder(active_reply())
    await connection.subscribe(subjects.PROMPT_RESOLVE, cb=responder.handle)
    client = PromptClient(connection, timeout=2)

    first = await client.resolve(CODING, project="acme/calc", run_key="run-1")
    again = await client.resolve(CODING, project="acme/calc", run_key="run-1")
    other = await client.resolve(CODING, project="acme/calc", run_key="run-2")

    assert (first.version, first.source, again.source, other.source) == (
        "coding@7",
        "evolution",
        "cache",
        "evolution",
    )
    assert [r.run_key for r in responder.requests] == ["run-1", "run-2"]
    assert first.render(repo="acme/calc", number=3, title="t", branch="ignored") == "Fix acme/calc#3: t"


async def test_no_responder_falls_back_to_the_bundled_default_at_once(connection: Nats) -> None:
    # A request timeout no test waits out: the answer must come from NATS's "no responders".
    client = PromptClient(connection, timeout=3600)

    prompt = await asyncio.wait_for(client.resolve(CODING, project="acme/calc", run_key="run-1"), 60)

    assert (prompt.version, prompt.source) == ("coding@1", "bundled")
    assert prompt.template == DEFAULT_PROMPTS[CODING].template


async def test_a_silent_evolution_costs_the_timeout_then_the_last_known_active_version(
    connection: Nats,
) -> None:
    responder = Responder(active_reply())
    subscription = await connection.subscribe(subjects.PROMPT_RESOLVE, cb=responder.handle)
    client = PromptClient(connection, timeout=0.3)
    assert (await client.resolve(CODING, project="acme/calc", run_key="run-1")).source == "evolution"
    await subscription.unsubscribe()
    await connection.subscribe(subjects.PROMPT_RESOLVE, cb=Responder(None).handle)

    prompt = await client.resolve(CODING, project="acme/calc", run_key="run-2")

    assert (prompt.version, prompt.source) == ("coding@7", "last-known")
    elsewhere = await client.resolve(CODING, project="acme/other", run_key="run-3")
    assert (elsewhere.version, elsewhere.source) == ("coding@1", "bundled")


async def test_an_experiment_arm_is_never_reused_as_a_fallback(connection: Nats) -> None:
    responder = Responder(active_reply(experiment_id="exp-1"))
    subscription = await connection.subscribe(subjects.PROMPT_RESOLVE, cb=responder.handle)
    client = PromptClient(connection, timeout=0.3)
    arm = await client.resolve(CODING, project="acme/calc", run_key="run-1")
    assert (arm.experiment_id, arm.arm) == ("exp-1", "candidate-1")
    await subscription.unsubscribe()

    prompt = await client.resolve(CODING, project="acme/calc", run_key="run-2")

    assert prompt.source == "bundled"


@pytest.mark.parametrize(
    "reply",
    [
        PromptResolveReply(error="no active coding prompt"),
        PromptResolveReply(
            version="coding@2", category=CODING, template="{{ repo }} {{ x }}", variables=("repo",)
        ),
        PromptResolveReply(
            version="planning@2", category=PromptCategory.PLANNING, template="p", variables=()
        ),
    ],
    ids=["error", "undeclared-variable", "wrong-category"],
)
async def test_a_bad_answer_falls_back_instead_of_breaking_the_run(
    connection: Nats, reply: PromptResolveReply
) -> None:
    await connection.subscribe(subjects.PROMPT_RESOLVE, cb=Responder(reply).handle)
    client = PromptClient(connection, timeout=2)

    prompt = await client.resolve(CODING, project="acme/calc", run_key="run-1")

    assert (prompt.version, prompt.source) == ("coding@1", "bundled")
