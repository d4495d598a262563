"""NATS server with JetStream on a file store.

Sync policy: nats-server acknowledges a JetStream publish once the message is written to the
OS page cache and, by default, fsyncs only every two minutes (`sync_interval`). Jepsen's 2025
analysis of JetStream showed that acknowledged writes can then be lost when a machine crashes or
loses power. Paid's events start paid-for work, so `sync_always=True` (the default) writes a config
file with `jetstream { sync_interval: always }`, which fsyncs every write before the ack, at some
cost in publish latency. `/jsz?config=1` on the monitor port reports `sync_always: true`.

Authentication: given `credentials`, the config also carries one user per service with the permissions
declared in `paid_contracts.nats_access` (deny by default; no anonymous connections). The config file is
readable by its owner only, since it holds the passwords.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from paid_contracts.nats_access import render_authorization
from paid_devstack.binaries import nats_server_binary
from paid_devstack.nats_credentials import NatsCredentials
from paid_devstack.ports import LOOPBACK, free_port
from paid_devstack.processes import ManagedProcess, wait_http_ok
from paid_devstack.server import LocalServer
from paid_runtime.messaging import provision_streams


@dataclass(frozen=True)
class ClusterMembership:
    """One node of a JetStream cluster: its name, its route port, and every node's route URL."""

    server_name: str
    port: int
    routes: tuple[str, ...]
    cluster_name: str = "paid"


class NatsServer(LocalServer):
    """Clients on `url`; monitoring on `monitor_url`; streams stored in `data_dir/jetstream`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        monitor_port: int | None = None,
        *,
        sync_always: bool = True,
        credentials: NatsCredentials | None = None,
        binary: Path | None = None,
        cluster: ClusterMembership | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.credentials = credentials
        self.port = port or free_port()
        self.monitor_port = monitor_port or free_port()
        self.sync_always = sync_always
        self.config_path = self.data_dir / "nats.conf"
        argv: list[str | Path] = [binary or nats_server_binary()]
        if sync_always or credentials is not None:
            argv += ["--config", self.config_path]
        argv += [
            "--jetstream",
            "--store_dir", self.data_dir,  # nats-server appends "jetstream" to it
            "--addr", LOOPBACK,
            "--port", str(self.port),
            "--http_port", str(self.monitor_port),
        ]  # fmt: skip
        self.cluster = cluster
        if cluster is not None:
            argv += [
                "--server_name", cluster.server_name,
                "--cluster_name", cluster.cluster_name,
                "--cluster", f"nats://{LOOPBACK}:{cluster.port}",
                "--routes", ",".join(cluster.routes),
            ]  # fmt: skip
        self.process = ManagedProcess(
            cluster.server_name if cluster else "nats",
            argv,
            log_path=self.data_dir / "nats.log",
            pid_file=self.data_dir / "nats.pid",
            cwd=self.data_dir,
        )

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    @property
    def admin_url(self) -> str:
        """`url` with the provisioning user's credentials, for tools and tests (not for services)."""
        return self.credentials.admin_url(self.url) if self.credentials else self.url

    def reload(self, credentials: NatsCredentials) -> None:
        """Rewrites the users and has nats-server reload them (SIGHUP): connections of a login that is
        still listed carry on; those of a removed login are closed. The reload is asynchronous."""
        self.credentials = credentials
        self._prepare()
        if self.process.pid is None:
            raise RuntimeError("nats-server is not running")
        os.kill(self.process.pid, signal.SIGHUP)

    def provision_streams(self, replicas: int = 1) -> None:
        """Paid's streams, as the provisioning user (services wait for them, never create them). In a
        thread of its own, so that it also works under a running event loop."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, provision_streams(self.admin_url, replicas=replicas)).result()

    @property
    def monitor_url(self) -> str:
        return f"http://{LOOPBACK}:{self.monitor_port}"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "jetstream"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # store_dir stays on the command line: nats-server rejects it in both places.
        config = "jetstream {\n  sync_interval: always\n}\n" if self.sync_always else ""
        if self.credentials is not None:
            quoted = {user: json.dumps(password) for user, password in self.credentials.passwords.items()}
            config += render_authorization(quoted)
        if config:
            self.config_path.touch(mode=0o600)
            self.config_path.chmod(0o600)
            self.config_path.write_text(config)

    def _wait_ready(self, timeout: float) -> None:
        wait_http_ok(f"{self.monitor_url}/healthz?js-enabled-only=true", timeout, self.process)
