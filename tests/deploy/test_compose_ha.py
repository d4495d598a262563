"""deploy/compose.ha.yml over deploy/compose.yml, rendered by Compose v2 without an engine: three NATS nodes
in one JetStream cluster, each on its own volume and routed to the others, streams provisioned on three
replicas, and every Paid service given all three seeds and three consumer replicas."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from paid_runtime.messaging import seed_urls

from .test_compose_file import DEPLOY, ENV_EXAMPLE, PAID_SERVICES, compose_binary, example_values, write_env

NODES = ("nats", "nats-2", "nats-3")
Json = dict[str, Any]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Json:
    env = write_env(tmp_path_factory.mktemp("compose-ha") / "test.env", example_values())
    result = subprocess.run(
        [
            str(compose_binary()),
            *("-f", str(DEPLOY / "compose.yml"), "-f", str(DEPLOY / "compose.ha.yml")),
            *("--env-file", str(env), "config", "--format", "json"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(env.parent)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    model: Json = json.loads(result.stdout)
    return model


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_three_nodes_form_one_cluster_each_on_its_own_volume(rendered: Json) -> None:
    nodes = {name: rendered["services"][name] for name in NODES}
    names = {option(node["command"], "--server_name") for node in nodes.values()}
    assert len(names) == 3
    routes = {option(node["command"], "--routes") for node in nodes.values()}
    assert routes == {"nats://nats:6222,nats://nats-2:6222,nats://nats-3:6222"}
    assert {option(node["command"], "--cluster_name") for node in nodes.values()} == {"paid"}
    volumes = {node["volumes"][0]["source"] for node in nodes.values()}
    assert len(volumes) == 3
    for node in nodes.values():
        assert "--config" in node["command"], "the durable settings and the users come from nats.conf"
        assert node["healthcheck"]["test"][-1].endswith("/healthz"), "healthy only once in the cluster"
        assert set(node["environment"]) >= {"PAID_NATS_ADMIN_PASSWORD", "PAID_NATS_EXECUTOR_PASSWORD"}


def test_streams_and_consumers_have_three_replicas_and_services_every_seed(rendered: Json) -> None:
    provision = rendered["services"]["provision"]
    assert provision["environment"]["PAID_NATS_REPLICAS"] == "3"
    assert set(provision["depends_on"]) >= set(NODES)
    for service in PAID_SERVICES:
        env = rendered["services"][service]["environment"]
        prefix = f"PAID_{service.upper()}_"
        assert seed_urls(env[f"{prefix}NATS_URL"]) == [f"nats://{node}:4222" for node in NODES]
        assert env[f"{prefix}NATS_REPLICAS"] == "3"
        assert env[f"{prefix}NATS_USER"] == f"paid-{service}", "each service keeps its own NATS user"


def test_the_env_example_covers_the_ha_file() -> None:
    assert ENV_EXAMPLE.is_file()
    text = (DEPLOY / "compose.ha.yml").read_text()
    used = {line.split("${", 1)[1].split(":", 1)[0] for line in text.splitlines() if "${" in line}
    assert used <= set(example_values())


def test_seed_urls_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError, match="no NATS URL"):
        seed_urls(" , ")
    assert seed_urls("nats://a:4222") == ["nats://a:4222"]
