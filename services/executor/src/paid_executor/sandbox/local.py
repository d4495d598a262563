"""No confinement: the agent runs as a plain process of the worker. For development, chosen explicitly."""

from __future__ import annotations

from paid_executor.agents.base import Invocation
from paid_executor.sandbox.base import Prepared, SandboxRequest


class LocalSandbox:
    name = "local"

    def prepare(self, invocation: Invocation, request: SandboxRequest) -> Prepared:
        # No network namespace: the proxy is reached on the host's loopback at its own port.
        env = request.env | invocation.env
        return Prepared(Invocation(argv=invocation.argv, stdin=invocation.stdin, env=env))

    def release(self, prepared: Prepared) -> None:
        return None
