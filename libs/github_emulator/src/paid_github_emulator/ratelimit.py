"""Per-token request counters, reported in GitHub's x-ratelimit-* headers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    limit: int
    used: int
    reset: int  # epoch seconds when the window restarts

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": "core",
        }


class RateLimiter:
    """Counts requests per key in fixed windows; refuses them only when `enforce` is on."""

    def __init__(
        self,
        *,
        limit: int = 5000,
        anonymous_limit: int = 60,
        window_seconds: int = 3600,
        enforce: bool = False,
    ) -> None:
        self.limit = limit
        self.enforce = enforce
        self.anonymous_limit = anonymous_limit
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (used, reset)
        self._overrides: dict[str, tuple[int, int]] = {}  # key -> (limit, window_seconds), enforced

    def configure(self, key: str, *, limit: int, window_seconds: int) -> None:
        """An enforced limit of its own for one token, starting a fresh window (tests of one client)."""
        with self._lock:
            self._overrides[key] = (limit, window_seconds)
            self._windows.pop(key, None)

    def _limit_for(self, key: str) -> int:
        if key in self._overrides:
            return self._overrides[key][0]
        return self.anonymous_limit if key.startswith("anonymous:") else self.limit

    def _window(self, key: str) -> tuple[int, int]:
        now = int(time.time())
        window = self._overrides[key][1] if key in self._overrides else self.window_seconds
        used, reset = self._windows.get(key, (0, now + window))
        if now >= reset:
            used, reset = 0, now + window
        return used, reset

    def peek(self, key: str) -> Usage:
        with self._lock:
            used, reset = self._window(key)
            return Usage(self._limit_for(key), used, reset)

    def admit(self, key: str) -> bool:
        """Whether a request may run: the seam where secondary limits and retry-after will go."""
        return not (self.enforce or key in self._overrides) or self.peek(key).remaining > 0

    def consume(self, key: str) -> Usage:
        with self._lock:
            used, reset = self._window(key)
            self._windows[key] = (used + 1, reset)
            return Usage(self._limit_for(key), used + 1, reset)

    def snapshot(self) -> dict[str, Usage]:
        with self._lock:
            return {key: Usage(self._limit_for(key), *self._window(key)) for key in self._windows}

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._overrides.clear()
