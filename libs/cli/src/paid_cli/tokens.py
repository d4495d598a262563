"""The admin token `paid up` hands to the CLI, and `paid token rotate`.

The token handed out is a stored one, made through the API, so that it can be revoked; the gateway's
bootstrap token (PAID_GATEWAY_ADMIN_TOKEN, fresh at each `paid up`) stays inside the processes `paid up`
started."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from paid_cli import credentials
from paid_cli.client import EXIT_USAGE, ApiError, GatewayClient
from paid_cli.credentials import Credentials

HANDED_OUT_NAME = "paid-cli"
err = Console(stderr=True)


def _new_admin_token(url: str, token: str) -> Credentials:
    created = GatewayClient(url, token).call(
        "POST", "/api/tokens", json={"name": HANDED_OUT_NAME, "role": "admin"}
    )
    return Credentials(url=url, token=created["token"], token_id=created["token_id"])


def _revoke(url: str, token: str, token_id: str) -> bool:
    """False when this gateway has no such token (it was another installation's)."""
    try:
        GatewayClient(url, token).call("DELETE", f"/api/tokens/{token_id}")
    except ApiError as error:
        if error.status == 404:
            return False
        raise
    return True


def hand_off(url: str, bootstrap_token: str, path: Path | None = None) -> tuple[Path, Credentials]:
    """A new admin token in the credentials file; an earlier `paid up`'s token is revoked."""
    path = path or credentials.credentials_path()
    try:
        previous = credentials.load(path)
    except credentials.CredentialsError as error:
        err.print(f"[yellow]replacing {path}:[/yellow] {error}")
        previous = None
    handed = _new_admin_token(url, bootstrap_token)
    credentials.save(handed, path)
    if previous is not None and previous.token_id is not None:
        _revoke(url, bootstrap_token, previous.token_id)
    return path, handed


def rotate() -> None:
    """Replaces the saved admin token with a new one and revokes the old one."""
    path = credentials.credentials_path()
    try:
        saved = credentials.load(path)
    except credentials.CredentialsError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from None
    if saved is None:
        err.print(f"[red]error:[/red] no saved token at {path}: `paid up` writes it")
        raise typer.Exit(EXIT_USAGE)
    try:
        fresh = _new_admin_token(saved.url, saved.token)
        # Saved before the old one is revoked: whatever fails next, the file holds a working token.
        credentials.save(fresh, path)
        if saved.token_id is None:
            err.print("the old token was not made through the API: it stays valid until its gateway drops it")
        elif _revoke(fresh.url, fresh.token, saved.token_id):
            err.print(f"revoked the old token {saved.token_id}")
        else:
            err.print(f"the old token {saved.token_id} was already gone")
    except ApiError as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(error.exit_code) from None
    err.print(f"new admin token {fresh.token_id}, saved in {path} (mode 0600):")
    sys.stdout.write(fresh.token + "\n")
