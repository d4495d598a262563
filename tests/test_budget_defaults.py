"""The gateway shows the executor's per-project budgets on its budgets page; it is told them by its own
settings (a service never imports another). Their defaults must be the same numbers."""

from __future__ import annotations

import pytest

from paid_executor.config import ExecutorSettings
from paid_gateway.config import GatewaySettings

CAPS = (
    "project_daily_max_tokens",
    "project_daily_max_cost_usd",
    "project_monthly_max_tokens",
    "project_monthly_max_cost_usd",
)


@pytest.mark.parametrize("name", CAPS)
def test_the_gateway_shows_the_caps_the_executor_enforces_by_default(name: str) -> None:
    executor = ExecutorSettings.model_fields[name].default
    gateway = GatewaySettings.model_fields[name].default
    assert gateway == executor, (
        f"PAID_GATEWAY_{name.upper()} defaults to {gateway}, the executor's to {executor}"
    )
