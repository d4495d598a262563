"""`paid`: the command line of Paid (stack, demo); a client of the API and NATS, it imports no service."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from paid_cli import queue, runs, tokens
from paid_cli.budgets import budgets_app
from paid_cli.client import ApiError
from paid_cli.evolution import experiments_app, prompts_app
from paid_cli.github import github_app
from paid_cli.notifications import notifications_app
from paid_cli.projects import projects_app

if TYPE_CHECKING:
    from paid_devstack.platform import PaidPlatform

app = typer.Typer(help="Paid: labeled GitHub issues become pull requests, made by AI coding agents.")
app.add_typer(projects_app, name="project")
app.add_typer(github_app, name="github")
app.add_typer(prompts_app, name="prompts")
app.add_typer(experiments_app, name="experiments")
app.add_typer(notifications_app, name="notifications")
app.add_typer(budgets_app, name="budgets")
console = Console()

HomeOption = Annotated[Path | None, typer.Option(help="data directory (default $PAID_HOME or ./.paid)")]


@app.command()
def up(
    home: HomeOption = None,
    temporal: Annotated[str | None, typer.Option(help="use this Temporal frontend (host:port)")] = None,
    temporal_ui: Annotated[str | None, typer.Option(help="its Web UI address")] = None,
    temporal_namespace: Annotated[str | None, typer.Option(help="its namespace (default: default)")] = None,
    temporal_tls_cert: Annotated[Path | None, typer.Option(help="mTLS: the client certificate (PEM)")] = None,
    temporal_tls_key: Annotated[Path | None, typer.Option(help="mTLS: its private key (PEM)")] = None,
    temporal_tls_ca: Annotated[Path | None, typer.Option(help="the server's CA (PEM)")] = None,
    temporal_tls_server_name: Annotated[str | None, typer.Option(help="the server's TLS name")] = None,
    temporal_api_key: Annotated[
        str | None,
        typer.Option(
            envvar="PAID_TEMPORAL_API_KEY",
            help="Temporal Cloud's API key; prefer the variable, since ps shows arguments",
        ),
    ] = None,
    nats: Annotated[str | None, typer.Option(help="use this NATS server (nats://...)")] = None,
    nats_admin: Annotated[
        str | None,
        typer.Option(help="its provisioning user's URL (nats://user:password@...), to create streams"),
    ] = None,
    database: Annotated[str | None, typer.Option(help="use this PostgreSQL (postgresql://...)")] = None,
    otlp_endpoint: Annotated[str | None, typer.Option(envvar="PAID_OTLP_ENDPOINT")] = None,
    trace_explorer: Annotated[
        bool, typer.Option(help="start Arize Phoenix (installed on first use) and send traces to it")
    ] = False,
    github_api_url: Annotated[str, typer.Option(envvar="PAID_GITHUB_API_URL")] = "https://api.github.com",
    github_token: Annotated[str, typer.Option(envvar="PAID_GITHUB_TOKEN")] = "",
    webhook_secret: Annotated[
        str | None, typer.Option(envvar="PAID_WEBHOOK_SECRET", help="default: a fresh random secret")
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(envvar="PAID_ADMIN_TOKEN", help="the API's admin token; default: a fresh one"),
    ] = None,
) -> None:
    """Start Temporal, NATS, PostgreSQL (embedded unless given) and the six services; Ctrl-C stops all."""
    # Imported here: the dev stack pulls in most of the runtime, seconds that `paid runs list` need not pay.
    from paid_devstack import default_home
    from paid_devstack.platform import WITH_NOTIFIER, PaidPlatform, PlatformConfig, temporal_access_settings

    admin_token = admin_token or f"paid_{secrets.token_urlsafe(32)}"
    config = PlatformConfig(
        home=(home or default_home()).resolve(),
        github_api_url=github_api_url,
        github_token=github_token,
        webhook_secret=webhook_secret or secrets.token_hex(20),
        otlp_endpoint=otlp_endpoint,
        temporal_target=temporal,
        temporal_ui_url=temporal_ui,
        temporal_access=temporal_access_settings(
            namespace=temporal_namespace,
            tls_cert=temporal_tls_cert,
            tls_key=temporal_tls_key,
            tls_ca=temporal_tls_ca,
            tls_server_name=temporal_tls_server_name,
            api_key=temporal_api_key,
        ),
        nats_url=nats,
        nats_admin_url=nats_admin,
        database_url=database,
        trace_explorer=trace_explorer,
        service_env={"gateway": {"PAID_GATEWAY_ADMIN_TOKEN": admin_token}},
        services=WITH_NOTIFIER,
    )
    platform = PaidPlatform(config)
    started = time.monotonic()
    with console.status("starting Temporal, NATS, PostgreSQL and the services..."):
        platform.start()
    try:
        path, handed = tokens.hand_off(platform.url("gateway"), admin_token)
    except ApiError as error:
        platform.stop()
        console.print(f"[red]cannot make the CLI's admin token:[/red] {error.detail}")
        raise typer.Exit(error.exit_code) from None
    console.print(f"[green]ready[/green] in {time.monotonic() - started:.1f} s")
    console.print(endpoints_table(platform))
    # Outside the table and unstyled: a table cell in a narrow terminal would cut the token.
    sys.stdout.write(f"API admin token, saved in {path} (mode 0600) for the CLI:\n{handed.token}\n")
    sys.stdout.flush()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        with console.status("stopping..."):
            platform.stop()
        console.print("stopped")


@app.command()
def demo(home: HomeOption = None) -> None:
    """Run the offline demo: a labeled issue on the local GitHub emulator becomes a pull request."""
    from paid_cli.demo import run_demo

    raise typer.Exit(run_demo(console, home))


@app.command()
def provision(
    nats_admin: Annotated[
        str, typer.Option(envvar="PAID_NATS_ADMIN_URL", help="nats://paid-admin:PASSWORD@...")
    ],
    database_admin: Annotated[
        str | None,
        typer.Option(
            envvar="PAID_DATABASE_ADMIN_URL", help="a superuser's postgresql://...; roles skipped if unset"
        ),
    ] = None,
    replicas: Annotated[
        int,
        typer.Option(
            envvar="PAID_NATS_REPLICAS", min=1, max=5, help="copies of each stream in a JetStream cluster"
        ),
    ] = 1,
) -> None:
    """Create or update the JetStream streams (services may not) and each service's database role and
    schema, with passwords from PAID_DB_<SERVICE>_PASSWORD. Idempotent: compose runs it at each start.
    While a password is rotated, PAID_DB_<SERVICE>_NEXT_PASSWORD opens the service's second login
    (paid_<service>_next); a login whose password is unset is refused (docs/architecture.md)."""
    from paid_runtime import provisioning

    try:
        provisioning.provision(nats_admin, database_admin, os.environ, replicas=replicas)
    except provisioning.ProvisioningError as error:
        raise typer.BadParameter(str(error)) from None


def endpoints_table(platform: PaidPlatform) -> Table:
    infra = platform.infra.endpoints
    table = Table(title="Paid is running", show_header=True)
    table.add_column("what")
    table.add_column("where", overflow="fold")  # a value cut with an ellipsis is a value lost
    if infra.temporal_ui_url:
        table.add_row("Temporal Web UI", infra.temporal_ui_url)
    table.add_row("Temporal frontend", infra.temporal_target)
    table.add_row("NATS JetStream", infra.nats_url)
    table.add_row("PostgreSQL", infra.database_url)
    if platform.trace_explorer is not None:
        table.add_row("Trace explorer (Phoenix)", platform.trace_explorer.ui_url)
    if platform.otlp_endpoint:
        table.add_row("OTLP traces sent to", platform.otlp_endpoint)
    table.add_row("dashboard and API", f"{platform.url('gateway')}/")
    table.add_row("GitHub webhook URL", platform.webhook_url)
    table.add_row("GitHub webhook secret", platform.config.webhook_secret)
    for name in platform.config.services:
        table.add_row(f"{name} (health, metrics)", f"{platform.url(name)}/readyz")
    table.add_row("logs", str(platform.supervisor.log_dir))
    return table


runs.register(app)  # runs, logs, cancel/pause/resume/instruct, token (issue 7)
queue.register(runs.runs_app)  # paid runs queue (issue 22)
runs.token_app.command("rotate")(tokens.rotate)

if __name__ == "__main__":
    app()
