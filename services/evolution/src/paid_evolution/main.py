"""Entry point: `paid-evolution`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from paid_evolution import api, registry, subscribers
from paid_evolution.activities import EvolutionDeps
from paid_evolution.config import EvolutionSettings
from paid_evolution.llm_mutation import LlmMutationGenerator
from paid_evolution.mutation import MutationGenerator, NoMutations
from paid_evolution.params import SweepInput
from paid_evolution.worker import ensure_schedule, make_worker
from paid_llm import make_client
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.host import host_service
from paid_runtime.http import health_app
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker
from paid_runtime.readiness import dependency_checks
from paid_runtime.telemetry import setup_tracing
from paid_runtime.temporal import connect_service_temporal
from paid_runtime.temporal_access import refusal_exits_at_once, temporal_access

SERVICE = "evolution"
MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: EvolutionSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    access = temporal_access(settings, SERVICE)  # a bad certificate or key stops here, in one line
    setup_tracing(SERVICE, settings.otlp_endpoint)
    client = await connect_service_temporal(access, SERVICE)  # refused: exits before the database
    engine = make_engine(settings.database_url)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    sessions = session_factory(engine)
    async with sessions() as session:
        await registry.seed_defaults(session)
    broker = make_broker(
        settings.nats_url,
        SERVICE,
        user=settings.nats_user,
        password=settings.nats_password,
        replicas=settings.nats_replicas,
    )
    subscribers.register(broker, sessions)
    deps = EvolutionDeps(
        sessions=sessions,
        broker=broker,
        generator=mutation_generator(settings),
        client=client,
        task_queue=settings.task_queue,
    )
    worker = make_worker(client, deps)
    await ensure_schedule(
        client,
        task_queue=settings.task_queue,
        every=timedelta(hours=settings.sweep_every_hours),
        sweep=SweepInput(),
    )
    checks = dependency_checks(broker, engine, client)
    app = api.mount(
        health_app(SERVICE, checks),
        sessions,
        token=settings.api_token,
        broker=broker,
        temporal=client,
        task_queue=settings.task_queue,
    )
    listen = (settings.http_host, settings.http_port)
    await host_service(SERVICE, app, listen=listen, engine=engine, broker=broker, worker=worker)


def mutation_generator(settings: EvolutionSettings) -> MutationGenerator:
    if settings.mutation_generator == "llm":
        return LlmMutationGenerator(make_client(settings.llm()))
    return NoMutations()


def main() -> None:
    with refusal_exits_at_once():
        asyncio.run(serve(EvolutionSettings()))
