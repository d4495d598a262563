"""`paid github setup`: create Paid's GitHub App with GitHub's manifest flow, in a few minutes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from paid_cli.github_setup import (
    ManifestFlow,
    SetupError,
    export_for_gateway,
    load_encrypted,
    next_steps,
    store_encrypted,
)
from paid_runtime.secretbox import SecretBox, SecretDecryptionError

github_app = typer.Typer(help="Connect Paid to GitHub.", no_args_is_help=True)


@github_app.command("setup")
def setup(
    webhook_url: Annotated[
        str | None, typer.Option(help="public URL of the gateway's /webhooks/github; omit to poll only")
    ] = None,
    name: Annotated[str, typer.Option(help="the App's name on GitHub (unique there)")] = "Paid",
    organization: Annotated[str | None, typer.Option(help="create the App for this organization")] = None,
    github_url: Annotated[str, typer.Option(help="GitHub's web address")] = "https://github.com",
    api_url: Annotated[str, typer.Option(help="GitHub's API address")] = "https://api.github.com",
    output: Annotated[Path, typer.Option(help="where the encrypted credentials go")] = Path(
        "github-app.json"
    ),
    port: Annotated[int, typer.Option(help="local port of the setup page (0: any free one)")] = 0,
    timeout: Annotated[float, typer.Option(help="seconds to wait for GitHub's answer")] = 900.0,
) -> None:
    box = _gateway_box("encrypt")
    flow = ManifestFlow(
        github_url, api_url, name=name, webhook_url=webhook_url, organization=organization, port=port
    )
    typer.echo(f"Open {flow.url} in a browser signed in to GitHub, then create the App there.")
    try:
        credentials = flow.wait(timeout)
    except SetupError as error:
        typer.echo(f"setup failed: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        flow.close()
    store_encrypted(credentials, output, box)
    typer.echo(next_steps(credentials, output))


@github_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="a new directory for the gateway's App files")],
    input: Annotated[Path, typer.Option(help="the file `paid github setup` wrote")] = Path("github-app.json"),
) -> None:
    """Decrypt the App for the gateway: app-id, private-key.pem and webhook-secret, readable by you only."""
    box = _gateway_box("decrypt")
    try:
        credentials = load_encrypted(input, box)
    except (OSError, ValueError, KeyError, SecretDecryptionError) as error:
        raise typer.BadParameter(f"cannot read the App from {input}: {error}") from None
    if directory.exists():
        raise typer.BadParameter(f"{directory} exists: give a new directory")
    written = export_for_gateway(credentials, directory)
    typer.echo("\n".join(f"wrote {path}" for path in written))
    typer.echo(
        "Give them to the gateway only, e.g. a Kubernetes Secret from these files, or\n"
        f"  PAID_GATEWAY_GITHUB_APP_ID=$(cat {directory}/app-id)\n"
        f'  PAID_GATEWAY_GITHUB_APP_PRIVATE_KEY="$(cat {directory}/private-key.pem)"\n'
        f"  PAID_GATEWAY_GITHUB_APP_WEBHOOK_SECRET=$(cat {directory}/webhook-secret)\n"
        "then delete the directory."
    )


def _gateway_box(verb: str) -> SecretBox:
    keys = [key for key in os.environ.get("PAID_GATEWAY_SECRETS_KEYS", "").split(",") if key.strip()]
    if not keys:
        raise typer.BadParameter(
            f"set PAID_GATEWAY_SECRETS_KEYS (the gateway's Fernet keys) to {verb} the App"
        )
    return SecretBox(keys)
