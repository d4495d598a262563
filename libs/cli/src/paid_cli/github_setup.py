"""`paid github setup`: GitHub's App manifest flow, run from a page served on this machine.

1. The page's form posts a manifest (name, webhook URL, permissions, events) to GitHub's
   `/settings/apps/new?state=…` (or the organization's); `state` is a random value of this run.
2. GitHub sends the browser back to this server's `/callback?code=…&state=…`; a wrong `state` is
   refused (no exchange), a right one is exchanged at once through
   `POST /app-manifests/{code}/conversions` for the App id, PEM, webhook secret and client secret.
3. Those are stored encrypted (Fernet, the gateway's `secrets_keys`) in a file only the user can read.
"""

from __future__ import annotations

import hmac
import html
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from paid_runtime.secretbox import SecretBox

PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"}
EVENTS = ["issues", "issue_comment", "pull_request", "pull_request_review", "push", "check_run"]
SECRET_FIELDS = ("pem", "webhook_secret", "client_secret")


class SetupError(Exception):
    pass


@dataclass(frozen=True)
class AppCredentials:
    app_id: int
    slug: str
    client_id: str
    html_url: str
    pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    client_secret: str = field(repr=False)


def app_manifest(name: str, *, url: str, redirect_url: str, webhook_url: str | None) -> dict[str, Any]:
    """Poll-only installs (no public endpoint) get an inactive hook and no events."""
    return {
        "name": name,
        "url": url,
        "redirect_url": redirect_url,
        "public": False,
        "hook_attributes": {"url": webhook_url or url, "active": webhook_url is not None},
        "default_permissions": PERMISSIONS,
        "default_events": EVENTS if webhook_url else [],
    }


class ManifestFlow:
    def __init__(
        self,
        github_url: str,
        api_url: str,
        *,
        name: str,
        webhook_url: str | None,
        organization: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state = secrets.token_urlsafe(24)
        self._api_url = api_url.rstrip("/")
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self.url = f"http://{host}:{self._server.server_address[1]}/"
        base = github_url.rstrip("/")
        path = f"/organizations/{organization}/settings/apps/new" if organization else "/settings/apps/new"
        self.form_action = f"{base}{path}?state={self.state}"
        self.manifest = app_manifest(
            name, url=self.url, redirect_url=f"{self.url}callback", webhook_url=webhook_url
        )
        self._done = threading.Event()
        self._result: AppCredentials | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._server.serve_forever, name="github-setup", daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> AppCredentials:
        if not self._done.wait(timeout):
            raise SetupError("no answer from GitHub in time: open the page and create the App")
        if self._result is None:
            raise SetupError(self._error or "the App was not created")
        return self._result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self) -> str:
        manifest = html.escape(json.dumps(self.manifest), quote=True)
        action = html.escape(self.form_action, quote=True)
        return (
            "<!doctype html><title>Create Paid's GitHub App</title>"
            f'<form id="create" method="post" action="{action}">'
            f'<input type="hidden" name="manifest" value="{manifest}">'
            '<button type="submit">Create the GitHub App</button></form>'
        )

    def callback(self, query: str) -> tuple[int, str]:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if not hmac.compare_digest(params.get("state", ""), self.state):
            return 400, "This answer is not for this setup (state mismatch): nothing was exchanged."
        code = params.get("code", "")
        if not code.isalnum():
            return 400, "GitHub sent no usable code."
        try:
            self._result = self._exchange(code)
        except SetupError as error:
            self._error = str(error)
            self._done.set()
            return 502, str(error)
        self._done.set()
        return 200, f"The App {self._result.slug} was created. Back to the terminal for the next steps."

    def _exchange(self, code: str) -> AppCredentials:
        try:
            response = httpx.post(f"{self._api_url}/app-manifests/{code}/conversions", timeout=30)
        except httpx.HTTPError as exc:
            raise SetupError(f"GitHub is unreachable: {type(exc).__name__}") from None
        if response.status_code != 201:
            raise SetupError(f"GitHub refused the code ({response.status_code}): it expired or was used")
        body = response.json()
        return AppCredentials(
            app_id=int(body["id"]),
            slug=str(body["slug"]),
            client_id=str(body["client_id"]),
            html_url=str(body["html_url"]),
            pem=str(body["pem"]),
            webhook_secret=str(body.get("webhook_secret") or ""),
            client_secret=str(body["client_secret"]),
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/":
                    status, text = 200, flow.page()
                elif parts.path == "/callback":
                    status, text = flow.callback(parts.query)
                    text = f"<!doctype html><p>{html.escape(text)}</p>"
                else:
                    status, text = 404, "not found"
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the query string holds the one-time code."""

        return Handler


def store_encrypted(credentials: AppCredentials, path: Path, box: SecretBox) -> None:
    """The secrets as Fernet ciphertexts, the file readable by its owner only."""
    record = asdict(credentials)
    for name in SECRET_FIELDS:
        record[f"{name}_ciphertext"] = box.encrypt(record.pop(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(record, file, indent=2)


def load_encrypted(path: Path, box: SecretBox) -> AppCredentials:
    record = json.loads(path.read_text())
    for name in SECRET_FIELDS:
        record[name] = box.decrypt(record.pop(f"{name}_ciphertext"))
    return AppCredentials(**record)


def export_for_gateway(credentials: AppCredentials, directory: Path) -> list[Path]:
    """The three values the gateway needs, one file each, in a new directory only the user can read."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=False)
    files = {
        "app-id": str(credentials.app_id),
        "private-key.pem": credentials.pem,
        "webhook-secret": credentials.webhook_secret,
    }
    for name, value in files.items():
        descriptor = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(value)
    return [directory / name for name in files]


def next_steps(credentials: AppCredentials, path: Path) -> str:
    return "\n".join(
        [
            f"GitHub App {credentials.slug} (id {credentials.app_id}) created; its secrets are in {path}.",
            f"1. Install it on your repositories: {credentials.html_url}/installations/new",
            "2. Give the gateway (only the gateway) the App:",
            f"   PAID_GATEWAY_GITHUB_APP_ID={credentials.app_id}",
            "   PAID_GATEWAY_GITHUB_APP_PRIVATE_KEY, PAID_GATEWAY_GITHUB_APP_WEBHOOK_SECRET: decrypted by",
            f"   `paid github export DIR --input {path}` (with the same PAID_GATEWAY_SECRETS_KEYS)",
            "3. Each installed repository is registered as a project when GitHub announces the installation.",
        ]
    )
