"""The fix-forward loop on Temporal's time-skipping server with every real activity, real git, the
GitHub emulator, NATS and PostgreSQL: honest outcomes, guards, control and budgets."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef, RunOutcome
from paid_executor.workflows import AgentExecutionWorkflow
from paid_github_emulator.server import GitHubEmulator

from .conftest import BUGGY_CALC, FIXED_CALC, TEST_CALC, TOKEN
from .loop_support import loop_request, loop_worker, run_fails, run_to_end, script_agent, start_run
from .test_workflow import run_events

FIX = f"pathlib.Path('calc.py').write_text({FIXED_CALC!r})"
# Touches a scratch file differently every time, so the loop is not stopped as repetitive.
NO_FIX = "import uuid; pathlib.Path('notes.txt').write_text(uuid.uuid4().hex)"


def make_repo(emulator: GitHubEmulator, paid_yml: str | None) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    files = {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC}
    if paid_yml is not None:
        files[".paid.yml"] = paid_yml
    emulator.create_repository("alice", name, files)
    emulator.create_issue("alice", name, title="add() subtracts", body="add(2, 3) is -1", as_user="alice")
    return RepoRef(owner="alice", name=name)


def only_comment(emulator: GitHubEmulator, repo_ref: RepoRef) -> str:
    comments = emulator.comments("alice", repo_ref.name, 1)
    assert len(comments) == 1, [c["body"] for c in comments]
    return str(comments[0]["body"])


async def test_failures_go_back_to_the_agent_until_the_tests_pass(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmax_iterations: 3\n")
    seen = tmp_path / "prompts"
    seen.mkdir()
    # First attempt changes nothing useful; the second sees the failing test in its prompt and fixes it.
    agent = script_agent(
        tmp_path / "agent.py",
        f"n = len(list(pathlib.Path({str(seen)!r}).iterdir()))\n"
        f"pathlib.Path({str(seen)!r}, str(n)).write_text(prompt)\n"
        f"if '<failures>' in prompt and 'assert' in prompt:\n    {FIX}\n"
        f"else:\n    {NO_FIX}",
    )
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        result = await run_to_end(env.client, loop_request(repo_ref), worker.task_queue)

    assert result.outcome is RunOutcome.SUCCEEDED
    prompts = [(seen / str(i)).read_text() for i in range(2)]
    assert "<failures>" not in prompts[0]
    assert "<failures>" in prompts[1]
    assert "test_add" in prompts[1]
    pull = emulator.pulls("alice", repo_ref.name)[0]
    assert pull["draft"] is True
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    body = only_comment(emulator, repo_ref)
    assert pull["html_url"] in body
    assert "iterations 2" in body
    assert not any((tmp_path / "ws").rglob("calc.py")), "the worktree was left behind"
    # run.finished tells each iteration's change (counted on the host) and its checks' outcomes.
    finished = (await run_events(broker, result.run_id))["paid.run.finished"]
    first, second = finished["iteration_summaries"]
    assert (first["number"], first["files_changed"], first["insertions"], first["deletions"]) == (1, 1, 1, 0)
    [failed] = first["checks"]
    assert (failed["command"], failed["passed"]) == ("python -m pytest -q", False)
    assert failed["exit_code"] != 0
    assert "assert -1 == 5" in failed["output_tail"]
    assert (second["number"], second["files_changed"]) == (2, 2)  # notes.txt stays beside the fix
    assert second["insertions"] >= 2
    assert second["deletions"] >= 1
    assert [check["passed"] for check in second["checks"]] == [True]


async def test_tests_that_keep_failing_end_as_tests_failing_with_the_output(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmax_iterations: 2\n")
    agent = script_agent(tmp_path / "agent.py", NO_FIX)
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        result = await run_to_end(env.client, loop_request(repo_ref), worker.task_queue)

    assert result.outcome is RunOutcome.TESTS_FAILING
    assert emulator.pulls("alice", repo_ref.name) == []
    body = only_comment(emulator, repo_ref)
    assert "tests still fail after 2 iteration(s)" in body
    assert "assert -1 == 5" in body  # the last failure output
    assert "**tests_failing**" in body
    assert not any((tmp_path / "ws").rglob("calc.py"))


async def test_the_same_diff_three_times_stops_the_loop(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmax_iterations: 6\n")
    agent = script_agent(tmp_path / "agent.py", "pathlib.Path('notes.txt').write_text('same')")
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        result = await run_to_end(env.client, loop_request(repo_ref), worker.task_queue)

    assert result.outcome is RunOutcome.TESTS_FAILING
    assert "stopped after 3 iterations" in result.detail
    assert "same diff 3 times" in result.detail


async def test_a_forbidden_path_is_never_published(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    yml = "test: python -m pytest -q\nmax_iterations: 2\nforbidden_paths: ['.github/**']\n"
    repo_ref = make_repo(emulator, yml)
    agent = script_agent(
        tmp_path / "agent.py",
        f"{FIX}\npathlib.Path('.github').mkdir(exist_ok=True)\n"
        "pathlib.Path('.github', 'ci.yml').write_text(str(len(prompt)))",
    )
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        result = await run_to_end(env.client, loop_request(repo_ref), worker.task_queue)

    assert result.outcome is RunOutcome.ITERATION_LIMIT
    assert emulator.pulls("alice", repo_ref.name) == []
    assert ".github/ci.yml" in only_comment(emulator, repo_ref)


async def test_an_invalid_paid_yml_gets_one_clear_comment_and_no_run(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "max_iterations: lots\nagnet: claude\n")
    ran = tmp_path / "ran"
    agent = script_agent(tmp_path / "agent.py", f"pathlib.Path({str(ran)!r}).write_text('x')")
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        await run_fails(env.client, loop_request(repo_ref), worker.task_queue)

    assert not ran.exists()
    body = only_comment(emulator, repo_ref)
    assert ".paid.yml is invalid" in body
    assert "`max_iterations`" in body
    assert "`agnet`" in body


async def test_cancel_kills_the_agent_cleans_up_and_says_so(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    pid_file = tmp_path / "agent.pid"
    agent = script_agent(
        tmp_path / "agent.py",
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\nimport time\ntime.sleep(600)",
    )
    workspaces = tmp_path / "ws"
    async with loop_worker(env, emulator, engine, broker, workspaces, agent_command=agent) as worker:
        handle = await start_run(env.client, loop_request(repo_ref), worker.task_queue)
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert time.monotonic() < deadline, "the agent never started"
            await asyncio.sleep(0.05)
        status = await handle.query(AgentExecutionWorkflow.status)
        assert status.step == "agent"
        assert status.iteration == 1
        pid = int(pid_file.read_text())

        await handle.signal(AgentExecutionWorkflow.cancel)
        result = await handle.result()

    assert result.outcome is RunOutcome.CANCELLED
    assert not Path(f"/proc/{pid}").exists(), "the agent process survived"
    assert not any(workspaces.rglob("calc.py")), "the worktree survived"
    assert "cancelled" in only_comment(emulator, repo_ref)


async def test_pause_holds_the_next_iteration_and_instructions_reach_its_prompt(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmax_iterations: 3\n")
    seen, gate = tmp_path / "prompts", tmp_path / "gate"
    seen.mkdir()
    agent = script_agent(
        tmp_path / "agent.py",
        f"n = len(list(pathlib.Path({str(seen)!r}).iterdir()))\n"
        f"pathlib.Path({str(seen)!r}, str(n)).write_text(prompt)\n"
        "import time\n"
        f"while n == 0 and not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.05)\n"
        f"if 'use addition' in prompt:\n    {FIX}\nelse:\n    {NO_FIX}",
    )
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        handle = await start_run(env.client, loop_request(repo_ref), worker.task_queue)
        deadline = time.monotonic() + 60
        while not (seen / "0").exists():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await handle.signal(AgentExecutionWorkflow.pause)
        await handle.signal(AgentExecutionWorkflow.inject_instruction, "use addition in add()")
        gate.write_text("go")
        while (await handle.query(AgentExecutionWorkflow.status)).step != "paused":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        status = await handle.query(AgentExecutionWorkflow.status)
        assert status.paused
        assert status.pending_instructions == 1
        assert status.iteration == 1
        assert not (seen / "1").exists()
        await handle.signal(AgentExecutionWorkflow.resume)
        result = await handle.result()

    assert result.outcome is RunOutcome.SUCCEEDED
    assert "use addition in add()" in (seen / "1").read_text()
