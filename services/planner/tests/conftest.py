"""Real servers for the planner's tests: PostgreSQL, NATS JetStream, the GitHub and LLM emulators."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import Event, IssueRef, RepoRef
from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres, time_skipping_environment
from paid_github_emulator import GitHubEmulator
from paid_llm import LLMSettings, Provider, make_client
from paid_llm_emulator import LLMEmulator
from paid_planner.activities import PlannerActivities
from paid_planner.github import github_factory
from paid_planner.main import MIGRATIONS
from paid_planner.worker import build_worker
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.messaging import ensure_streams, make_broker, publish_event

REPO_FILES = {
    "README.md": "# Widgets\n\nA widget API.\n",
    "CONTRIBUTING.md": "Run `pytest` before sending a pull request.\n",
    "src/widgets/api.py": "def list_widgets():\n    return []\n",
}


@dataclass(frozen=True)
class World:
    emulator: GitHubEmulator
    issue: IssueRef
    owner_token: str = "ghp_owner"
    bot_token: str = "ghs_paid_bot"
    bot: str = "paid-bot"

    def comments(self, number: int | None = None) -> list[dict[str, Any]]:
        repo = self.issue.repo
        return self.emulator.comments(repo.owner, repo.name, number or self.issue.number)

    def sub_issues(self) -> list[dict[str, Any]]:
        return self.emulator.sub_issues(self.issue.repo.owner, self.issue.repo.name, self.issue.number)

    def issues(self) -> list[dict[str, Any]]:
        return self.emulator.issues(self.issue.repo.owner, self.issue.repo.name)

    def labels(self) -> set[str]:
        found = self.emulator.issue(self.issue.repo.owner, self.issue.repo.name, self.issue.number)
        return {label["name"] for label in found["labels"]}


@dataclass
class Published:
    """Every event the planner put on `paid.plan.>`, as received by a NATS subscriber."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str, plan_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and e["plan_id"] == plan_id]


def task(task_id: str, title: str, depends_on: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": task_id,
        "title": title,
        "description": f"Do {title.lower()} in src/widgets/api.py.",
        "acceptance_criteria": [f"{title} is covered by a test"],
        "depends_on": list(depends_on),
    }


THREE_TASKS = json.dumps(
    {
        "summary": "Split the widget API into a model, a store and routes.",
        "tasks": [
            task("t1", "Add the widget model"),
            task("t2", "Add the widget store", ("t1",)),
            task("t3", "Add the widget routes", ("t1",)),
        ],
        "questions": [],
    }
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("planner") as server:
        yield server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        yield server


@pytest.fixture(scope="session")
async def sessions(postgres: EmbeddedPostgres) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="planner", migrations_dir=MIGRATIONS)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await time_skipping_environment()
    yield env
    await env.shutdown()


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "planner-test")
    await broker.connect()
    await ensure_streams(broker)
    yield broker
    await broker.stop()


@pytest.fixture
async def published(nats_server: NatsServer) -> AsyncIterator[Published]:
    found = Published()
    client = await nats.connect(nats_server.url)

    async def collect(message: Msg) -> None:
        found.events.append(json.loads(message.data))

    await client.subscribe("paid.plan.>", cb=collect)
    yield found
    await client.drain()


@pytest.fixture
def llm() -> Iterator[LLMEmulator]:
    with LLMEmulator() as emulator:
        yield emulator


@pytest.fixture
def world() -> Iterator[World]:
    with GitHubEmulator() as emulator:
        emulator.add_user("octo-org", "ghp_owner")
        emulator.add_user("paid-bot", "ghs_paid_bot")
        # A repository name of its own keeps workflow ids (plan:{owner}/{repo}#{issue}) unique per test.
        name = f"widgets-{uuid.uuid4().hex[:8]}"
        repository = emulator.create_repository("octo-org", name, REPO_FILES)
        emulator.set_permission("octo-org", name, "paid-bot", "write")
        created = emulator.create_issue(
            "octo-org", name, title="Split the widget API", body="Make the API modular.", as_user="octo-org"
        )
        repo = RepoRef(owner="octo-org", name=name, clone_url=repository["clone_url"])
        yield World(emulator=emulator, issue=IssueRef(repo=repo, number=created["number"]))


@pytest.fixture
def task_queue() -> str:
    return f"planner-test-{uuid.uuid4()}"


def planner_activities(
    world: World, sessions: async_sessionmaker[AsyncSession], llm: LLMEmulator, broker: NatsBroker
) -> PlannerActivities:
    settings = LLMSettings(
        provider=Provider.ANTHROPIC, base_url=llm.anthropic_base_url, model="claude-sonnet-4-5"
    )

    async def publish(event: Event) -> None:
        await publish_event(broker, event)

    return PlannerActivities(
        sessions=sessions,
        github=github_factory(world.emulator.api_url, GitHubCredentials.fixed(world.bot_token)),
        llm=lambda: make_client(settings),
        publish=publish,
    )


@pytest.fixture
async def worker(
    temporal: WorkflowEnvironment,
    world: World,
    sessions: async_sessionmaker[AsyncSession],
    llm: LLMEmulator,
    broker: NatsBroker,
    task_queue: str,
) -> AsyncIterator[Worker]:
    activities = planner_activities(world, sessions, llm, broker)
    async with build_worker(temporal.client, task_queue=task_queue, activities=activities) as running:
        yield running
