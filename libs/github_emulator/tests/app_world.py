"""An App installed on one of two repositories of its owner, with githubkit clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy

from paid_github_emulator import GitHubEmulator
from paid_github_emulator.apps import App, Installation
from paid_github_emulator.testing import WebhookReceiver

RUN_PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"}


@dataclass
class AppWorld:
    emu: GitHubEmulator
    app: App
    pem: str
    installation: Installation
    receiver: WebhookReceiver
    owner: str = "octo-org"
    clients: list[Any] = field(default_factory=list)

    @property
    def app_gh(self) -> GitHub[AppAuthStrategy]:
        # githubkit caches JWTs by App id across clients; each emulator's App has a new key.
        client = GitHub(
            AppAuthStrategy(self.app.id, self.pem),
            base_url=f"{self.emu.api_url}/",
            cache_strategy=MemCacheStrategy(),
        )
        self.clients.append(client)
        return client

    def token_gh(self, token: str) -> GitHub[TokenAuthStrategy]:
        client = GitHub(TokenAuthStrategy(token), base_url=f"{self.emu.api_url}/")
        self.clients.append(client)
        return client

    def jwt(self, *, issued: int | None = None, lifetime: int = 540, key: str | None = None) -> str:
        issued = int(time.time()) - 30 if issued is None else issued
        claims = {"iat": issued, "exp": issued + lifetime, "iss": str(self.app.id)}
        return jwt.encode(claims, key or self.pem, algorithm="RS256")

    def mint(self, repositories: list[str] | None = None, permissions: dict[str, str] | None = None) -> str:
        body: dict[str, Any] = {}
        if repositories is not None:
            body["repositories"] = repositories
        if permissions is not None:
            body["permissions"] = permissions
        extra: dict[str, Any] = {"data": body} if body else {}
        response = self.app_gh.rest.apps.create_installation_access_token(self.installation.id, **extra)
        return response.parsed_data.token


@pytest.fixture
def app_world() -> Iterator[AppWorld]:
    with GitHubEmulator() as emu, WebhookReceiver() as receiver:
        emu.add_user("octo-org", "ghp_owner")
        emu.add_user("other-org", "ghp_other")
        for name in ("alpha", "beta"):
            emu.create_repository("octo-org", name, {"README.md": f"# {name}\n"}, private=True)
        emu.create_repository("other-org", "gamma", {"README.md": "# gamma\n"}, private=True)
        app, pem = emu.create_app(
            "octo-org",
            "Paid",
            webhook_url=receiver.url,
            webhook_secret="app-secret",
            permissions=RUN_PERMISSIONS | {"workflows": "write"},
            events=["issues", "push"],
        )
        installation = emu.install_app(app.id, "octo-org", ["alpha", "beta"])
        yield AppWorld(emu, app, pem, installation, receiver)
