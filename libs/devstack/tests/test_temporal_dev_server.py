"""The development server's settings, from the command line it is started with (not started here)."""

from __future__ import annotations

from pathlib import Path

from paid_devstack.temporal import TemporalDevServer


def dynamic_config(server: TemporalDevServer) -> list[str]:
    argv = server.process.argv
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "--dynamic-config-value"]


def test_activities_on_the_workflows_queue_start_eagerly(tmp_path: Path) -> None:
    assert "system.enableActivityEagerExecution=true" in dynamic_config(TemporalDevServer(tmp_path))


def test_a_caller_may_turn_eager_activities_off_and_add_its_own_values(tmp_path: Path) -> None:
    server = TemporalDevServer(
        tmp_path,
        dynamic_config={"system.enableActivityEagerExecution": False, "limit.maxIDLength": 255},
    )
    assert dynamic_config(server) == [
        "system.enableActivityEagerExecution=false",
        "limit.maxIDLength=255",
    ]
