"""Where the CLI finds the gateway and its token when no option or variable names them: the file `paid up`
and `paid token rotate` write, `$XDG_CONFIG_HOME/paid/credentials.json` (default `~/.config`), mode 0600.

The saved token goes only to the saved address: `--url` naming another gateway gets no token from the file,
so a mistyped or hostile address never receives the admin token."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

FALLBACK_URL = "http://127.0.0.1:8100"


class CredentialsError(Exception):
    pass


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str = field(repr=False)
    token_id: str | None = None
    """The stored token's id, so that rotating it can revoke it; None for a token the API cannot revoke."""


def credentials_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or ""
    # The XDG spec ignores a relative XDG_CONFIG_HOME: it would put the token wherever the CLI runs.
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "paid" / "credentials.json"


def save(credentials: Credentials, path: Path | None = None) -> Path:
    """Written beside the old file and renamed over it, so a reader sees the old token or the new one."""
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # O_CREAT's mode does not apply to a file left by a crashed writer
        with os.fdopen(descriptor, "w") as file:
            json.dump(asdict(credentials), file, indent=2)
            file.write("\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def load(path: Path | None = None) -> Credentials | None:
    path = path or credentials_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(f"{path} is readable by others (mode {stat.filemode(mode)}): chmod 600 {path}")
    try:
        data = json.loads(path.read_text())
        return Credentials(url=str(data["url"]), token=str(data["token"]), token_id=data.get("token_id"))
    except (ValueError, KeyError, TypeError) as error:
        raise CredentialsError(f"{path} is not a Paid credentials file ({error!r}); remove it") from None


def resolve(url: str | None, token: str | None) -> tuple[str, str | None]:
    """The options and variables win; the file fills what they leave out, for its own gateway only."""
    if url is not None and token is not None:
        return url, token
    saved = load()
    if saved is None:
        return url or FALLBACK_URL, token
    if url is None:
        return saved.url, token if token is not None else saved.token
    return url, token if token is not None or _normal(url) != _normal(saved.url) else saved.token


def _normal(url: str) -> str:
    return url.rstrip("/").lower()
