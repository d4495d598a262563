"""`paid github setup`: create Paid's GitHub App with GitHub's manifest flow, in a few minutes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from paid_cli.github_setup import ManifestFlow, SetupError, next_steps, store_encrypted
from paid_runtime.secretbox import SecretBox

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
    keys = [key for key in os.environ.get("PAID_GATEWAY_SECRETS_KEYS", "").split(",") if key.strip()]
    if not keys:
        raise typer.BadParameter(
            "set PAID_GATEWAY_SECRETS_KEYS (the gateway's Fernet keys) to encrypt the App"
        )
    box = SecretBox(keys)
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
