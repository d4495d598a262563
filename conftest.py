"""The heavy suite: tests marked `heavy` are the long forms of scenarios whose short form is in the
default run. They run only under `scripts/test-heavy` (which sets PAID_HEAVY=1). And no test may
leave a mount behind."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from paid_devstack.mounts import mounts_under, release_new_mounts


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PAID_HEAVY") == "1":
        return
    skip = pytest.mark.skip(reason="heavy suite: run scripts/test-heavy")
    for item in items:
        if item.get_closest_marker("heavy"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_mount_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fails a test whose teardown left something mounted under pytest's temporary directory (the
    overlay worktree of a run whose worker stopped without cleaning up), after releasing it: pytest
    could not remove the directory ("Device or resource busy") and the mount would outlive the run."""
    base = tmp_path_factory.getbasetemp()
    before = set(mounts_under(base))
    yield
    if left := release_new_mounts(base, before):
        pytest.fail(f"the test left {len(left)} mount(s) behind: {', '.join(map(str, left))}")
