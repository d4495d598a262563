"""`paid budgets list|show|set|reset`: spend against each project's caps (any token), and a project's
own daily and monthly caps and time zone (an admin token), through the gateway (`/api/budgets`). The
executor keeps the caps and its metering proxy enforces them; a bad value is refused naming the field."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from paid_cli.client import ApiError, GatewayClient
from paid_cli.options import JsonOption, TokenOption, UrlOption, money, out, print_json, run_action

BUDGETS = "/api/budgets"
CAP_FIELDS = ("daily_max_tokens", "daily_max_cost_usd", "monthly_max_tokens", "monthly_max_cost_usd")
budgets_app = typer.Typer(
    help="Budgets: spend against caps, and each project's own caps.", no_args_is_help=True
)
ProjectArgument = Annotated[str, typer.Argument(help="owner/name")]


def _path(project: str) -> str:
    owner, slash, name = project.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise ApiError(400, f"{project!r} is not owner/name")
    return f"{BUDGETS}/{owner}/{name}"


def _tokens(value: int | None) -> str:
    return "no cap" if value is None else f"{value:,}"


@budgets_app.command("list")
def list_budgets(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Each project's spend today and this month against its caps, and whose caps they are."""

    def action() -> None:
        budgets = GatewayClient(url, token).call("GET", BUDGETS)
        if as_json:
            print_json(budgets)
            return
        table = Table(show_header=True)
        for column in ("project", "period", "runs", "spent", "cap", "tokens", "token cap", "used", "caps"):
            table.add_column(column, overflow="fold")
        for project in budgets["projects"]:
            for line in project["lines"]:
                used = "" if line["used"] is None else f"{round(line['used'] * 100)}%"
                row = (
                    project["project"],
                    f"{line['period']} from {line['starts']} ({project.get('time_zone', 'UTC')})",
                    line["runs"],
                    money(line["spent_usd"]),
                    "no cap" if line["cap_usd"] is None else money(line["cap_usd"]),
                    _tokens(line["spent_tokens"]),
                    _tokens(line["cap_tokens"]),
                    used,
                    "own" if line["cap_source"] == "project" else "default",
                )
                table.add_row(*(Text(str(value)) for value in row))  # text, not markup
        out.print(table)
        out.print(Text(budgets["note"]))

    run_action(action)


@budgets_app.command("show")
def show_caps(
    project: ProjectArgument, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """The project's own caps as set, beside the defaults (an empty own cap is the default)."""

    def action() -> None:
        _print_caps(GatewayClient(url, token).call("GET", _path(project)), as_json)

    run_action(action)


@budgets_app.command("set")
def set_caps(
    project: ProjectArgument,
    daily_usd: Annotated[float | None, typer.Option(help="US dollars per day")] = None,
    daily_tokens: Annotated[int | None, typer.Option(help="tokens per day")] = None,
    monthly_usd: Annotated[float | None, typer.Option(help="US dollars per month")] = None,
    monthly_tokens: Annotated[int | None, typer.Option(help="tokens per month")] = None,
    time_zone: Annotated[
        str | None, typer.Option(help="an IANA zone (Europe/Paris) where the project's days begin")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Changes the caps given and keeps the project's others (`reset` returns all to the defaults)."""
    given = {
        "daily_max_cost_usd": daily_usd,
        "daily_max_tokens": daily_tokens,
        "monthly_max_cost_usd": monthly_usd,
        "monthly_max_tokens": monthly_tokens,
        "time_zone": time_zone,
    }

    def action() -> int:
        if all(value is None for value in given.values()):
            raise ApiError(400, "give at least one cap or --time-zone")
        client = GatewayClient(url, token)
        current: dict[str, Any] = client.call("GET", _path(project))["caps"]
        body = current | {field: value for field, value in given.items() if value is not None}
        _print_caps(client.call("PUT", _path(project), json=body), as_json)
        return 0

    run_action(action)


@budgets_app.command("reset")
def reset_caps(project: ProjectArgument, url: UrlOption = None, token: TokenOption = None) -> None:
    """Returns the project to the default caps."""

    def action() -> None:
        answer = GatewayClient(url, token).call("DELETE", _path(project))
        out.print(Text(f"{answer['project']}: the default caps"))

    run_action(action)


def _print_caps(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(answer)
        return
    own, defaults = answer["caps"], answer["defaults"]
    table = Table(show_header=True, title=answer["project"])
    for column in ("cap", "the project's", "default"):
        table.add_column(column)
    for field in (*CAP_FIELDS, "time_zone"):
        table.add_row(field, Text(_shown(own.get(field))), Text(_shown(defaults.get(field))))
    out.print(table)


def _shown(value: object) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)
