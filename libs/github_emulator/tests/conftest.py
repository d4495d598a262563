"""Fixtures: a running emulator with one repository and three users, githubkit clients, a receiver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from githubkit import GitHub, TokenAuthStrategy

from paid_github_emulator import GitHubEmulator
from paid_github_emulator.testing import WebhookReceiver
from paid_github_emulator.webhooks import WebhookDispatcher

from .webhook_schema import schema_errors


@pytest.fixture(autouse=True)
def deliveries_match_githubs_schemas(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Every delivery any emulator queues during a test validates against the vendored schemas."""
    sent: list[tuple[str, Any]] = []
    enqueue = WebhookDispatcher.enqueue

    def recording(self: WebhookDispatcher, hook: Any, *, event: str, payload: Any, **rest: Any) -> str:
        sent.append((event, payload))
        return enqueue(self, hook, event=event, payload=payload, **rest)

    monkeypatch.setattr(WebhookDispatcher, "enqueue", recording)
    yield sent
    errors = [error for event, payload in sent for error in schema_errors(event, payload)]
    assert not errors, f"{len(errors)} schema errors in {len(sent)} deliveries:\n" + "\n".join(errors[:30])


@dataclass
class World:
    emu: GitHubEmulator
    owner: str = "octo-org"
    repo: str = "widgets"
    owner_token: str = "ghp_owner"
    bot: str = "paid-bot"
    bot_token: str = "ghs_bot"
    reader: str = "reader"
    reader_token: str = "ghp_reader"
    # githubkit namespaces hold only a weak reference to their client, so the clients are kept here.
    clients: dict[str, GitHub[TokenAuthStrategy]] = field(default_factory=dict)

    def client(self, token: str) -> GitHub[TokenAuthStrategy]:
        if token not in self.clients:
            self.clients[token] = GitHub(TokenAuthStrategy(token), base_url=f"{self.emu.api_url}/")
        return self.clients[token]

    @property
    def owner_gh(self) -> GitHub[TokenAuthStrategy]:
        return self.client(self.owner_token)

    @property
    def bot_gh(self) -> GitHub[TokenAuthStrategy]:
        return self.client(self.bot_token)


@pytest.fixture
def world() -> Iterator[World]:
    with GitHubEmulator() as emu:
        found = World(emu)
        emu.add_user(found.owner, found.owner_token, name="Octo Org")
        emu.add_user(found.bot, found.bot_token)
        emu.add_user(found.reader, found.reader_token)
        emu.create_repository(
            found.owner, found.repo, {"README.md": "# Widgets\n", "src/widgets.py": "X = 1\n"}
        )
        emu.set_permission(found.owner, found.repo, found.bot, "write")
        yield found


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as found:
        yield found
