"""`paid up` starts the notifier too, and the gateway serves its channels API: the two share a fresh
internal token and the gateway points at the notifier's port. The platform is built but not started
(the notifier's own start and delivery are tested in services/notifier/tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paid_devstack.platform import PaidPlatform
from paid_gateway.config import GatewaySettings
from paid_notifier.config import NotifierSettings

from .test_paid_up_temporal import configured_by


def test_paid_up_runs_the_notifier_behind_the_gateways_channels_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configured_by(["--home", str(tmp_path / "home")], monkeypatch)
    platform = PaidPlatform(config)
    gateway = platform._spec("gateway").env
    notifier = platform._spec("notifier").env

    assert "notifier" in config.services
    assert gateway["PAID_GATEWAY_NOTIFIER_API_URL"] == platform.url("notifier")
    assert gateway["PAID_GATEWAY_NOTIFIER_API_TOKEN"] == notifier["PAID_NOTIFIER_API_TOKEN"]
    assert notifier["PAID_NOTIFIER_HTTP_PORT"] == str(platform.http_ports["notifier"])
    for name, value in {**gateway, **notifier}.items():
        monkeypatch.setenv(name, value)
    assert NotifierSettings().api_token == notifier["PAID_NOTIFIER_API_TOKEN"]  # a real secret: accepted
    assert GatewaySettings().notifier_api_url == platform.url("notifier")
