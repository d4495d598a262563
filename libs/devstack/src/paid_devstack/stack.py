"""Temporal, NATS and PostgreSQL together: each started locally or given by URL."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from paid_devstack.database_credentials import DatabaseCredentials
from paid_devstack.endpoints import ENDPOINTS_FILE, InfraEndpoints, default_home
from paid_devstack.nats import NatsServer
from paid_devstack.nats_cluster import NatsCluster
from paid_devstack.nats_credentials import NatsCredentials
from paid_devstack.postgres import EmbeddedPostgres, libpq_url, sqlalchemy_async_url
from paid_devstack.server import LocalServer
from paid_devstack.temporal import TemporalDevServer
from paid_runtime.database_roles import provision_roles
from paid_runtime.messaging import provision_streams

log = logging.getLogger("paid_devstack")


@dataclass(frozen=True)
class StackPorts:
    """Ports for the locally started servers; None picks a free one."""

    temporal: int | None = None
    temporal_ui: int | None = None
    nats: int | None = None
    nats_monitor: int | None = None
    postgres: int | None = None

    @classmethod
    def well_known(cls) -> StackPorts:
        """The defaults of each product, which `ServiceSettings` also assumes."""
        return cls(temporal=7233, temporal_ui=8233, nats=4222, nats_monitor=8222, postgres=5432)


class InfraStack:
    """Starts what is not given by URL, in parallel, under `data_dir/{temporal,nats,postgres}`.

    `stop()` stops in reverse order of start. Data persists across runs in the same `data_dir`.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        temporal_target: str | None = None,
        temporal_ui_url: str | None = None,
        nats_url: str | None = None,
        database_url: str | None = None,
        ports: StackPorts | None = None,
        nats_sync_always: bool = True,
        nats_admin_url: str | None = None,
        nats_nodes: int = 1,
        nats_replicas: int = 1,
    ) -> None:
        """`nats_admin_url` provisions the streams of a NATS given by URL (default: `nats_url` itself);
        a NATS started here gets a user per service (`nats_credentials`) and its admin provisions them.
        `nats_nodes` > 1 starts a local JetStream cluster of that many nodes instead of one server (the
        ports of `ports` are then unused); each stream is kept on `nats_replicas` of them."""
        self.data_dir = Path(data_dir) if data_dir else default_home()
        ports = ports or StackPorts()
        self._temporal_target = temporal_target
        self._temporal_ui_url = temporal_ui_url
        self._nats_url = nats_url
        self._nats_admin_url = nats_admin_url or nats_url
        self.nats_credentials = None if nats_url else NatsCredentials.generate()
        self.database_credentials = DatabaseCredentials.generate()
        """Each service's role (`paid_runtime.database_roles`), created at start with the superuser's URL."""
        self._database_url = libpq_url(database_url) if database_url else None
        self.temporal = (
            None
            if temporal_target
            else TemporalDevServer(self.data_dir / "temporal", ports.temporal, ports.temporal_ui)
        )
        self.nats_replicas = nats_replicas
        self.nats_cluster = (
            NatsCluster(
                self.data_dir / "nats-cluster",
                nats_nodes,
                credentials=self.nats_credentials,
                sync_always=nats_sync_always,
            )
            if nats_nodes > 1 and not nats_url
            else None
        )
        self.nats = (
            None
            if nats_url or self.nats_cluster
            else NatsServer(
                self.data_dir / "nats",
                ports.nats,
                ports.nats_monitor,
                sync_always=nats_sync_always,
                credentials=self.nats_credentials,
            )
        )
        self.postgres = (
            None
            if database_url
            else EmbeddedPostgres(self.data_dir / "postgres", ports.postgres, check_passwords=True)
        )
        self.startup_seconds: dict[str, float] = {}

    @classmethod
    def from_env(cls, data_dir: Path | None = None, *, ports: StackPorts | None = None) -> InfraStack:
        """External servers from PAID_TEMPORAL_TARGET, PAID_NATS_URL (provisioned through
        PAID_NATS_ADMIN_URL, default the same), PAID_DATABASE_URL when set; PAID_NATS_NODES=3 starts a
        local JetStream cluster, PAID_NATS_REPLICAS its streams' replica count."""
        return cls(
            data_dir,
            temporal_target=os.environ.get("PAID_TEMPORAL_TARGET") or None,
            temporal_ui_url=os.environ.get("PAID_TEMPORAL_UI_URL") or None,
            nats_url=os.environ.get("PAID_NATS_URL") or None,
            nats_admin_url=os.environ.get("PAID_NATS_ADMIN_URL") or None,
            database_url=os.environ.get("PAID_DATABASE_URL") or None,
            ports=ports,
            nats_nodes=int(os.environ.get("PAID_NATS_NODES") or 1),
            nats_replicas=int(os.environ.get("PAID_NATS_REPLICAS") or 1),
        )

    @property
    def servers(self) -> list[LocalServer]:
        """The locally started servers, in start order."""
        nats_nodes = self.nats_cluster.nodes if self.nats_cluster else [self.nats]
        return [server for server in (self.temporal, *nats_nodes, self.postgres) if server is not None]

    @property
    def temporal_target(self) -> str:
        return self.temporal.target if self.temporal else _given(self._temporal_target)

    @property
    def temporal_ui_url(self) -> str | None:
        return self.temporal.ui_url if self.temporal else self._temporal_ui_url

    @property
    def nats_url(self) -> str:
        """A cluster's seeds, comma-separated, when one was started here."""
        if self.nats_cluster:
            return self.nats_cluster.url
        return self.nats.url if self.nats else _given(self._nats_url)

    @property
    def nats_admin_url(self) -> str:
        """`nats_url` as the provisioning user, which may do anything: for tools and tests only."""
        if self.nats_cluster:
            return self.nats_cluster.admin_url
        return self.nats.admin_url if self.nats else _given(self._nats_admin_url)

    @property
    def database_url(self) -> str:
        """libpq form: postgresql://user@host:port/db."""
        return self.postgres.url if self.postgres else _given(self._database_url)

    def service_database_url(self, service: str) -> str:
        """SQLAlchemy form, as the service's own role: it owns its schema and reaches no other."""
        return sqlalchemy_async_url(self.database_credentials.url_for(service, self.database_url))

    @property
    def endpoints(self) -> InfraEndpoints:
        return InfraEndpoints(self.temporal_target, self.temporal_ui_url, self.nats_url, self.database_url)

    @property
    def sqlalchemy_url(self) -> str:
        return self.endpoints.sqlalchemy_url

    def start(self, timeout: float = 60.0) -> None:
        """Start every local server at once and return when all answer; on failure stop them all."""
        began = time.monotonic()
        servers = self.servers
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=max(len(servers), 1), thread_name_prefix="devstack") as pool:
            futures = [pool.submit(self._start_timed, server, timeout) for server in servers]
            errors = [error for future in futures if (error := future.exception()) is not None]
            if not errors and (failed := pool.submit(self._provision).exception()) is not None:
                errors = [failed]
        if errors:
            self.stop()
            raise errors[0]
        self.startup_seconds["total"] = time.monotonic() - began
        self.endpoints.save(self.data_dir)
        log.info("infrastructure ready in %.2fs: %s", self.startup_seconds["total"], self.startup_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        (self.data_dir / ENDPOINTS_FILE).unlink(missing_ok=True)
        for server in reversed(self.servers):
            try:
                server.stop(timeout)
            except Exception:
                log.exception("stopping %s failed", server.process.name)

    def _provision(self) -> None:
        """In a thread of its own, so that `start` also works under a running event loop."""
        if self.nats_cluster:
            self.nats_cluster.wait_formed()
        asyncio.run(provision_streams(self.nats_admin_url, replicas=self.nats_replicas))
        asyncio.run(provision_roles(self.database_url, self.database_credentials.passwords))

    def _start_timed(self, server: LocalServer, timeout: float) -> None:
        began = time.monotonic()
        server.start(timeout)
        self.startup_seconds[server.process.name] = time.monotonic() - began

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _given(url: str | None) -> str:
    if url is None:
        raise RuntimeError("neither started locally nor given by URL")
    return url
