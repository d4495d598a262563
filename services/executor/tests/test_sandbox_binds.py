"""What of the worker's Python a bwrap sandbox binds: the interpreter, the virtualenv and the editable
sources of the executor and the libs it requires (as its image holds them), not the rest of the
workspace's (gateway, planner, emulators...), each of which cost every sandbox's start a mount."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from paid_executor.sandbox.bwrap import _interpreter_paths
from paid_executor.sandbox.editable_sources import unneeded_editable_sources


def source_root(package: str) -> Path:
    """Where the package's editable install points (found, not imported: services never import
    one another, tests/test_architecture.py)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None, package
    assert spec.origin is not None, package
    return Path(spec.origin).parent.parent


def test_only_the_executors_own_sources_are_bound() -> None:
    bound = set(_interpreter_paths())
    for needed in ("paid_executor", "paid_contracts"):
        assert source_root(needed) in bound
        assert source_root(needed) not in unneeded_editable_sources()
    for unneeded in ("paid_gateway", "paid_llm_emulator"):
        assert source_root(unneeded) in unneeded_editable_sources()
        assert source_root(unneeded) not in bound
