"""`paid runs queue`: the runs requested and not yet started, with each queued run's place."""

from __future__ import annotations

import typer
from rich.table import Table

from paid_cli.client import GatewayClient
from paid_cli.options import DEFAULT_URL, JsonOption, TokenOption, UrlOption, out, print_json, run_action


def show_queue(url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Runs waiting to start: queued ones (held by a concurrency limit or a spent budget) in the order
    they will start, then those waiting for an executor worker."""

    def action() -> None:
        queue = GatewayClient(url, token).call("GET", "/api/queue")
        if as_json:
            print_json(queue)
            return
        table = Table(show_header=True)
        for column in ("position", "repository", "issue", "attempt", "status", "why", "requested"):
            table.add_column(column)
        for run in queue["runs"]:
            table.add_row(
                str(run["position"]),
                run["repo"],
                f"#{run['issue_number']}",
                str(run["attempt"]),
                run.get("status", "waiting"),
                run.get("reason") or "",
                str(run["requested_at"])[:19],
            )
        out.print(table)
        if not queue["runs"]:
            out.print("No run is waiting: every requested run has started.")

    run_action(action)


def register(runs_app: typer.Typer) -> None:
    runs_app.command("queue")(show_queue)
