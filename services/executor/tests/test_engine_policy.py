"""The engine gate's policy: the container the docker sandbox really asks for passes; anything that would
give a container the host (privileges, capabilities, devices, host namespaces or network, a bind of `/`
or of a link out of the worktree root, an image outside the allowlist, root) is refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from docker.models.containers import _create_container_args
from docker.types import ContainerConfig

from paid_executor.agents.base import Invocation
from paid_executor.sandbox import bridge
from paid_executor.sandbox.base import SandboxRequest
from paid_executor.sandbox.docker import DockerSandbox
from paid_executor.sandbox.engine_policy import ContainerRefused, EnginePolicy, check_container_create

IMAGE = "paid-sandbox:1"


class RecordingClient:
    """Stands in for docker-py's client: keeps what the sandbox asked to create."""

    def __init__(self) -> None:
        self.created: dict[str, Any] = {}
        self.containers = self

    def create(self, image: str, **kwargs: Any) -> Any:
        self.created = {"image": image, **kwargs}
        return type("Created", (), {"id": "c0ffee"})()


def wire_body(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The JSON docker-py sends for `containers.create(**kwargs)`."""
    args = _create_container_args(dict(kwargs, version="1.44"))
    args.pop("name", None)
    host_config = args.pop("host_config")
    body = dict(ContainerConfig("1.44", **args))
    body["HostConfig"] = dict(host_config)
    return json.loads(json.dumps(body))


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[EnginePolicy, dict[str, Any]]:
    root, sockets = tmp_path / "workspaces", tmp_path / "sockets"
    worktree = root / "run-1" / "worktree"
    worktree.mkdir(parents=True)
    sockets.mkdir()
    client = RecordingClient()
    monkeypatch.setattr(DockerSandbox, "_client", lambda self: client)
    monkeypatch.setattr("os.getuid", lambda: 1000)
    request = SandboxRequest(
        run_key="run-1",
        worktree=worktree,
        env={"PATH": "/usr/bin"},
        proxy_socket=sockets / "proxy.sock",
        proxy_port=8080,
    )
    DockerSandbox(IMAGE).prepare(Invocation(argv=["agent"], stdin=None, env={}), request)
    policy = EnginePolicy.of([IMAGE], root, [sockets, Path(bridge.__file__)])
    return policy, wire_body(client.created)


def refused(policy: EnginePolicy, body: dict[str, Any], **host: Any) -> str:
    changed = copy.deepcopy(body)
    changed["HostConfig"].update(host)
    with pytest.raises(ContainerRefused) as error:
        check_container_create(changed, policy)
    return str(error.value)


def test_the_docker_sandbox_asks_for_a_sandbox_shaped_container(
    setup: tuple[EnginePolicy, dict[str, Any]],
) -> None:
    policy, body = setup
    check_container_create(body, policy)


def test_a_privileged_container_is_refused(setup: tuple[EnginePolicy, dict[str, Any]]) -> None:
    assert "privileged" in refused(*setup, Privileged=True)


def test_a_bind_of_the_hosts_root_is_refused(setup: tuple[EnginePolicy, dict[str, Any]]) -> None:
    policy, body = setup
    for bind in ("/:/host:rw", "/:/host:ro", f"{policy.worktree_root}:/all-runs:rw"):
        assert "outside the sandbox's allowed paths" in refused(
            policy, body, Binds=[*body["HostConfig"]["Binds"], bind]
        )


def test_an_image_outside_the_allowlist_is_refused(setup: tuple[EnginePolicy, dict[str, Any]]) -> None:
    policy, body = setup
    with pytest.raises(ContainerRefused, match="allowlist"):
        check_container_create(body | {"Image": "alpine:latest"}, policy)


def test_a_link_under_the_worktree_root_cannot_point_a_bind_elsewhere(
    setup: tuple[EnginePolicy, dict[str, Any]],
) -> None:
    policy, body = setup
    link = policy.worktree_root / "run-1" / "escape"
    link.symlink_to("/")
    assert "outside" in refused(policy, body, Binds=[f"{link}:/w:rw"])


@pytest.mark.parametrize(
    "widening",
    [
        {"CapAdd": ["SYS_ADMIN"]},
        {"CapDrop": []},
        {"NetworkMode": "host"},
        {"NetworkMode": "bridge"},
        {"PidMode": "host"},
        {"IpcMode": "host"},
        {"UsernsMode": "host"},
        {"Devices": [{"PathOnHost": "/dev/kvm", "PathInContainer": "/dev/kvm"}]},
        {"DeviceRequests": [{"Count": -1, "Capabilities": [["gpu"]]}]},
        {"Mounts": [{"Type": "bind", "Source": "/", "Target": "/host"}]},
        {"VolumesFrom": ["paid-executor"]},
        {"SecurityOpt": ["no-new-privileges", "seccomp=unconfined"]},
        {"SecurityOpt": []},
        {"ReadonlyRootfs": False},
        {"PidsLimit": 0},
        {"Memory": 0},
        {"Runtime": "runc-unsafe"},
    ],
    ids=lambda widening: "-".join(f"{k}={v}" for k, v in widening.items())[:40],
)
def test_every_other_way_to_the_host_is_refused(
    setup: tuple[EnginePolicy, dict[str, Any]], widening: dict[str, Any]
) -> None:
    refused(*setup, **widening)


def test_root_a_writable_read_only_root_and_unknown_fields_are_refused(
    setup: tuple[EnginePolicy, dict[str, Any]],
) -> None:
    policy, body = setup
    for changed in (body | {"User": "0:0"}, body | {"User": ""}, body | {"Privileged": True}):
        with pytest.raises(ContainerRefused):
            check_container_create(changed, policy)
    sockets = policy.read_only_roots[0]
    assert "read-write" in refused(policy, body, Binds=[f"{sockets}:{sockets}:rw"])


def test_an_agent_cli_run_passes_only_with_its_packages_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLIs' image (deploy/images/sandbox-agents) is allowlisted by name, and the CLIs' pinned
    packages are a read-only root: the run the sandbox asks for passes, the same packages writable (an
    agent could then change the CLI every later run starts) or not listed are refused."""
    image = "paid/sandbox-agents:node20.20.2"
    root, clis = tmp_path / "workspaces", tmp_path / "agent-clis"
    worktree = root / "run-1" / "worktree"
    worktree.mkdir(parents=True)
    clis.mkdir()
    client = RecordingClient()
    monkeypatch.setattr(DockerSandbox, "_client", lambda self: client)
    monkeypatch.setattr("os.getuid", lambda: 1000)
    request = SandboxRequest(run_key="run-1", worktree=worktree, env={}, read_only=(clis,))
    DockerSandbox(image).prepare(Invocation(argv=[str(clis / "codex")], stdin=None, env={}), request)
    body = wire_body(client.created)
    check_container_create(body, EnginePolicy.of([image], root, [clis]))

    writable = [bind.replace(":ro", ":rw") for bind in body["HostConfig"]["Binds"]]
    assert "read-write bind" in refused(EnginePolicy.of([image], root, [clis]), body, Binds=writable)
    assert "outside the sandbox's allowed paths" in refused(EnginePolicy.of([image], root, []), body)
    with pytest.raises(ContainerRefused, match="allowlist"):
        check_container_create(body, EnginePolicy.of(["paid/python:3.11"], root, [clis]))
