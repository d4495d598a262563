"""GitHub App deliveries: the secret is chosen by X-GitHub-Hook-Installation-Target-Type/-ID."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from paid_gateway.config import GatewaySettings

from .test_webhooks import WEBHOOK, headers_for, labeled_body

APP_ID = "4242"
APP_SECRET = "the-apps-own-webhook-secret"


@pytest.fixture
def settings(settings: GatewaySettings) -> GatewaySettings:
    return settings.model_copy(update={"github_app_id": APP_ID, "github_app_webhook_secret": APP_SECRET})


def app_headers(body: bytes, *, secret: str, target_id: str = APP_ID, event: str = "ping") -> dict[str, str]:
    return headers_for(body, secret=secret, event=event) | {
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": target_id,
    }


PING = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()


async def test_a_delivery_for_our_app_signed_with_its_secret_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(WEBHOOK, content=PING, headers=app_headers(PING, secret=APP_SECRET))
    assert response.status_code == 200
    assert response.json() == {"pong": True}


async def test_a_labeling_through_the_app_is_accepted(client: httpx.AsyncClient, github_fixture: Any) -> None:
    body = labeled_body(github_fixture, "documentation")
    response = await client.post(
        WEBHOOK, content=body, headers=app_headers(body, secret=APP_SECRET, event="issues")
    )
    assert response.status_code == 202
    assert response.json()["accepted"] is False  # not a trigger label: authenticated, then ignored


@pytest.mark.parametrize(
    ("case", "secret", "target_id"),
    [
        ("another App's target, our secret", APP_SECRET, "9999"),
        ("our target, another App's secret", "some-other-apps-secret", APP_ID),
        ("our target, a global secret", "global", APP_ID),
        ("no target id", APP_SECRET, ""),
    ],
)
async def test_a_delivery_signed_for_another_app_target_is_refused(
    client: httpx.AsyncClient, settings: GatewaySettings, case: str, secret: str, target_id: str
) -> None:
    secret = settings.webhook_secrets[0] if secret == "global" else secret
    response = await client.post(
        WEBHOOK, content=PING, headers=app_headers(PING, secret=secret, target_id=target_id)
    )
    assert response.status_code == 401, case


async def test_repository_hook_deliveries_still_use_the_global_and_project_secrets(
    client: httpx.AsyncClient, settings: GatewaySettings
) -> None:
    signed_by_app = headers_for(PING, secret=APP_SECRET, event="ping")
    assert (await client.post(WEBHOOK, content=PING, headers=signed_by_app)).status_code == 401
    signed_globally = headers_for(PING, secret=settings.webhook_secrets[0], event="ping")
    assert (await client.post(WEBHOOK, content=PING, headers=signed_globally)).status_code == 200
