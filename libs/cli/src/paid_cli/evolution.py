"""`paid prompts list|show|diff` and `paid experiments list|show|start|approve|rollback`: evolution's API
through the gateway (`/api/evolution/...`), under the token's role: viewers read, operators start
comparisons, approve and roll back."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from paid_cli.client import GatewayClient
from paid_cli.options import JsonOption, TokenOption, UrlOption, out, print_json, run_action

EVOLUTION = "/api/evolution"
prompts_app = typer.Typer(help="Prompt versions in evolution's registry.", no_args_is_help=True)
experiments_app = typer.Typer(help="Prompt experiments.", no_args_is_help=True)


def _table(columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> Table:
    table = Table(show_header=True)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text, not markup: reasons and templates may be a model's words ("[link=...]" stays literal).
        table.add_row(*(Text("" if value is None else str(value)) for value in row))
    return table


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@prompts_app.command("list")
def list_prompts(
    category: Annotated[str | None, typer.Option(help="every version of this category instead")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where each version is active (project `*`: the default), or a category's versions and lineage."""

    def action() -> None:
        client = GatewayClient(url, token)
        if category is None:
            active = client.call("GET", f"{EVOLUTION}/prompts")
            rows = [(a["category"], a["project"], a["version_id"], a["since"][:19]) for a in active]
            if as_json:
                print_json(active)
            else:
                out.print(_table(("category", "project", "version", "since"), rows))
            return
        versions = client.call("GET", f"{EVOLUTION}/prompts/{quote(category, safe='')}/versions")
        if as_json:
            print_json(versions)
            return
        lineage = [
            (v["id"], v["parent_id"], v["status"], v["reason"], v["created_at"][:19]) for v in versions
        ]
        out.print(_table(("version", "parent", "status", "reason", "created"), lineage))

    run_action(action)


@prompts_app.command("show")
def show_prompt(
    version: Annotated[str, typer.Argument(help="a version id, e.g. coding@2")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One version: its lineage, status, variables and template."""

    def action() -> None:
        found = GatewayClient(url, token).call("GET", f"{EVOLUTION}/versions/{quote(version, safe='')}")
        if as_json:
            print_json(found)
            return
        for name in ("id", "parent_id", "status", "reason", "variables", "content_hash", "created_at"):
            out.print(
                f"[bold]{name:>12}[/bold]  {escape(str(found[name] if found[name] is not None else ''))}"
            )
        out.rule("template")
        sys.stdout.write(found["template"])

    run_action(action)


@prompts_app.command("diff")
def diff_prompt(
    version: Annotated[str, typer.Argument(help="a version id, e.g. coding@2")],
    against: Annotated[str | None, typer.Option(help="another version instead of the parent")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The unified diff from the version's parent (or --against) to the version."""

    def action() -> None:
        params = {"against": against} if against else None
        path = f"{EVOLUTION}/versions/{quote(version, safe='')}/diff"
        diff = GatewayClient(url, token).call("GET", path, params=params)
        if as_json:
            print_json(diff)
        else:
            sys.stdout.write(diff["diff"])

    run_action(action)


@experiments_app.command("list")
def list_experiments(
    project: Annotated[str | None, typer.Option(help="owner/name")] = None,
    status: Annotated[str | None, typer.Option(help="running, awaiting_approval, concluded")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Experiments, newest first."""

    def action() -> None:
        params = {k: v for k, v in {"project": project, "status": status}.items() if v is not None}
        found = GatewayClient(url, token).call("GET", f"{EVOLUTION}/experiments", params=params)
        if as_json:
            print_json(found)
            return
        rows = [
            (x["id"], x["category"], x["project"], x["control_version"], x["status"], _winner(x))
            for x in found
        ]
        out.print(_table(("experiment", "category", "project", "control", "status", "winner"), rows))

    run_action(action)


@experiments_app.command("show")
def show_experiment(
    experiment: Annotated[str, typer.Argument(help="an experiment id")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Its arms: samples, mean score, difference to the control, always-valid interval and p-value."""

    def action() -> None:
        x = GatewayClient(url, token).call("GET", f"{EVOLUTION}/experiments/{quote(experiment, safe='')}")
        if as_json:
            print_json(x)
            return
        out.print(f"{x['category']} experiment {x['id']} on {x['project']}: {x['status']}", markup=False)
        if x["winner_version"]:
            out.print(f"winner {_winner(x)} ({x['decision']})", markup=False)
        rows = [
            (
                a["arm"],
                a["version_id"],
                a["samples"],
                _number(a["mean_score"]),
                _number(a.get("difference")),
                ""
                if a.get("interval") is None
                else f"[{_number(a['interval'][0])}, {_number(a['interval'][1])}]",
                _number(a.get("p_value"), 4),
            )
            for a in x["arms"]
        ]
        columns = ("arm", "version", "samples", "mean", "difference", "interval", "p-value")
        out.print(_table(columns, rows))

    run_action(action)


@experiments_app.command("approve")
def approve(
    experiment: Annotated[str, typer.Argument(help="an experiment awaiting approval")],
    reject: Annotated[bool, typer.Option("--reject", help="refuse the winner instead")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Promotes the winner of an experiment awaiting approval (operator role)."""

    def action() -> None:
        path = f"{EVOLUTION}/experiments/{quote(experiment, safe='')}/approval"
        answer = GatewayClient(url, token).call("POST", path, json={"approved": not reject})
        if as_json:
            print_json(answer)
        else:
            out.print(f"{experiment}: {answer['answer']}", markup=False)

    run_action(action)


@experiments_app.command("rollback")
def rollback(
    category: Annotated[str, typer.Argument(help="coding, planning, ...")],
    project: Annotated[str, typer.Argument(help="owner/name, or * for the default")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Undoes the last promotion of a category's prompt for a project (operator role)."""

    def action() -> None:
        path = f"{EVOLUTION}/prompts/{quote(category, safe='')}/projects/{quote(project)}/rollback"
        result = GatewayClient(url, token).call("POST", path)
        if as_json:
            print_json(result)
        else:
            out.print(f"{category} for {project}: {result['from']} -> {result['to']}", markup=False)

    run_action(action)


ArmOption = Annotated[
    list[str],
    typer.Option(
        "--candidate",
        help="an arm: agent=NAME, model=NAME and/or version=ID, comma-separated; repeat for more arms",
    ),
]


@experiments_app.command("start")
def start(
    project: Annotated[str, typer.Argument(help="owner/name")],
    candidates: ArmOption,
    category: Annotated[str, typer.Option(help="coding, planning, ...")] = "coding",
    control: Annotated[
        str | None, typer.Option(help="the control's agent=/model= (default: what runs use today)")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compares arms (agents, models, prompt versions) against the control on a project now (operator
    role): e.g. `paid experiments start acme/app --candidate agent=codex,model=gpt-5-codex`."""

    def action() -> None:
        body = {
            "category": category,
            "project": project,
            "candidates": [_arm(candidate) for candidate in candidates],
            **({"control": _arm(control)} if control else {}),
        }
        answer = GatewayClient(url, token).call("POST", f"{EVOLUTION}/experiments", json=body)
        if as_json:
            print_json(answer)
        else:
            out.print(f"experiment {answer['experiment_id']} started on {project}", markup=False)

    run_action(action)


def _arm(text: str) -> dict[str, str]:
    """`agent=codex,model=gpt-5` as evolution's arm; an unknown key is the user's error, said at once."""
    keys = {"agent": "agent", "model": "model", "version": "version_id"}
    arm: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, separator, value = part.partition("=")
        if not separator or key not in keys or not value:
            raise typer.BadParameter(f"{part!r}: an arm is agent=NAME, model=NAME and/or version=ID")
        arm[keys[key]] = value
    if not arm:
        raise typer.BadParameter("an arm names an agent, a model or a version")
    return arm


def _winner(experiment: dict[str, Any]) -> str:
    """The winning arm with its agent and model, which an agent or model arm needs to be told apart
    from the control it shares its prompt version with; the version alone for older answers."""
    version = experiment.get("winner_version") or ""
    arm = experiment.get("winner_arm")
    if not version or not arm:
        return version
    named = [
        f"{kind} {experiment[f'winner_{kind}']}"
        for kind in ("agent", "model")
        if experiment.get(f"winner_{kind}")
    ]
    return f"{arm}: {', '.join([*named, f'version {version}'])}"
