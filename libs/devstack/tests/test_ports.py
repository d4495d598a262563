from __future__ import annotations

import socket

from paid_devstack import free_port
from paid_devstack.ports import free_ports


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
