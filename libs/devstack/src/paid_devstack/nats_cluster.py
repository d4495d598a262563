"""A local JetStream cluster: several `NatsServer` nodes on loopback, routed to each other, sharing the
per-service users. Clients get every node's URL (`url`, comma-separated), as in a real deployment."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from paid_devstack.nats import ClusterMembership, NatsServer
from paid_devstack.nats_credentials import NatsCredentials
from paid_devstack.ports import LOOPBACK, free_port
from paid_devstack.processes import wait_until
from paid_runtime.messaging import provision_streams


class NatsCluster:
    def __init__(
        self,
        data_dir: Path,
        nodes: int = 3,
        *,
        credentials: NatsCredentials | None = None,
        sync_always: bool = True,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster has at least one node")
        self.credentials = credentials
        route_ports = [free_port() for _ in range(nodes)]
        routes = tuple(f"nats://{LOOPBACK}:{port}" for port in route_ports)
        self.nodes = [
            NatsServer(
                Path(data_dir) / f"nats-{index}",
                sync_always=sync_always,
                credentials=credentials,
                cluster=ClusterMembership(f"nats-{index}", route_ports[index], routes),
            )
            for index in range(nodes)
        ]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated: what a service's PAID_<SERVICE>_NATS_URL holds."""
        return ",".join(node.url for node in self.nodes)

    @property
    def admin_url(self) -> str:
        return ",".join(node.admin_url for node in self.nodes)

    def node(self, server_name: str) -> NatsServer:
        (found,) = (node for node in self.nodes if node.cluster and node.cluster.server_name == server_name)
        return found

    def start(self, timeout: float = 60.0) -> None:
        """All nodes at once (each waits for its peers to elect a meta leader), then until they agree."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for future in [pool.submit(node.start, timeout) for node in self.nodes]:
                future.result()
        self.wait_formed(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        for node in self.nodes:
            node.stop(timeout)

    def wait_formed(self, timeout: float = 60.0) -> None:
        """Until every running node names the same meta leader, and the leader sees all its peers current
        (followers do not track each other, so only the leader's view counts)."""

        def formed() -> bool:
            views = {node.cluster.server_name: _meta_cluster(node) for node in self.nodes if node.cluster}
            leaders = {view.get("leader") if view else None for view in views.values()}
            if len(leaders) != 1 or None in leaders:
                return False
            leader_view = views.get(str(next(iter(leaders))))
            return leader_view is not None and _current_peers(leader_view) == len(self.nodes) - 1

        wait_until(formed, timeout=timeout, what=f"a {len(self.nodes)}-node JetStream cluster")

    def provision_streams(self, replicas: int) -> None:
        """Paid's streams on `replicas` nodes each, as the provisioning user (in a thread of its own,
        so that it also works under a running event loop)."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, provision_streams(self.admin_url, replicas=replicas)).result()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _meta_cluster(node: NatsServer) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{node.monitor_url}/jsz", timeout=2) as response:  # noqa: S310
            report = json.load(response)
    except OSError:
        return None
    meta = report.get("meta_cluster")
    return meta if isinstance(meta, dict) else None


def _current_peers(meta: dict[str, Any]) -> int:
    """The peers (other than this node) it reports as current."""
    return sum(1 for peer in meta.get("replicas") or () if peer.get("current"))
