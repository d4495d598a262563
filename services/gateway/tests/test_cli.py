"""`paid` against a live gateway, as a user runs it (a subprocess): output, --json and exit codes."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import stat
import struct
import subprocess
import sys
import termios
from pathlib import Path

from gateway_run_events import RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_cli import tokens
from paid_contracts import RunOutcome
from paid_contracts.iterations import CheckOutcome, IterationSummary
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_gateway.projections import projector

PAID = str(Path(sys.executable).parent / "paid")


async def project(sessions: async_sessionmaker[AsyncSession], *events: projector.RunEvent) -> None:
    for event in events:
        async with sessions() as session:
            await projector.apply(session, event)


async def paid(*args: str, url: str, token: str | None) -> tuple[int, str, str]:
    env_args = ["--url", url] + (["--token", token] if token else [])
    process = await asyncio.create_subprocess_exec(
        PAID, *args, *env_args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_runs_list_and_show_as_json(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.started(), run.output(0, "hello"))
    code, stdout, _ = await paid(
        "runs",
        "list",
        "--json",
        "--repo",
        run.issue.repo.full_name,
        url=live_api,
        token=role_tokens[Role.VIEWER],
    )
    assert code == 0
    assert [r["run_id"] for r in json.loads(stdout)] == [run.run_id]

    code, stdout, _ = await paid(
        "runs", "show", run.run_id[:8], "--json", url=live_api, token=role_tokens[Role.VIEWER]
    )
    assert code == 0
    assert json.loads(stdout)["output_tail"][0]["text"] == "hello"
    code, stdout, _ = await paid("runs", "show", run.issue.key, url=live_api, token=role_tokens[Role.VIEWER])
    assert code == 0
    assert run.run_id in stdout


async def test_runs_show_the_attempt(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    run.workflow_id = f"exec:{run.issue.key}:2"  # the second attempt at the issue
    await project(sessions, run.started())
    viewer = role_tokens[Role.VIEWER]
    repo = run.issue.repo.full_name
    code, stdout, _ = await paid("runs", "list", "--json", "--repo", repo, url=live_api, token=viewer)
    assert code == 0
    assert [(r["run_id"], r["attempt"]) for r in json.loads(stdout)] == [(run.run_id, 2)]
    code, stdout, _ = await paid("runs", "show", run.run_id, url=live_api, token=role_tokens[Role.VIEWER])
    assert code == 0
    assert re.search(r"attempt\s+2\b", stdout)


async def test_runs_show_prints_each_iteration_with_its_checks_as_plain_text(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    """A check's command comes from the repository: rich markup in it is printed, never rendered."""
    run = RunScript()
    hostile = "pytest -q [bold red]ALL GREEN[/bold red]"
    iterations = [
        IterationSummary(
            number=1,
            files_changed=2,
            insertions=7,
            deletions=1,
            checks=(CheckOutcome(command=hostile, exit_code=1, passed=False),),
            tokens=1200,
            cost_usd=0.02,
        ),
        IterationSummary(
            number=2,
            files_changed=2,
            insertions=9,
            deletions=1,
            checks=(CheckOutcome(command=hostile, exit_code=0, passed=True),),
            tokens=800,
            cost_usd=0.01,
        ),
    ]
    await project(sessions, run.started(), run.finished(iteration_summaries=iterations))
    code, stdout, _ = await paid("runs", "show", run.run_id, url=live_api, token=role_tokens[Role.VIEWER])
    assert code == 0
    assert "#1  2 files, +7 -1  1200 tokens" in stdout
    assert f"failed (exit 1)  {hostile}" in stdout
    assert f"passed  {hostile}" in stdout


async def test_exit_codes(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.started())
    code, _, stderr = await paid(
        "runs", "show", "no-such-run-at-all", url=live_api, token=role_tokens[Role.VIEWER]
    )
    assert (code, "no run" in stderr) == (3, True)
    code, _, stderr = await paid("runs", "list", url=live_api, token=None)
    assert (code, "missing API token" in stderr) == (4, True)
    code, _, stderr = await paid("cancel", run.run_id, url=live_api, token=role_tokens[Role.VIEWER])
    assert (code, "needs the operator role" in stderr) == (4, True)
    code, _, _ = await paid("instruct", url=live_api, token=role_tokens[Role.OPERATOR])
    assert code == 2
    code, _, stderr = await paid("runs", "list", url="http://127.0.0.1:9", token="x")
    assert (code, "cannot reach the gateway" in stderr) == (1, True)


async def test_logs_follow_streams_until_the_run_ends(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.started(), run.output(0, "first line"))
    process = await asyncio.create_subprocess_exec(
        PAID,
        "logs",
        "--follow",
        run.run_id,
        "--url",
        live_api,
        "--token",
        role_tokens[Role.VIEWER],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode() == "first line\n"
    await project(sessions, run.output(1, "second line"))
    assert (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode() == "second line\n"
    assert process.returncode is None, "still following while the run runs"
    await project(sessions, run.finished(RunOutcome.CANCELLED))
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert stdout == b""
    assert "ended: cancelled" in stderr.decode()


def run_in_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The process on an 80-column pseudo-terminal, as a user's shell runs it; its screen as text."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(argv, stdin=secondary, stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    screen = b""
    try:
        while chunk := _read(primary):
            screen += chunk
    finally:
        os.close(primary)
    return process.wait(timeout=60), screen.decode(errors="replace")


def _read(primary: int) -> bytes:
    try:
        return os.read(primary, 65536)
    except OSError:  # EIO: the process closed the terminal
        return b""


async def test_the_cli_uses_the_token_paid_up_saves(
    live_api: str, api_settings: GatewaySettings, tmp_path: Path
) -> None:
    """The short form of libs/cli/tests/test_up_token.py (heavy): `paid up`'s hand-off, on this gateway."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAID_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), TERM="xterm-256color")
    env.pop("COLUMNS", None)
    path = tmp_path / "config" / "paid" / "credentials.json"
    bootstrap = api_settings.admin_token
    handed = (await asyncio.to_thread(tokens.hand_off, live_api, bootstrap, path))[1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert handed.token != bootstrap, "the bootstrap token stays with the processes `paid up` started"

    code, screen = await asyncio.to_thread(run_in_terminal, [PAID, "runs", "list"], env)
    assert code == 0, screen
    assert "repository" in screen

    rotate = await asyncio.create_subprocess_exec(
        PAID, "token", "rotate", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(rotate.communicate(), timeout=60)
    assert rotate.returncode == 0, stderr.decode()
    assert json.loads(path.read_text())["token"] == stdout.decode().strip() != handed.token
    code, _, stderr_text = await paid("runs", "list", url=live_api, token=handed.token)
    assert (code, "revoked" in stderr_text) == (4, True)
    code, screen = await asyncio.to_thread(run_in_terminal, [PAID, "runs", "list"], env)
    assert code == 0, screen


async def test_token_create_scoped_to_projects(live_api: str, role_tokens: dict[Role, str]) -> None:
    code, stdout, stderr = await paid(
        "token", "create", "--role", "operator", "--name", "calc-ops", "--project", "acme/calc",
        "--project", "acme/web", "--json", url=live_api, token=role_tokens[Role.ADMIN],
    )  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["projects"] == ["acme/calc", "acme/web"]
