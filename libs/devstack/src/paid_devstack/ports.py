"""Free TCP ports on the loopback interface."""

from __future__ import annotations

import socket
import threading

LOOPBACK = "127.0.0.1"

_lock = threading.Lock()
_handed_out: set[int] = set()


def free_port(host: str = LOOPBACK) -> int:
    """A port that nothing listens on now and that this process has not handed out before.

    The kernel may give the same ephemeral port to two quick callers before either binds it,
    so ports already returned are remembered and skipped.
    """
    with _lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free TCP port found on {host}")


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    return [free_port(host) for _ in range(count)]
