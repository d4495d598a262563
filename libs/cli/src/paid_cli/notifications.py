"""`paid notifications list|set|remove`: the notifier's channels through the gateway
(`/api/notifications/channels`), with an admin token. Secrets never come back; a bad channel is refused
by the notifier with the field it names."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer
from rich.table import Table
from rich.text import Text

from paid_cli.client import GatewayClient
from paid_cli.options import JsonOption, TokenOption, UrlOption, out, print_json, run_action

CHANNELS = "/api/notifications/channels"
notifications_app = typer.Typer(help="Notification channels (needs an admin token).", no_args_is_help=True)


@notifications_app.command("list")
def list_channels(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Every channel: kind, target (a Slack URL only to its host), project, events, whether signed."""

    def action() -> None:
        channels = GatewayClient(url, token).call("GET", CHANNELS)
        if as_json:
            print_json(channels)
            return
        table = Table(show_header=True)
        for column in ("name", "kind", "target", "project", "events", "signed"):
            table.add_column(column, overflow="fold")
        for channel in channels:
            row = (
                channel["name"],
                channel["kind"],
                channel["target"],
                channel["project"] or "*",
                ", ".join(channel["events"]),
                "yes" if channel["signed"] else "",
            )
            table.add_row(*(Text(str(value)) for value in row))  # text, not markup
        out.print(table)

    run_action(action)


@notifications_app.command("set")
def set_channel(
    name: Annotated[str, typer.Argument(help="the channel's name: lowercase letters, digits, _ and -")],
    kind: Annotated[str, typer.Option(help="slack, webhook or email")],
    target: Annotated[str, typer.Option(help="the URL (slack, webhook) or the email address")],
    project: Annotated[str | None, typer.Option(help="owner/name; default: every project")] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            help="a kind of event to send (repeat): run_finished, needs_input, budget_alert, budget_stop,"
            " pr_ready, project_needs_attention; default: every kind"
        ),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="PAID_CHANNEL_SECRET",
            help="a webhook's signing secret (16+ characters); better from PAID_CHANNEL_SECRET",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Creates or replaces a channel."""
    body: dict[str, object] = {"name": name, "kind": kind, "target": target, "project": project}
    if event:
        body["events"] = event
    if secret is not None:
        body["secret"] = secret

    def action() -> None:
        GatewayClient(url, token).call("PUT", f"{CHANNELS}/{quote(name, safe='')}", json=body)
        out.print(Text(f"channel {name} set"))

    run_action(action)


@notifications_app.command("remove")
def remove_channel(
    name: Annotated[str, typer.Argument(help="the channel's name")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    def action() -> None:
        GatewayClient(url, token).call("DELETE", f"{CHANNELS}/{quote(name, safe='')}")
        out.print(Text(f"channel {name} removed"))

    run_action(action)
