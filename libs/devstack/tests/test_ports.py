from __future__ import annotations

import socket

import pytest

from paid_devstack import free_port, ports
from paid_devstack.ports import ephemeral_range, free_ports


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_free_ports_lie_below_the_kernels_range_for_outgoing_connections() -> None:
    low, _ = ephemeral_range()
    assert all(port < low for port in free_ports(50))


def test_a_port_something_listens_on_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        draws = iter([taken, taken, 23_456])
        monkeypatch.setattr(ports._random, "randrange", lambda low, high: next(draws))
        monkeypatch.setattr(ports, "ephemeral_range", lambda: (taken + 1, 60_999))
        assert free_port() == 23_456
