"""Each real agent CLI's start-up overhead: from the sandbox's start (the launch prepared, the process
spawned) to the first model request reaching the LLM emulator through the metering proxy, p50 over N
starts. The agent is stopped at that request: what follows is the model's time, not the CLI's.

The same launch as a run's (the executor's Launcher: proxy, per-run token, sandbox request, adapter),
in a scratch git repository holding calc.py; the CLIs are the ones the executor's tests pin
(services/executor/tests/claude_code for the npm ones, tests/aider/.venv for Aider), installed by
scripts/test. A CLI that is not installed prints `agent_startup{agent=...} not_installed state`.

Prints `name value unit` lines.
Usage: bench/agent_startup.py [--runs N] [--sandbox bwrap|docker|none] [--image IMAGE] [--agents a,b]
(docker: the container's start is part of the figure; the image must hold node for the npm CLIs, e.g.
paid/sandbox-agents:node20.20.2 from `deploy/build-images sandbox-agents`)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from paid_executor.activities.launch import Launcher
from paid_executor.agents.process import run_agent_process
from paid_executor.agents.registry import adapter_for
from paid_executor.config import ExecutorSettings
from paid_executor.proxy import Budget
from paid_executor.run_workspace import RunPaths
from paid_executor.workspace import Identity
from paid_llm_emulator import LLMEmulator

TESTS = Path(__file__).resolve().parent.parent / "services" / "executor" / "tests"
NODE_CLIS = TESTS / "claude_code"
AIDER_HOME = TESTS / "aider" / ".venv"
EXECUTABLES = {
    "claude": NODE_CLIS / "node_modules" / ".bin" / "claude",
    "codex": NODE_CLIS / "node_modules" / ".bin" / "codex",
    "gemini": NODE_CLIS / "node_modules" / ".bin" / "gemini",
    "opencode": NODE_CLIS / "node_modules" / ".bin" / "opencode",
    "aider": AIDER_HOME / "bin" / "aider",
}
MODELS = {"claude": "claude-sonnet-4-5", "codex": "gpt-5", "gemini": "gemini-2.5-pro"}
PROMPT = "add() in calc.py subtracts; make it add."
START_TIMEOUT = 120.0


def settings_for(url: str, sandbox: str, image: str | None = None) -> ExecutorSettings:
    fields: dict[str, object] = {
        f"{agent}_executable": str(path.resolve() if agent != "aider" else path)
        for agent, path in EXECUTABLES.items()
    }
    fields |= {
        "sandbox": sandbox,
        "sandbox_read_only": [NODE_CLIS.resolve(), AIDER_HOME.resolve()],
        "anthropic_base_url": url,
        "anthropic_api_key": "sk-ant-bench",
        "openai_base_url": url,
        "openai_api_key": "sk-bench",
        "gemini_base_url": url,
        "gemini_api_key": "bench",
    }
    if image is not None:
        fields["sandbox_image"] = image
    return ExecutorSettings.model_validate(fields)


def scratch_run(root: Path, name: str) -> RunPaths:
    run_dir = root / name
    worktree = run_dir / "worktree"
    worktree.mkdir(parents=True)
    (worktree / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git = ["git", "-C", str(worktree), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "base"], check=True)
    prompt_file = run_dir / "prompt.md"
    prompt_file.write_text(PROMPT)
    return RunPaths(
        run_dir=run_dir,
        worktree=worktree,
        overlay_upper=run_dir / "upper",
        overlay_work=run_dir / "work",
        host_git=run_dir / "host.git",
        prompt_file=prompt_file,
        pgid_file=run_dir / "pgid",
    )


async def startup_seconds(
    launcher: Launcher, llm: LLMEmulator, agent: str, sandbox_name: str, paths: RunPaths
) -> float:
    """Sandbox start to the first model request, for one start of `agent`."""
    settings = launcher.settings
    adapter = adapter_for(agent, settings, model=MODELS.get(agent))
    sandbox = launcher.sandbox(sandbox_name)
    seen = len(llm.requests)
    async with launcher.metered(
        sandbox,
        sandbox_name,
        run_id=paths.run_dir.name,
        run_key=paths.run_dir.name,
        paths=paths,
        budget=Budget(max_tokens=None, max_cost_usd=None),
        timeout=START_TIMEOUT,
    ) as launch:
        started = time.perf_counter()
        prepared = sandbox.prepare(adapter.invocation(PROMPT, paths.prompt_file), launch.request)
        process = asyncio.create_task(
            run_agent_process(
                prepared.invocation,
                cwd=paths.worktree,
                base_env={},
                timeout=START_TIMEOUT,
                pgid_file=paths.pgid_file,
                on_progress=lambda _line: None,
                limits=prepared.limits,
            )
        )
        try:
            while len(llm.requests) == seen:
                if process.done():
                    outcome = process.result()
                    raise RuntimeError(
                        f"{agent} ended (exit {outcome.exit_code}) before asking the model: "
                        f"{(outcome.stderr or outcome.stdout)[-500:]}"
                    )
                await asyncio.sleep(0.002)  # polling resolution, not a wait for the agent
            return time.perf_counter() - started
        finally:
            process.cancel()  # kills the process group
            await asyncio.gather(process, return_exceptions=True)
            sandbox.release(prepared)


async def main(runs: int, sandbox_name: str, agents: list[str], image: str | None) -> None:
    with LLMEmulator() as llm, tempfile.TemporaryDirectory(prefix="paid-bench-startup-") as scratch:
        llm.reply("Done.")  # every protocol
        launcher = Launcher(
            settings_for(llm.url, sandbox_name, image), Identity("Paid bench", "bench@example.invalid")
        )
        try:
            for agent in agents:
                if not EXECUTABLES[agent].exists():
                    print(f"agent_startup{{agent={agent}}} not_installed state")
                    continue
                seconds = [
                    await startup_seconds(
                        launcher, llm, agent, sandbox_name, scratch_run(Path(scratch), f"{agent}-{n}")
                    )
                    for n in range(runs)
                ]
                print(f"agent_startup_p50{{agent={agent}}} {statistics.median(seconds) * 1000:.0f} ms")
        finally:
            await launcher.stop()
    print(f"agent_startup_sandbox {sandbox_name} name")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sandbox", default="bwrap", choices=["bwrap", "docker", "none"])
    parser.add_argument("--agents", default=",".join(EXECUTABLES))
    parser.add_argument("--image", default=None, help="the docker sandbox's image")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.sandbox, args.agents.split(","), args.image))
