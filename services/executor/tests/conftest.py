"""Real servers for the executor's tests: PostgreSQL, NATS JetStream, the GitHub emulator."""

from __future__ import annotations

import socket
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import RepoRef
from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres, time_skipping_environment
from paid_executor.activities import ExecutorDeps, make_deps
from paid_executor.config import ExecutorSettings
from paid_executor.worker import make_worker
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.messaging import ensure_streams, make_broker

if TYPE_CHECKING:
    from .agent_runs import Servers

TOKEN = "ghp_alice_token"
MIGRATIONS = Path(__file__).resolve().parents[1] / "src" / "paid_executor" / "migrations"


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("executor") as server:
        yield server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        yield server


@pytest.fixture(scope="session")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="executor", migrations_dir=MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "executor-test")
    await broker.connect()
    await ensure_streams(broker)
    yield broker
    await broker.stop()


@pytest.fixture
def homed_deps(
    emulator: GitHubEmulator, engine: AsyncEngine, broker: NatsBroker, tmp_path: Path
) -> ExecutorDeps:
    """The executor's dependencies on a shared task queue of their own, for tests that run several
    workers on it, each with its home queue (home_support.py)."""
    settings = ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",  # no gateway here: the token minter is tested on its own
        workspace_root=tmp_path / "workspaces",
        task_queue=f"executor-home-{uuid.uuid4()}",
    )
    return make_deps(settings, broker, session_factory(engine))


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await time_skipping_environment() as environment:
        yield environment


@pytest.fixture
def calc_repo(emulator: GitHubEmulator) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"  # workflow ids are unique per test, as is the server
    emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC})
    return RepoRef(owner="alice", name=name)


@pytest.fixture
async def worker(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> AsyncIterator[Worker]:
    settings = ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",  # no gateway here: the token minter is tested on its own
        workspace_root=tmp_path / "workspaces",
        task_queue=f"executor-test-{uuid.uuid4()}",
    )
    deps = make_deps(settings, broker, session_factory(engine))
    async with make_worker(env.client, deps) as running:
        yield running


@pytest.fixture
def servers(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> Servers:
    """The real servers one run of a real agent CLI needs (agent_runs.run_agent)."""
    from .agent_runs import Servers

    return Servers(env, emulator, engine, broker, tmp_path)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(tmp_path / "github") as server:
        yield server


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@localhost", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A git repository with one committed file, calc.py, whose add() subtracts."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "calc.py").write_text(BUGGY_CALC)
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


BUGGY_CALC = "def add(a, b):\n    return a - b\n"
FIXED_CALC = "def add(a, b):\n    return a + b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX_DIFF = """\
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
ISSUE_WITH_FIX = f"add(2, 3) returns -1. Apply this:\n\n```diff\n{FIX_DIFF}```\n"


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Path]:
    """A unix socket answering each connection with the size of what it received; for the bridge's and the
    socat relay's tests."""
    path = tmp_path / "proxy.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                received = b""
                while chunk := connection.recv(65536):
                    received += chunk
                connection.sendall(b"got %d" % len(received))

    threading.Thread(target=serve, daemon=True).start()
    yield path
    server.close()
