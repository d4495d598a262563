"""Run named service processes, wait for their health URLs, and crash or restart them on demand."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Self

from paid_devstack.processes import ManagedProcess, wait_http_ok

log = logging.getLogger("paid_devstack")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    health_url: str | None = None
    """Polled until it answers 2xx; without one, a service counts as ready once spawned."""
    cwd: Path | None = None
    ready_timeout: float = 60.0


class ServiceSupervisor:
    """Each service runs in its own process group with output in `log_dir/<name>.log`.

    `base_env` (typically `InfraStack.endpoints.as_env()`) is layered under each spec's env.
    """

    def __init__(self, log_dir: Path, *, base_env: Mapping[str, str] | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.base_env = dict(base_env or {})
        self._specs: dict[str, ServiceSpec] = {}
        self._processes: dict[str, ManagedProcess] = {}

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def process(self, name: str) -> ManagedProcess:
        return self._processes[name]

    def is_running(self, name: str) -> bool:
        return self._processes[name].is_running

    def launch(self, *specs: ServiceSpec) -> None:
        """Register and start services: all are spawned first, then each health URL is awaited."""
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"service {spec.name!r} is already registered")
            self._specs[spec.name] = spec
            self._processes[spec.name] = ManagedProcess(
                spec.name,
                spec.argv,
                log_path=self.log_dir / f"{spec.name}.log",
                env={**self.base_env, **spec.env},
                cwd=spec.cwd,
            )
        self._start_and_wait(spec.name for spec in specs)

    def start(self, name: str) -> None:
        """Start a registered service again (after `kill` or `stop`) and wait until it is healthy."""
        self._start_and_wait([name])

    def kill(self, name: str) -> None:
        """SIGKILL the service's whole process group."""
        self._processes[name].kill()

    def stop(self, name: str, timeout: float = 10.0) -> None:
        self._processes[name].stop(timeout)

    def restart(self, name: str, timeout: float = 10.0) -> None:
        self.stop(name, timeout)
        self.start(name)

    def reconfigure(self, name: str, env: Mapping[str, str], timeout: float = 10.0) -> None:
        """Stop a service, add `env` to its environment and start it again, as a deployment would."""
        self.stop(name, timeout)
        self._processes[name].env.update(env)
        spec = self._specs[name]
        self._specs[name] = replace(spec, env={**spec.env, **env})
        self.start(name)

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop in reverse launch order; a failure to stop one does not spare the rest."""
        for name in reversed(self._specs):
            try:
                self._processes[name].stop(timeout)
            except Exception:
                log.exception("stopping service %s failed", name)

    def _start_and_wait(self, names: Iterable[str]) -> None:
        names = list(names)
        try:
            for name in names:
                self._processes[name].start()
            for name in names:
                spec = self._specs[name]
                if spec.health_url:
                    wait_http_ok(spec.health_url, spec.ready_timeout, self._processes[name])
        except BaseException:
            for name in names:
                with contextlib.suppress(Exception):
                    self._processes[name].stop(timeout=5.0)
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()
