from __future__ import annotations

import pytest
from pydantic import ValidationError

from paid_poller.config import PollerSettings


def test_defaults() -> None:
    settings = PollerSettings()
    assert (settings.http_port, settings.task_queue, settings.db_schema) == (8101, "paid-poller", "poller")
    assert settings.repositories == []


def test_repositories_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAID_POLLER_REPOSITORIES", "octo-org/widgets, octo-org/gadgets")
    assert PollerSettings().repositories == ["octo-org/widgets", "octo-org/gadgets"]


@pytest.mark.parametrize("bad", ["widgets", "octo-org/", "/widgets", "a/b/c"])
def test_a_repository_must_be_owner_slash_name(bad: str) -> None:
    with pytest.raises(ValidationError):
        PollerSettings(repositories=[bad])


def test_production_needs_a_real_github_token() -> None:
    with pytest.raises(ValidationError):
        PollerSettings(environment="production", github_token="")
