"""Runs inside the worker, not the container: starts a created container, copies its output to this
process's stdout and stderr, and exits with its status. Killing this process does not stop the
container; the sandbox's release (always called) removes it.

usage: python -m paid_executor.sandbox.docker_attach CONTAINER_ID
"""

from __future__ import annotations

import sys
import threading

import docker


def main() -> None:
    client = docker.from_env()
    container = client.containers.get(sys.argv[1])
    container.start()

    def copy(stdout: bool) -> None:
        sink = sys.stdout.buffer if stdout else sys.stderr.buffer
        for chunk in container.logs(stream=True, follow=True, stdout=stdout, stderr=not stdout):
            sink.write(chunk)
            sink.flush()

    copiers = [threading.Thread(target=copy, args=(flag,), daemon=True) for flag in (True, False)]
    for copier in copiers:
        copier.start()
    status = container.wait()
    for copier in copiers:
        copier.join(timeout=5)
    sys.exit(int(status.get("StatusCode", 1)))


if __name__ == "__main__":
    main()
