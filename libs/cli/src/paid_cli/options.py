"""What every `paid` command that talks to the API shares: the --url, --token and --json options, the
consoles, and one way to turn an API error into a message and an exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from paid_cli.client import ApiError

out = Console()
err = Console(stderr=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=["PAID_URL", "PAID_GATEWAY_URL"],
        help="the gateway's address (default: the one `paid up` saved, else http://127.0.0.1:8100)",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar=["PAID_TOKEN", "PAID_ADMIN_TOKEN"],
        help="an API token (default: the one `paid up` saved)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
DEFAULT_URL = None  # the credentials file, else credentials.FALLBACK_URL


def run_action(action: Callable[[], int | None]) -> None:
    try:
        code = action() or 0
    except ApiError as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(error.exit_code) from None
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def money(value: float | None) -> str:
    return "" if value is None else f"${value:.2f}"
