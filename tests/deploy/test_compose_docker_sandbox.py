"""deploy/compose.docker-sandbox.yml over deploy/compose.yml, rendered by Compose v2 without an engine: the
executor reaches the Docker engine only through the engine gate, and what it binds into a sandbox sits
at the same path on the engine's host. The container the docker sandbox asks for, with the rendered
settings, passes the rendered gate's policy; the same sandbox without the shared directory does not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from paid_executor.agents.base import Invocation
from paid_executor.sandbox.base import SandboxRequest
from paid_executor.sandbox.docker import DockerSandbox
from paid_executor.sandbox.engine_policy import ContainerRefused, EnginePolicy, check_container_create

from .test_compose_file import DEPLOY, compose_binary, example_values, write_env

Json = dict[str, Any]
GATE_SOCKET = "/run/paid-gate/engine.sock"
ENGINE_SOCKET = "/var/run/docker.sock"


@pytest.fixture(scope="module")
def sandbox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-root")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, sandbox_root: Path) -> Json:
    values = example_values() | {"PAID_SANDBOX_ROOT": str(sandbox_root)}
    env = write_env(tmp_path_factory.mktemp("compose-docker-sandbox") / "test.env", values)
    result = subprocess.run(
        [
            str(compose_binary()),
            *("-f", str(DEPLOY / "compose.yml"), "-f", str(DEPLOY / "compose.docker-sandbox.yml")),
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


def options(command: list[str], name: str) -> list[str]:
    return [command[i + 1] for i, word in enumerate(command) if word == name]


def test_only_the_gate_mounts_the_engine_socket(rendered: Json) -> None:
    mounting = {
        name
        for name, service in rendered["services"].items()
        for volume in service.get("volumes", [])
        if volume.get("source") == ENGINE_SOCKET
    }
    assert mounting == {"sandbox-gate"}
    gate = rendered["services"]["sandbox-gate"]
    assert gate["network_mode"] == "none", "the gate talks to unix sockets only"
    assert not any(key.startswith("PAID_") and "PASSWORD" in key for key in gate.get("environment", {}))


def test_the_executor_reaches_the_engine_through_the_gates_socket_only(rendered: Json) -> None:
    services = rendered["services"]
    executor, gate = services["executor"], services["sandbox-gate"]
    assert executor["environment"]["PAID_EXECUTOR_SANDBOX"] == "docker"
    assert executor["environment"]["DOCKER_HOST"] == f"unix://{GATE_SOCKET}"
    assert options(gate["command"], "--listen") == [GATE_SOCKET]
    assert options(gate["command"], "--engine") == [ENGINE_SOCKET]
    gate_volume = {v["source"] for v in gate["volumes"] if v["target"] == str(Path(GATE_SOCKET).parent)}
    assert len(gate_volume) == 1
    sharing = {
        name
        for name, service in services.items()
        for volume in service.get("volumes", [])
        if volume.get("source") in gate_volume
    }
    assert sharing == {"sandbox-gate", "executor"}
    assert executor["depends_on"]["sandbox-gate"]["condition"] == "service_healthy"


def test_what_the_sandbox_binds_is_at_the_same_path_in_executor_and_engine_host(
    rendered: Json, sandbox_root: Path
) -> None:
    executor = rendered["services"]["executor"]
    env = executor["environment"]
    binds = {(v["source"], v["target"]) for v in executor["volumes"] if v["type"] == "bind"}
    assert (str(sandbox_root), str(sandbox_root)) in binds
    for setting in ("PAID_EXECUTOR_WORKSPACE_ROOT", "PAID_EXECUTOR_SANDBOX_SHARED_DIR"):
        assert Path(env[setting]).is_relative_to(sandbox_root), setting
    gate = rendered["services"]["sandbox-gate"]
    assert options(gate["command"], "--worktree-root") == [env["PAID_EXECUTOR_WORKSPACE_ROOT"]]
    assert options(gate["command"], "--read-only") == [env["PAID_EXECUTOR_SANDBOX_SHARED_DIR"]]
    assert options(gate["command"], "--image") == [env["PAID_EXECUTOR_SANDBOX_IMAGE"]]
    gate_binds = {(v["source"], v["target"], v.get("read_only", False)) for v in gate["volumes"]}
    assert (str(sandbox_root), str(sandbox_root), True) in gate_binds, "links resolve as on the host"


class RecordingClient:
    def __init__(self) -> None:
        self.created: Json = {}
        self.containers = self

    def create(self, image: str, **kwargs: Any) -> Any:
        self.created = {"image": image, **kwargs}
        return type("Created", (), {"id": "c0ffee"})()


def sandbox_body(rendered: Json, monkeypatch: pytest.MonkeyPatch, *, shared: bool) -> Json:
    from docker.models.containers import _create_container_args
    from docker.types import ContainerConfig

    env = rendered["services"]["executor"]["environment"]
    shared_dir = Path(env["PAID_EXECUTOR_SANDBOX_SHARED_DIR"])
    worktree = Path(env["PAID_EXECUTOR_WORKSPACE_ROOT"]) / "run-1" / "worktree"
    worktree.mkdir(parents=True, exist_ok=True)
    shared_dir.mkdir(parents=True, exist_ok=True)
    client = RecordingClient()
    monkeypatch.setattr(DockerSandbox, "_client", lambda self: client)
    monkeypatch.setattr("os.getuid", lambda: 10001)
    request = SandboxRequest(
        run_key="run-1",
        worktree=worktree,
        env={"PATH": "/usr/bin"},
        read_only=(worktree.parent / "prompt.md",),
        proxy_socket=shared_dir / "paid-proxy-1-abc.sock",  # where the Launcher puts it with the setting
        proxy_port=8080,
    )
    sandbox = DockerSandbox(env["PAID_EXECUTOR_SANDBOX_IMAGE"], shared_dir=shared_dir if shared else None)
    sandbox.prepare(Invocation(argv=["agent"], stdin=None, env={}), request)
    args = _create_container_args(dict(client.created, version="1.44"))
    args.pop("name", None)
    host_config = args.pop("host_config")
    body = dict(ContainerConfig("1.44", **args))
    body["HostConfig"] = dict(host_config)
    loaded: Json = json.loads(json.dumps(body))
    return loaded


def gate_policy(rendered: Json) -> EnginePolicy:
    command = rendered["services"]["sandbox-gate"]["command"]
    return EnginePolicy.of(
        options(command, "--image"),
        Path(options(command, "--worktree-root")[0]),
        [Path(path) for path in options(command, "--read-only")],
    )


def test_the_rendered_gate_lets_the_rendered_executors_sandbox_through(
    rendered: Json, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_container_create(sandbox_body(rendered, monkeypatch, shared=True), gate_policy(rendered))


def test_without_the_shared_directory_the_bridge_is_not_on_the_engines_host_and_is_refused(
    rendered: Json, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bridge bound from the executor's own site-packages would be resolved on the engine's host."""
    with pytest.raises(ContainerRefused, match="outside the sandbox's allowed paths"):
        check_container_create(sandbox_body(rendered, monkeypatch, shared=False), gate_policy(rendered))
