"""What the NATS nodes of deploy/compose.ha.yml report on their monitoring ports (/jsz): which node leads
each stream, and whether every stream and durable consumer has all its replicas current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

Json = dict[str, Any]
REPLICAS = 3


@dataclass(frozen=True)
class Node:
    service: str  # the compose service: nats, nats-2, nats-3
    server_name: str  # its --server_name: paid-nats-1, ...
    monitor_url: str


def nodes(ports: dict[str, int]) -> list[Node]:
    return [
        Node(service, f"paid-nats-{index}", f"http://127.0.0.1:{ports[service]}")
        for index, service in enumerate(("nats", "nats-2", "nats-3"), start=1)
    ]


def report(node: Node) -> Json | None:
    """The node's streams and consumers with their configuration and cluster view; None while it is down."""
    try:
        response = httpx.get(
            f"{node.monitor_url}/jsz",
            params={"streams": "true", "consumers": "true", "config": "true"},
            timeout=5,
        )
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    found: Json = response.json()
    return found


def streams(found: Json) -> list[Json]:
    return [stream for account in found.get("account_details") or () for stream in account["stream_detail"]]


def leader_of(cluster: list[Node], stream: str) -> Node:
    """The node that leads `stream`, as the live nodes report it."""
    for node in cluster:
        for detail in streams(report(node) or {}):
            leader = (detail.get("cluster") or {}).get("leader")
            if detail["name"] == stream and leader:
                (found,) = (candidate for candidate in cluster if candidate.server_name == leader)
                return found
    raise LookupError(f"no node reports a leader for {stream}")


def all_current(group: Json, names: set[str]) -> bool:
    """A leader's view of one replicated group: itself plus its followers, all current, are `names`."""
    cluster = group.get("cluster") or {}
    followers = {peer["name"] for peer in cluster.get("replicas") or () if peer.get("current")}
    return bool(cluster.get("leader")) and {cluster["leader"], *followers} == names


def lagging(cluster: list[Node]) -> list[str]:
    """The streams and durable consumers that are not on three replicas, all current, as their leaders see
    them: empty once the cluster is whole. A node that does not answer leaves its groups unseen (lagging)."""
    names = {node.server_name for node in cluster}
    healthy: set[str] = set()
    seen: set[str] = set()
    for node in cluster:
        for stream in streams(report(node) or {}):
            seen.add(stream["name"])
            if stream["config"]["num_replicas"] == REPLICAS and all_current(stream, names):
                healthy.add(stream["name"])
            for consumer in stream.get("consumer_detail") or ():
                config = consumer.get("config") or {}
                if not config.get("durable_name"):
                    continue  # an ephemeral consumer (e.g. an ordered reader) lives on one node by design
                key = f"{stream['name']}/{consumer['name']}"
                seen.add(key)
                if config.get("num_replicas") in (0, REPLICAS) and all_current(consumer, names):
                    healthy.add(key)
    return sorted(seen - healthy) if seen else ["(no node answered)"]
