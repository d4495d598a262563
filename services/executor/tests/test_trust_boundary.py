"""A full run with an adversarial agent, through each sandbox backend: it fixes the bug, and on the way
plants everything that would make the host's git run its commands or send the push elsewhere (hooks,
fsmonitor, hooksPath, sshCommand, filters and diff.external with attributes, insteadOf,
pushInsteadOf, include.path, a credential helper), a nested repository, a symlinked .paid.yml,
links out of the worktree, and reads /proc/1/environ; confined, it tries to connect to canary
listeners (the insteadOf target, and NATS and PostgreSQL where the settings say they are) and to the
real NATS and PostgreSQL, and to read a host file. Nothing it planted may run on the host, no canary
sees a connection, the push goes to the real remote only, no credential reaches the worktree, the
agent's environment or the pushed commits, and the run ends as a PR without the planted config.

Unsandboxed (`none`, development only), the agent is a process of the worker: it could run anything
and connect anywhere itself, so it tries no port and no host file there. What still holds, and is
asserted, is everything the host decides: its git runs none of the planted commands, pushes to the
real remote only, never consults the planted config, commits links as links, and no credential is
in the agent's environment or worktree."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef, RunOutcome
from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_executor.params import ExecutionResult
from paid_executor.sandbox.bwrap import bwrap_path
from paid_executor.sandbox.cgroup import pids_cgroup_root
from paid_github_emulator.server import GitHubEmulator

from .adversary import CREDENTIAL_SCAN, REPORT, Canary, adversary, listening
from .conftest import BUGGY_CALC, FIXED_CALC, TOKEN
from .docker_support import can_build_image, docker_client, ensure_test_image
from .loop_support import loop_request, loop_worker, run_to_end

DOCKER = docker_client()
BRANCH = "paid/issue-1"
CHECK = "test: python3 -c 'import calc; assert calc.add(2, 3) == 5'\nmax_iterations: 3\n"
# What the host holds and the agent must never see: the GitHub token, the secrets in the database and
# NATS URLs of the settings, and the push's Authorization header (in any case).
CREDENTIALS = (TOKEN, "db-secret", "nats-secret", "Authorization:", "extraheader", "x-access-token")


@pytest.fixture(
    params=[
        pytest.param(
            "bwrap",
            marks=pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
        ),
        pytest.param(
            "docker",
            marks=[
                pytest.mark.skipif(DOCKER is None, reason="needs a Docker engine (dockerd), not reachable"),
                pytest.mark.skipif(
                    not can_build_image(), reason="needs the host's python3.11 to build a test image"
                ),
            ],
        ),
        "none",
    ]
)
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and pids_cgroup_root() is None:
        pytest.skip("needs a writable cgroup pids controller (bwrap refuses to start as root without one)")
    return str(request.param)


@pytest.fixture
def canaries() -> Iterator[dict[str, Canary]]:
    """Listeners on the host that must never be connected to: where the planted insteadOf points, and
    where the executor's settings say NATS and PostgreSQL are (with credentials in their URLs)."""
    with listening() as insteadof, listening() as nats, listening() as postgres:
        yield {"insteadof": insteadof, "nats": nats, "postgres": postgres}


def make_repo(emulator: GitHubEmulator) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC, ".paid.yml": CHECK})
    emulator.create_issue("alice", name, title="add() subtracts", body="add(2, 3) is -1", as_user="alice")
    return RepoRef(owner="alice", name=name)


def pushed(emulator: GitHubEmulator, repo: RepoRef) -> dict[str, tuple[str, bytes]]:
    """The pushed branch's files: path -> (mode, content), read from the emulator's own repository."""
    git_dir = emulator.hub.git.path("alice", repo.name)

    def git(*args: str) -> bytes:
        return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=True).stdout

    files = {}
    for record in git("ls-tree", "-r", "-z", BRANCH).split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, _, object_id = meta.decode().split(" ")
            files[path.decode()] = (mode, git("cat-file", "blob", object_id))
    return files


async def test_an_adversarial_agent_gains_nothing_on_the_host(
    kind: str,
    canaries: dict[str, Canary],
    nats_server: NatsServer,
    postgres: EmbeddedPostgres,
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker is handed its broker and engine; these settings only tempt an agent that finds them.
    monkeypatch.setenv(
        "PAID_EXECUTOR_DATABASE_URL", f"postgresql://paid:db-secret@127.0.0.1:{canaries['postgres'][0]}/paid"
    )
    monkeypatch.setenv(
        "PAID_EXECUTOR_NATS_URL", f"nats://executor:nats-secret@127.0.0.1:{canaries['nats'][0]}"
    )
    ports = {name: port for name, (port, _) in canaries.items()}
    ports |= {"real-nats": nats_server.port, "real-postgres": postgres.port}
    confined = kind != "none"
    markers = tmp_path / "markers"
    markers.mkdir()
    secret_file = tmp_path / "host-secret.txt"
    secret_file.write_text("host file secret")
    repo = make_repo(emulator)
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    body = adversary(
        markers,
        emulator.base_url + "/",
        canaries["insteadof"][0],
        secret_file,
        CREDENTIALS,
        confined=confined,
        ports=ports,
    )
    (agent_dir / "agent.py").write_text(
        "import json, os, pathlib, sys\n"
        "prompt = pathlib.Path(os.environ['PAID_PROMPT_FILE']).read_text()\n" + body + "\n"
        "print(json.dumps({'type': 'result', 'subtype': 'success', 'is_error': False, 'result': 'done'}))\n"
    )
    image = ensure_test_image(DOCKER) if kind == "docker" and DOCKER is not None else "unused"
    async with loop_worker(
        env,
        emulator,
        engine,
        broker,
        tmp_path / "ws",
        agent_command=f"python3 {agent_dir / 'agent.py'}",
        sandbox_read_only=[agent_dir],
        sandbox_image=image,
    ) as worker:
        try:
            result: ExecutionResult | WorkflowFailureError = await run_to_end(
                env.client, loop_request(repo, sandbox=kind), worker.task_queue
            )
        except WorkflowFailureError as error:  # judged after the markers, which say more
            result = error

    assert sorted(path.name for path in markers.iterdir()) == [], "planted commands ran on the host"
    for name, (_, connections) in canaries.items():
        assert connections == [], f"something connected to the {name} canary"
    assert isinstance(result, ExecutionResult), result.cause
    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    pulls = emulator.pulls("alice", repo.name)
    assert len(pulls) == 1
    files = pushed(emulator, repo)
    assert pulls[0]["head"]["sha"] == emulator.branch_sha("alice", repo.name, BRANCH)
    assert files["calc.py"] == ("100644", FIXED_CALC.encode()), "calc.py went through a filter"
    assert not [path for path in files if path.startswith((".git/", "sub/"))], sorted(files)
    assert files[".paid.yml"] == ("120000", b"/etc/passwd"), "a link is committed as a link"
    assert files["environ-link"] == ("120000", b"/proc/1/environ")
    assert files["secret-link"] == ("120000", str(secret_file).encode())
    everything = b"".join(content for _, content in files.values())
    for credential in (*CREDENTIALS, "host file secret"):
        assert credential.lower().encode() not in everything.lower(), credential
    scans = json.loads(files[CREDENTIAL_SCAN][1])
    assert scans == [[], []], "a credential in the worktree (one list per iteration)"
    report = json.loads(files[REPORT][1])
    secret_names = ("PAID_EXECUTOR_", "GIT_CONFIG_KEY", "GIT_CONFIG_VALUE", "GITHUB_TOKEN", "GH_TOKEN")
    assert not [key for key in report["env"] if key.startswith(secret_names)], report["env"]
    if confined:
        assert report["reached"] == dict.fromkeys(ports, False), "the agent reached a host port"
        assert report["secret"] in ("FileNotFoundError", "PermissionError")
    else:
        assert report["reached"] == {}
