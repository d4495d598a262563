"""Entry point: `paid-executor`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import timedelta
from pathlib import Path

from temporalio.service import RPCError

from paid_executor import commands, project_agents, project_budgets, subscribers
from paid_executor.activities.deps import make_deps
from paid_executor.agents.process import watch_children_with_pidfds
from paid_executor.config import ExecutorSettings
from paid_executor.cost_rollup import ensure_cost_rollup
from paid_executor.worker import make_worker
from paid_executor.workspace_sweeper import sweep_once, sweep_periodically
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.host import ServiceHost
from paid_runtime.http import health_app, make_server
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker
from paid_runtime.readiness import database_ready, nats_ready, temporal_ready
from paid_runtime.telemetry import instrument_http_clients, setup_tracing
from paid_runtime.temporal import connect_service_temporal
from paid_runtime.temporal_access import refusal_exits_at_once, temporal_access

SERVICE = "executor"
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: ExecutorSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    if settings.child_watcher == "pidfd":
        watch_children_with_pidfds()
    access = temporal_access(settings, SERVICE)  # a bad certificate or key stops here, in one line
    setup_tracing(SERVICE, settings.otlp_endpoint)
    instrument_http_clients()
    client = await connect_service_temporal(access, SERVICE)  # refused: exits before the database
    engine = make_engine(settings.database_url)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    broker = make_broker(
        settings.nats_url,
        SERVICE,
        user=settings.nats_user,
        password=settings.nats_password,
        replicas=settings.nats_replicas,
    )
    subscribers.register(broker, client, settings, engine)
    commands.register(broker, client)
    project_budgets.register(broker, engine, settings)
    project_agents.register(broker, engine)
    if settings.sandbox == "docker":
        await asyncio.to_thread(reap_sandbox_containers)
    # Worktrees a dead worker on this host left: removed before taking work, then every few minutes.
    await asyncio.to_thread(sweep_once, settings.workspace_root)
    if settings.sandbox in ("none", "local"):  # production refuses it when the settings load
        log.warning(
            "PAID_EXECUTOR_SANDBOX=%s: agents run as plain processes with this worker's access to files, "
            "network and processes. For development only.",
            settings.sandbox,
        )
    deps = make_deps(settings, broker, session_factory(engine))
    worker = make_worker(client, deps)
    if settings.cost_rollup_every_hours:
        every = timedelta(hours=settings.cost_rollup_every_hours)
        try:
            ensured = await ensure_cost_rollup(client, task_queue=settings.task_queue, every=every)
            log.info("the daily cost roll-up's schedule: %s", ensured)
        except RPCError as error:  # runs matter more than a roll-up; the next start tries again
            log.error("could not create or update the cost roll-up's schedule: %s", error)
    checks = {
        "nats": nats_ready(broker),
        "database": database_ready(engine),
        "temporal": temporal_ready(client),
    }
    http = make_server(health_app(SERVICE, checks), settings.http_host, settings.http_port)
    host = ServiceHost(SERVICE)
    host.on_stop(engine.dispose)
    if settings.workspace_sweep_every_minutes:
        sweeper = asyncio.create_task(
            sweep_periodically(settings.workspace_root, settings.workspace_sweep_every_minutes * 60),
            name="workspace-sweeper",
        )
        host.on_stop(functools.partial(stop_task, sweeper))
    await host.run(http=http, broker=broker, worker=worker)


def reap_sandbox_containers() -> None:
    """Containers a killed worker on this host left running: removed before taking new work."""
    # Imported here: a worker without the docker sandbox does not carry the Docker SDK in its memory.
    import docker
    from docker.errors import DockerException

    from paid_executor.sandbox.docker import reap_orphans

    try:
        removed = reap_orphans(docker.from_env())
    except DockerException as error:
        log.warning("could not look for orphaned sandbox containers: %s", error)
        return
    if removed:
        log.info("removed %d orphaned sandbox container(s): %s", len(removed), ", ".join(removed))


async def stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main() -> None:
    with refusal_exits_at_once():
        asyncio.run(serve(ExecutorSettings()))
