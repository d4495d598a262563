from __future__ import annotations

import pytest
from pydantic import ValidationError

from paid_gateway.config import GatewaySettings
from paid_runtime.secretbox import generate_key


def test_defaults() -> None:
    settings = GatewaySettings()
    assert settings.http_port == 8100
    assert settings.max_body_bytes == 25 * 1024 * 1024
    assert (settings.build_label, settings.plan_label) == ("paid-build", "paid-plan")
    assert settings.db_schema == "gateway"


def test_secrets_from_the_environment_as_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAID_GATEWAY_WEBHOOK_SECRETS", '["old-secret", "new-secret"]')
    assert GatewaySettings().webhook_secrets == ["old-secret", "new-secret"]
    monkeypatch.setenv("PAID_GATEWAY_WEBHOOK_SECRETS", "old-secret, new-secret")
    assert GatewaySettings().webhook_secrets == ["old-secret", "new-secret"]


@pytest.mark.parametrize("secrets", [[], ["changeme"], ["a-real-secret", "secret"], [""]])
def test_production_refuses_placeholder_or_missing_secrets(secrets: list[str]) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(environment="production", webhook_secrets=secrets)


PRODUCTION = {"admin_token": "a-real-admin-token-of-32-characters", "secrets_keys": [generate_key()]}


def test_production_accepts_real_secrets() -> None:
    settings = GatewaySettings(
        environment="production", webhook_secrets=["s3cr3t-a", "s3cr3t-b"], **PRODUCTION
    )
    assert settings.webhook_secrets == ["s3cr3t-a", "s3cr3t-b"]


@pytest.mark.parametrize("missing", ["admin_token", "secrets_keys"])
def test_production_needs_an_admin_token_and_a_secrets_key(missing: str) -> None:
    with pytest.raises(ValidationError, match=missing):
        GatewaySettings(
            environment="production",
            webhook_secrets=["s3cr3t-a"],
            **{key: value for key, value in PRODUCTION.items() if key != missing},
        )


def test_secrets_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = generate_key(), generate_key()
    monkeypatch.setenv("PAID_GATEWAY_SECRETS_KEYS", f"{new},{old}")
    assert GatewaySettings().secrets_keys == [new, old]
