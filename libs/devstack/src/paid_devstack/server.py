"""What the locally started infrastructure servers have in common."""

from __future__ import annotations

import abc
import contextlib
from types import TracebackType
from typing import Self

from paid_devstack.processes import ManagedProcess


class LocalServer(abc.ABC):
    """A server run as a `ManagedProcess`; `start` returns once it really answers requests."""

    process: ManagedProcess

    @abc.abstractmethod
    def _prepare(self) -> None:
        """Create directories and files the process needs; runs before every start."""

    @abc.abstractmethod
    def _wait_ready(self, timeout: float) -> None: ...

    @property
    def is_running(self) -> bool:
        return self.process.is_running

    def start(self, timeout: float = 60.0) -> None:
        self._prepare()
        self.process.start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.process.stop(timeout=5.0)
            raise

    def stop(self, timeout: float = 10.0) -> None:
        self.process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would; `start()` brings it back on the same data and ports."""
        self.process.kill()

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start(timeout)

    def __enter__(self) -> Self:
        if not self.is_running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            self.stop()
