"""The worker's heartbeat interval comes from the settings: a cancelled run's agent is killed within
about that long, and each heartbeat is a request Temporal persists (bench/throughput.py counts them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from pydantic import ValidationError

from paid_executor.activities.deps import ExecutorDeps
from paid_executor.config import ExecutorSettings
from paid_executor.worker import worker_options


def options(**settings: Any) -> dict[str, Any]:
    deps = ExecutorDeps(ExecutorSettings(github_token="ghp_unused", **settings), *cast(list[Any], [None] * 4))
    return worker_options(deps)


def test_heartbeats_reach_the_server_once_a_second_unless_set_otherwise() -> None:
    assert options()["max_heartbeat_throttle_interval"] == timedelta(seconds=1)
    chosen = options(heartbeat_interval_seconds=3)
    assert chosen["max_heartbeat_throttle_interval"] == timedelta(seconds=3)
    assert chosen["default_heartbeat_throttle_interval"] == timedelta(seconds=3)


@pytest.mark.parametrize("seconds", [0, -1, 31])
def test_an_interval_that_would_lose_cancellation_or_liveness_is_refused(seconds: float) -> None:
    with pytest.raises(ValidationError, match="heartbeat_interval_seconds"):
        options(heartbeat_interval_seconds=seconds)
