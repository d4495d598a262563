"""`paid cancel|pause|resume|instruct|status OWNER/REPO#N`: commands to a running agent execution,
sent to the executor over NATS request-reply (`paid.executor.cmd.*`)."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Annotated

import nats
import typer
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from rich.console import Console

from paid_contracts import (
    CancelRun,
    CommandReply,
    GetRunStatus,
    InjectInstruction,
    IssueRef,
    PauseRun,
    RepoRef,
    ResumeRun,
    RunCommand,
)

ISSUE = re.compile(r"^(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)#(?P<number>\d+)$")
console = Console()

IssueArgument = Annotated[str, typer.Argument(help="the issue whose run to command, as owner/repo#number")]
NatsOption = Annotated[
    str, typer.Option("--nats", help="NATS server of the platform", envvar="PAID_NATS_URL")
]
ActorOption = Annotated[str | None, typer.Option(help="who asks, for the audit log")]
DEFAULT_NATS = "nats://127.0.0.1:4222"


def parse_issue(text: str) -> IssueRef:
    match = ISSUE.match(text.strip())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not owner/repo#number")
    return IssueRef(repo=RepoRef(owner=match["owner"], name=match["name"]), number=int(match["number"]))


async def send(nats_url: str, command: RunCommand, timeout: float = 10.0) -> CommandReply:
    client = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        message = await client.request(command.SUBJECT, command.model_dump_json().encode(), timeout=timeout)
    finally:
        await client.close()
    return CommandReply.model_validate_json(message.data)


def _run(nats_url: str, command: RunCommand) -> None:
    try:
        reply = asyncio.run(send(nats_url, command))
    except (NoRespondersError, NatsTimeoutError):
        console.print(f"[red]No executor answered on {command.SUBJECT} ({nats_url}).[/red]")
        raise typer.Exit(2) from None
    except OSError as error:
        console.print(f"[red]Cannot reach NATS at {nats_url}: {error}[/red]")
        raise typer.Exit(2) from None
    if not reply.ok:
        console.print(f"[red]{reply.error}[/red]")
        raise typer.Exit(1)
    status = reply.status
    if status is not None:
        state = "paused" if status.paused else status.step
        console.print(
            f"{status.workflow_id} run {status.run_id}: {state}, iteration {status.iteration}"
            f"{f' of {status.max_iterations}' if status.max_iterations else ''}, "
            f"{status.tokens} tokens, ${status.cost_usd:.4f}"
            + (", cancel requested" if status.cancel_requested else "")
            + (
                f", {status.pending_instructions} instruction(s) queued"
                if status.pending_instructions
                else ""
            )
        )
        if status.last_output:
            console.print(f"last output: {status.last_output}")


def register(app: typer.Typer) -> None:
    nats_default = os.environ.get("PAID_NATS_URL", DEFAULT_NATS)

    @app.command()
    def cancel(issue: IssueArgument, nats_url: NatsOption = nats_default, actor: ActorOption = None) -> None:
        """Cancel the issue's run: the agent is stopped and its workspace removed."""
        _run(nats_url, CancelRun(issue=parse_issue(issue), actor=actor))

    @app.command()
    def pause(issue: IssueArgument, nats_url: NatsOption = nats_default, actor: ActorOption = None) -> None:
        """Hold the issue's run at its next safe point."""
        _run(nats_url, PauseRun(issue=parse_issue(issue), actor=actor))

    @app.command()
    def resume(issue: IssueArgument, nats_url: NatsOption = nats_default, actor: ActorOption = None) -> None:
        """Let a paused run go on."""
        _run(nats_url, ResumeRun(issue=parse_issue(issue), actor=actor))

    @app.command()
    def instruct(
        issue: IssueArgument,
        instruction: Annotated[str, typer.Argument(help="added to the agent's next prompt")],
        nats_url: NatsOption = nats_default,
        actor: ActorOption = None,
    ) -> None:
        """Queue an instruction into the run's next iteration."""
        _run(nats_url, InjectInstruction(issue=parse_issue(issue), instruction=instruction, actor=actor))

    @app.command()
    def status(issue: IssueArgument, nats_url: NatsOption = nats_default) -> None:
        """Where the issue's run stands: step, iteration, tokens, cost, last output."""
        _run(nats_url, GetRunStatus(issue=parse_issue(issue)))
