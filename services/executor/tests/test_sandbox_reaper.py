"""The orphan reaper on a real Docker engine: a sandbox container whose worker died is removed; one
whose worker lives, or that belongs to another host, stays."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import uuid

import pytest
from docker.errors import NotFound

from paid_executor.sandbox.docker import LABEL, WORKER_HOST_LABEL, WORKER_PID_LABEL, reap_orphans

from .docker_support import can_build_image, docker_client, ensure_test_image

DOCKER = docker_client()

pytestmark = [
    pytest.mark.skipif(DOCKER is None, reason="needs a Docker engine (dockerd), not reachable"),
    pytest.mark.skipif(not can_build_image(), reason="needs the host's python3.11 to build a test image"),
]


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_containers_of_dead_workers_are_removed_and_no_others() -> None:
    assert DOCKER is not None
    image = ensure_test_image(DOCKER)
    here = socket.gethostname()
    kinds = {
        "orphan": (here, str(dead_pid())),
        "live": (here, str(os.getpid())),
        "elsewhere": ("another-host", str(dead_pid())),
    }
    tag = uuid.uuid4().hex[:8]
    containers = {
        kind: DOCKER.containers.create(
            image,
            command=["sleep", "60"],
            name=f"paid-reaper-{kind}-{tag}",
            labels={LABEL: f"reaper-{kind}-{tag}", WORKER_HOST_LABEL: host, WORKER_PID_LABEL: pid},
            network_mode="none",
        )
        for kind, (host, pid) in kinds.items()
    }
    containers["orphan"].start()
    try:
        removed = reap_orphans(DOCKER)
        left = {c.name for c in DOCKER.containers.list(all=True, filters={"label": LABEL})}
        assert f"paid-reaper-orphan-{tag}" in removed
        assert f"paid-reaper-orphan-{tag}" not in left
        assert f"paid-reaper-live-{tag}" in left
        assert f"paid-reaper-elsewhere-{tag}" in left
    finally:
        for container in containers.values():
            with contextlib.suppress(NotFound):  # the reaper removed it
                container.remove(force=True)
