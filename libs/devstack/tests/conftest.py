from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from paid_devstack import InfraStack


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfraStack]:
    """One stack for the tests that only talk to the servers; chaos tests start their own."""
    began = time.monotonic()
    with InfraStack(tmp_path_factory.mktemp("paid-home")) as stack:
        print(f"\nInfraStack cold start {time.monotonic() - began:.2f}s, per server: {stack.startup_seconds}")
        yield stack
