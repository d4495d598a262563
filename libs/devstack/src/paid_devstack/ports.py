"""Free TCP ports on the loopback interface."""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

LOOPBACK = "127.0.0.1"

_lock = threading.Lock()
_handed_out: set[int] = set()
_random = random.SystemRandom()
_LOWEST = 10_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port(host: str = LOOPBACK) -> int:
    """A port that nothing listens on now and that this process has not handed out before.

    It is drawn below the kernel's ephemeral range: a port from inside it could become some outgoing
    connection's local port between this check and the server's bind (the chaos test once lost
    Temporal's start to that), and the kernel may give the same ephemeral port to two quick callers.
    """
    low, _ = ephemeral_range()
    with _lock:
        for _ in range(200):
            port = _random.randrange(_LOWEST, low) if low > _LOWEST + 1000 else _kernel_port(host)
            if port not in _handed_out and _bindable(host, port):
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free TCP port found on {host}")


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    return [free_port(host) for _ in range(count)]


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default if unreadable)."""
    try:
        low, high = _EPHEMERAL_RANGE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _kernel_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
