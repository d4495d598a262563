"""The NATS permissions declared in `paid_contracts.nats_access` are exactly what the services use."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from paid_contracts.nats_access import ACCESS_BY_SERVICE

from .scan import ROOT, _imports_test_support, scan_service, scan_source, undeclared

SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "pyproject.toml").exists())


def test_every_service_has_a_nats_user() -> None:
    assert sorted(ACCESS_BY_SERVICE) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_the_declaration_matches_what_the_service_does(service: str) -> None:
    use = scan_service(service)
    assert use.publishes or use.durables  # the scan saw something: it cannot pass by not looking
    assert undeclared(use, ACCESS_BY_SERVICE[service]) == []


EXECUTOR_PUBLISHING_A_BUILD_REQUEST = """
from paid_contracts import BuildRequested, RunStarted

async def forge(broker, issue):
    await publish_event(broker, BuildRequested(issue=issue))
    await publish_event(broker, RunStarted(issue=issue))
"""


def _executor_use_plus(
    source: str, where: str = "services/executor/src/paid_executor/forged.py"
) -> list[str]:
    use = scan_service("executor")
    use.add(scan_source(source, where))
    return undeclared(use, ACCESS_BY_SERVICE["executor"])


def test_the_check_fails_when_a_service_publishes_an_undeclared_event() -> None:
    assert _executor_use_plus(EXECUTOR_PUBLISHING_A_BUILD_REQUEST) == [
        "publishes paid.github.build_requested"
    ]


def test_the_check_fails_on_a_raw_publish_to_an_undeclared_subject() -> None:
    source = (
        "from paid_contracts import subjects\n"
        "async def f(nc):\n"
        "    await nc.publish(subjects.PLAN_TASK_READY, b'')\n"
    )
    assert _executor_use_plus(source) == ["publishes paid.plan.task_ready"]


def test_the_check_fails_on_an_undeclared_durable_consumer() -> None:
    source = (
        "def register(broker):\n"
        "    subscribe = durable_subscribers(broker, 'executor')\n"
        "    @subscribe('plans', subjects.PLAN_CREATED)\n"
        "    async def on_plan(event): ...\n"
    )
    assert _executor_use_plus(source) == ["consumes paid.plan.created as durable executor-plans"]


def test_the_check_fails_on_a_subject_it_cannot_read() -> None:
    source = "async def f(broker, name):\n    @broker.subscriber(f'paid.{name}')\n    async def on(m): ...\n"
    problems = _executor_use_plus(source, "x.py")
    assert problems[0].startswith("unresolved subject: x.py:2:")


def test_the_check_fails_on_a_grant_nothing_uses() -> None:
    use = scan_service("planner")
    use.publishes.discard("paid.plan.completed")
    use.publishes.discard("paid.plan.created")
    use.publishes.discard("paid.plan.task_ready")
    use.publishes.discard("paid.plan.needs_input")
    assert undeclared(use, ACCESS_BY_SERVICE["planner"]) == ["grants publish paid.plan.>, unused"]


def test_the_check_fails_on_a_raw_subscription() -> None:
    source = "async def spy(connection):\n    await connection.subscribe('paid.github.>')\n"
    assert _executor_use_plus(source) == ["serves paid.github.>"]


def test_a_subject_per_instance_is_read_with_one_token_for_the_instance() -> None:
    use = scan_service("planner")
    use.add(
        scan_source(
            "from paid_contracts import subjects\n"
            "async def ask(connection, home):\n"
            "    await connection.request(f'{subjects.EXECUTOR_ALIVE_PREFIX}.{home}', b'')\n",
            "services/planner/src/paid_planner/forged.py",
        )
    )
    assert undeclared(use, ACCESS_BY_SERVICE["planner"]) == ["requests paid.executor.alive.*"]


def test_a_raw_request_to_a_subject_the_service_also_serves_is_declared_as_a_request() -> None:
    access = ACCESS_BY_SERVICE["executor"]
    without = replace(access, requests=tuple(s for s in access.requests if "alive" not in s))
    assert undeclared(scan_service("executor"), without) == ["requests paid.executor.alive.*"]


def test_a_services_test_support_module_must_not_be_imported_by_the_service() -> None:
    """Its events are not scanned, so the service itself must never use it."""
    found = _imports_test_support(
        ast.parse("from paid_evolution.testing import record_outcome\n"), "paid_evolution"
    )
    assert found
    assert not _imports_test_support(ast.parse("from paid_evolution import repo\n"), "paid_evolution")
    assert _imports_test_support(ast.parse("import paid_evolution.testing\n"), "paid_evolution")
