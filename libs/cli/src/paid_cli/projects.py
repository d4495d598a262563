"""`paid project add|list|update`: the projects API from the command line.

Secrets are read from options backed by environment variables (or a hidden prompt), never echoed:
`PAID_PROJECT_TOKEN=ghp_... paid project add acme/app --webhook-secret-prompt`.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from paid_cli import credentials

projects_app = typer.Typer(help="Register repositories with Paid and list them.", no_args_is_help=True)
console = Console()

GatewayOption = Annotated[
    str | None,
    typer.Option(
        envvar=["PAID_URL", "PAID_GATEWAY_URL"],
        help="the gateway's address (default: the one `paid up` saved)",
        show_default=False,
    ),
]
AdminOption = Annotated[
    str | None,
    typer.Option(
        envvar=["PAID_TOKEN", "PAID_ADMIN_TOKEN"],
        help="an admin API token (default: the one `paid up` saved)",
        show_default=False,
    ),
]


def _client(gateway: str | None, admin_token: str | None) -> httpx.Client:
    try:
        gateway, admin_token = credentials.resolve(gateway, admin_token)
    except credentials.CredentialsError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    return httpx.Client(base_url=gateway.rstrip("/"), headers=headers, timeout=30.0)


AgentOption = Annotated[
    str | None, typer.Option(help="the project's agent, e.g. codex (default: the executor's setting)")
]
ModelOption = Annotated[str | None, typer.Option(help="the model for the project's agent, e.g. gpt-5")]


def _agent(agent: str | None, model: str | None) -> dict[str, Any]:
    return ({"agent": agent} if agent else {}) | ({"agent_model": model} if model else {})


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        if not sep or not role or not name:
            raise typer.BadParameter(f"{pair!r} is not ROLE=LABEL (e.g. build=paid-build)")
        labels[role.strip().replace("-", "_")] = name.strip()
    return labels


def _call(
    method: str, gateway: str | None, admin_token: str | None, path: str, body: dict[str, Any] | None = None
) -> Any:
    client = _client(gateway, admin_token)
    try:
        with client:
            response = client.request(method, path, json=body)
    except httpx.HTTPError as error:
        console.print(f"[red]cannot reach the gateway at {client.base_url}[/red]: {error}")
        raise typer.Exit(2) from None
    if response.is_error:
        detail = response.json().get("detail") if "json" in response.headers.get("content-type", "") else None
        console.print(f"[red]{response.status_code}[/red] {detail or response.text}")
        raise typer.Exit(1)
    return response.json()


@projects_app.command("add")
def add(
    repository: Annotated[str, typer.Argument(help="owner/name")],
    gateway: GatewayOption = None,
    admin_token: AdminOption = None,
    token: Annotated[
        str, typer.Option(envvar="PAID_PROJECT_TOKEN", help="GitHub token", show_default=False)
    ] = "",
    installation_id: Annotated[int | None, typer.Option(help="GitHub App installation id")] = None,
    webhook_secret: Annotated[
        str, typer.Option(envvar="PAID_PROJECT_WEBHOOK_SECRET", help="webhook secret", show_default=False)
    ] = "",
    webhook_secret_prompt: Annotated[bool, typer.Option(help="ask for the webhook secret")] = False,
    label: Annotated[list[str], typer.Option(help="ROLE=LABEL, e.g. build=paid-build (repeatable)")] = [],  # noqa: B006
    poll_interval: Annotated[float | None, typer.Option(help="seconds between polls")] = None,
    allow: Annotated[list[str], typer.Option(help="a login trusted to trigger Paid (repeatable)")] = [],  # noqa: B006
    paused: Annotated[bool, typer.Option(help="register without polling")] = False,
    agent: AgentOption = None,
    model: ModelOption = None,
) -> None:
    """Register a repository: credentials, labels, poll interval, webhook secret, allowlist."""
    if webhook_secret_prompt:
        webhook_secret = typer.prompt("webhook secret", hide_input=True, confirmation_prompt=True)
    body: dict[str, Any] = {
        "repository": repository,
        "labels": _labels(label),
        "allowlist": allow,
        "polling": "paused" if paused else "active",
    }
    body |= {"token": token} if token else {}
    body |= {"installation_id": installation_id} if installation_id else {}
    body |= {"webhook_secret": webhook_secret} if webhook_secret else {}
    body |= {"poll_interval_seconds": poll_interval} if poll_interval else {}
    body |= _agent(agent, model)
    project = _call("POST", gateway, admin_token, "/api/projects", body)
    console.print(f"[green]registered[/green] {project['repository']} (version {project['version']})")


@projects_app.command("update")
def update(
    repository: Annotated[str, typer.Argument(help="owner/name")],
    gateway: GatewayOption = None,
    admin_token: AdminOption = None,
    token: Annotated[str, typer.Option(envvar="PAID_PROJECT_TOKEN", show_default=False)] = "",
    webhook_secret: Annotated[
        str, typer.Option(envvar="PAID_PROJECT_WEBHOOK_SECRET", help="start a rotation to this secret")
    ] = "",
    end_secret_rotation: Annotated[bool, typer.Option(help="stop accepting the previous secret")] = False,
    polling: Annotated[str | None, typer.Option(help="active, paused or stopped")] = None,
    poll_interval: Annotated[float | None, typer.Option(help="seconds between polls")] = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    clear_agent: Annotated[
        bool, typer.Option(help="forget the project's agent and model: the executor's setting applies")
    ] = False,
) -> None:
    """Change a project; a new webhook secret keeps the previous one valid during the rotation."""
    if clear_agent and (agent or model):
        raise typer.BadParameter("--clear-agent cannot be combined with --agent or --model")
    body: dict[str, Any] = {"end_secret_rotation": end_secret_rotation}
    body |= {"token": token} if token else {}
    body |= {"webhook_secret": webhook_secret} if webhook_secret else {}
    body |= {"polling": polling} if polling else {}
    body |= {"poll_interval_seconds": poll_interval} if poll_interval else {}
    body |= {"agent": None, "agent_model": None} if clear_agent else _agent(agent, model)
    project = _call("PATCH", gateway, admin_token, f"/api/projects/{repository}", body)
    console.print(f"[green]updated[/green] {project['repository']} (version {project['version']})")


@projects_app.command("list")
def list_projects(gateway: GatewayOption = None, admin_token: AdminOption = None) -> None:
    """The registered repositories (secrets are never shown, only whether they are set)."""
    projects = _call("GET", gateway, admin_token, "/api/projects")
    table = Table(show_header=True)
    for column in (
        "repository",
        "auth",
        "token",
        "webhook secret",
        "polling",
        "every",
        "allowlist",
        "agent",
        "version",
    ):
        table.add_column(column)
    for project in projects:
        table.add_row(
            project["repository"],
            project["auth"],
            "set" if project["has_token"] else "-",
            "rotating"
            if project["previous_secret_valid_until"]
            else ("set" if project["has_webhook_secret"] else "-"),
            project["polling"],
            f"{project['poll_interval_seconds']:g} s",
            ", ".join(project["allowlist"]) or "-",
            " ".join(filter(None, (project.get("agent"), project.get("agent_model")))) or "-",
            str(project["version"]),
        )
    console.print(table)
