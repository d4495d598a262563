"""`paid runs list/show`, `paid logs`, `paid cancel/pause/resume/instruct`, `paid token create`:
the API from the command line. `--json` prints the API's answers; exit codes: 0 ok, 1 error,
2 usage, 3 not found, 4 unauthorized (no token, a bad one, or a role too low)."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from paid_cli.client import EXIT_ERROR, ApiError, GatewayClient
from paid_cli.options import (
    DEFAULT_URL,
    JsonOption,
    TokenOption,
    UrlOption,
    err,
    money,
    out,
    print_json,
    run_action,
)

RunArgument = Annotated[str, typer.Argument(help="run id, its first characters, or owner/repo#issue")]
runs_app = typer.Typer(help="Agent runs.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (needs an admin token).", no_args_is_help=True)


@runs_app.command("list")
def list_runs(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
    repo: Annotated[str | None, typer.Option(help="owner/name")] = None,
    status: Annotated[str | None, typer.Option(help="running, succeeded, cancelled, ...")] = None,
    active: Annotated[bool, typer.Option("--active", help="only running runs")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Recent runs, most recently changed first."""

    def action() -> None:
        params: dict[str, Any] = {"limit": limit}
        params.update({k: v for k, v in {"repo": repo, "status": status}.items() if v is not None})
        if active:
            params["active"] = "true"
        runs = GatewayClient(url, token).call("GET", "/api/runs", params=params)["runs"]
        if as_json:
            print_json(runs)
            return
        table = Table(show_header=True)
        for column in ("run", "repository", "issue", "attempt", "status", "started", "cost"):
            table.add_column(column)
        for run in runs:
            table.add_row(
                run["run_id"][:8],
                run["repo"],
                f"#{run['issue_number']}",
                str(run["attempt"]),
                run["status"],
                (run["started_at"] or "")[:19],
                money(run["cost_usd"]),
            )
        out.print(table)

    run_action(action)


@runs_app.command("show")
def show_run(
    run: RunArgument, url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """One run: status, prompt, PR, tokens, cost, links, steps and the tail of its output."""

    def action() -> None:
        detail = GatewayClient(url, token).resolve_run(run)
        if as_json:
            print_json(detail)
            return
        facts = [
            ("run", detail["run_id"]),
            ("issue", f"{detail['repo']}#{detail['issue_number']}"),
            ("attempt", detail["attempt"]),
            ("status", detail["status"]),
            ("detail", detail["detail"]),
            ("agent", detail["agent"]),
            ("prompt version", detail["prompt_version"]),
            ("iterations", detail["iterations"]),
            ("tokens", f"{detail['input_tokens']} in / {detail['output_tokens']} out"),
            ("cost", money(detail["cost_usd"])),
            ("pull request", detail["pull_request_url"]),
            ("Temporal", detail["links"]["temporal"]),
            ("trace", detail["links"]["trace"] or detail["trace_id"]),
        ]
        for name, value in facts:
            out.print(f"[bold]{name:>15}[/bold]  {value if value is not None else ''}")
        for step in detail["steps"]:
            out.print(f"{'':>15}  {step['occurred_at'][:19]}  {step['summary']}")
        _print_iterations(detail.get("iteration_summaries") or [])
        if detail["output_tail"]:
            out.rule("output (tail)")
            for line in detail["output_tail"]:
                out.print(line["text"], markup=False, highlight=False)

    run_action(action)


def _print_iterations(iterations: list[dict[str, Any]]) -> None:
    """Per iteration: the change against the base, each check's outcome, tokens and cost. A check's
    command and output were written by the repository and the agent: printed as text, never markup."""
    if not iterations:
        return
    out.rule("iterations")
    for iteration in iterations:
        change = f"{iteration['files_changed']} files, +{iteration['insertions']} -{iteration['deletions']}"
        spent = f"{iteration['tokens']} tokens, {money(iteration['cost_usd'])}"
        stopped = ", budget exceeded" if iteration.get("budget_exceeded") else ""
        out.print(f"#{iteration['number']}  {change}  {spent}{stopped}", markup=False, highlight=False)
        for check in iteration["checks"]:
            verdict = "passed" if check["passed"] else f"failed (exit {check['exit_code']})"
            out.print(f"    {verdict}  {check['command']}", markup=False, highlight=False)


def logs(
    run: RunArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="stream until the run ends")] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The agent's output; with --follow, streams it live and exits when the run ends."""

    def action() -> int:
        client = GatewayClient(url, token)
        run_id = client.resolve_run(run)["run_id"]
        if not follow:
            for line in client.call("GET", f"/api/runs/{run_id}/output", params={"limit": 5000}):
                _emit_line(line, as_json)
            return 0
        for event, data in client.stream(f"/api/runs/{run_id}/output/stream"):
            if event == "output":
                for line in data:
                    _emit_line(line, as_json)
            elif event == "end":
                if as_json:
                    print_json({"end": data})
                else:
                    err.print(
                        f"run {data['run_id'][:8]} ended: [bold]{data['status']}[/bold] {data['detail']}"
                    )
                return 0
        err.print("[red]error:[/red] the gateway closed the stream before the run ended")
        return EXIT_ERROR

    run_action(action)


def _emit_line(line: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(line) + "\n")
    else:
        sys.stdout.write(line["text"] + "\n")
    sys.stdout.flush()


def _control(
    run: str,
    action: str,
    body: dict[str, Any] | None,
    url: str | None,
    token: str | None,
    as_json: bool,
    wait: bool,
) -> None:
    def act() -> None:
        client = GatewayClient(url, token)
        run_id = client.resolve_run(run)["run_id"]
        answer = client.call("POST", f"/api/runs/{run_id}/{action}", json=body)
        if not wait:
            print_json(answer) if as_json else out.print(answer["detail"])
            return
        deadline = time.monotonic() + 120
        with err.status(f"{action} sent; waiting for run {run_id[:8]} to end..."):
            while time.monotonic() < deadline:
                detail = client.call("GET", f"/api/runs/{run_id}")
                if detail["status"] != "running":
                    break
                time.sleep(0.25)
            else:
                raise ApiError(0, f"run {run_id[:8]} was still running after 120 s")
        print_json(detail) if as_json else out.print(f"run {run_id[:8]} ended: {detail['status']}")

    run_action(act)


WaitOption = Annotated[bool, typer.Option("--wait", help="wait (with a spinner) until the run has ended")]


def cancel(
    run: RunArgument,
    reason: Annotated[str, typer.Option(help="why; shown on the run")] = "",
    wait: WaitOption = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stops a run: the agent is killed and the run ends as cancelled."""
    _control(run, "cancel", {"reason": reason}, url, token, as_json, wait)


def pause(
    run: RunArgument, url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Pauses a run at its next step."""
    _control(run, "pause", None, url, token, as_json, False)


def resume(
    run: RunArgument, url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Resumes a paused run."""
    _control(run, "resume", None, url, token, as_json, False)


def instruct(
    run: RunArgument,
    text: Annotated[str, typer.Argument(help="the instruction")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Gives the agent an extra instruction."""
    _control(run, "instruct", {"text": text}, url, token, as_json, False)


@token_app.command("create")
def create_token(
    role: Annotated[str, typer.Option(help="viewer, operator or admin")],
    name: Annotated[str, typer.Option(help="who or what uses it")],
    project: Annotated[
        list[str] | None, typer.Option(help="owner/name of a project it may reach (repeat); none: all")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Creates an API token (printed once; only its hash is stored)."""

    def action() -> None:
        request: dict[str, object] = {"name": name, "role": role}
        if project:
            request["projects"] = project
        created = GatewayClient(url, token).call("POST", "/api/tokens", json=request)
        if as_json:
            print_json(created)
        else:
            err.print(
                f"token {created['token_id']} ({created['role']}) for {created['name']}; it is shown once:"
            )
            sys.stdout.write(created["token"] + "\n")

    run_action(action)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.add_typer(token_app, name="token")
    for command in (logs, cancel, pause, resume, instruct):
        app.command()(command)
