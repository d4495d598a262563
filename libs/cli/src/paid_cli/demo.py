"""`paid demo`: the whole path offline, from a labeled issue on the GitHub emulator to a pull request."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from rich.console import Console

from paid_contracts import subjects
from paid_devstack import default_home
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.temporal import workflow_ui_url

DEMO_OWNER = "acme"
DEMO_REPO = "calculator"
RUN_TIMEOUT_SECONDS = 180.0


def run_demo(console: Console, home: Path | None = None) -> int:
    base = home or default_home()
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="demo-", dir=base))
    started = time.monotonic()
    # The demo agent runs sandboxed by bubblewrap when it is installed (scripts/demo installs it as root).
    sandbox = "bwrap" if shutil.which("bwrap") else "local"
    if sandbox == "local":
        console.print("[yellow]bubblewrap (bwrap) is not installed: the demo agent runs unsandboxed[/yellow]")
    executor_env = {"PAID_EXECUTOR_AGENT": "demo", "PAID_EXECUTOR_SANDBOX": sandbox}
    paid = EmulatedPaid(workdir, service_env={"executor": executor_env})
    with console.status("starting Temporal, NATS, PostgreSQL, the five services and the GitHub emulator..."):
        paid.start()
    try:
        console.print(f"[green]stack ready[/green] in {time.monotonic() - started:.1f} s (data in {workdir})")
        issue = paid.create_repository(DEMO_OWNER, DEMO_REPO)
        console.print(f"created {issue.html_url} with a failing test, and an issue describing the fix")
        finished = asyncio.run(_label_and_follow(console, paid, issue))
        if finished is None:
            console.print(f"[red]the run did not finish within {RUN_TIMEOUT_SECONDS:.0f} s[/red]")
            console.print(f"service logs: {paid.platform.supervisor.log_dir}")
            return 1
        return _report(console, paid, issue, finished, started)
    finally:
        with console.status("stopping..."):
            paid.stop()


async def _label_and_follow(console: Console, paid: EmulatedPaid, issue: DemoIssue) -> dict[str, Any] | None:
    """Follows the run through the events Paid publishes on NATS, as any consumer could."""
    connection = await nats.connect(paid.platform.infra.nats_admin_url)
    try:
        subscription = await connection.subscribe("paid.run.>")
        paid.label(issue)
        console.print(
            f"labeled issue #{issue.number} [bold]paid-build[/bold] as the maintainer; webhook sent"
        )
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = await subscription.next_msg(timeout=remaining)
            except TimeoutError:
                break
            event = json.loads(message.data)
            if event.get("issue", {}).get("number") != issue.number:
                continue
            _print_progress(console, message.subject, event)
            if message.subject == subjects.RUN_FINISHED:
                return dict(event)
        return None
    finally:
        await connection.close()


def _print_progress(console: Console, subject: str, event: dict[str, Any]) -> None:
    if subject == subjects.RUN_STARTED:
        console.print(f"run started: agent {event['agent']}, prompt {event['prompt_version']}")
    elif subject == subjects.RUN_PULL_REQUEST_OPENED:
        console.print(f"pull request #{event['number']} opened from branch {event['branch']}")
    elif subject == subjects.RUN_FINISHED:
        console.print(f"run finished: [bold]{event['outcome']}[/bold] {event.get('detail', '')}")


def _report(
    console: Console, paid: EmulatedPaid, issue: DemoIssue, finished: dict[str, Any], started: float
) -> int:
    ui = paid.platform.infra.endpoints.temporal_ui_url or ""
    console.print()
    if finished["outcome"] != "succeeded":
        console.print(f"[red]the run ended as {finished['outcome']}[/red]: {finished.get('detail', '')}")
        return 1
    console.print(f"pull request:      {finished['pull_request_url']}")
    console.print(f"workflow:          {workflow_ui_url(ui, 'default', finished['workflow_id'])}")
    console.print(f"issue:             {issue.html_url}")
    console.print(f"took:              {time.monotonic() - started:.1f} s")
    return 0
