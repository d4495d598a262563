"""Which of the workspace's editable sources a sandbox leaves out.

In development every workspace package is installed editable, so sys.path names some fifteen source
directories; an installed executor (its image) has only its own package and the libs it requires, in
site-packages. A bwrap sandbox binds what it needs of sys.path, and each bind costs its start a mount
(~1 ms on a quiet machine, ~9 ms at load 20): the sources of packages the executor does not depend on
are left out, which is also what a deployed sandbox sees.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path

EXECUTOR = "paid-executor"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str | None:
    if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
        return None  # an optional extra: not installed on the executor's account
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return _canonical(match.group(1)) if match else None


def _closure(root: str) -> set[str]:
    needed: set[str] = set()
    pending = [root]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        pending += [found for found in map(_requirement_name, requirements) if found]
    return needed


def _pth_paths(distribution: importlib.metadata.Distribution) -> set[Path]:
    paths: set[Path] = set()
    for file in distribution.files or ():
        if file.suffix != ".pth":
            continue
        for line in (file.read_text() or "").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                paths.add(Path(line))
    return paths


@functools.cache
def unneeded_editable_sources() -> frozenset[Path]:
    """Directories that editable installs of packages outside the executor's dependencies put on
    sys.path; empty when the executor itself is not installed (nothing is then known to be unneeded)."""
    try:
        importlib.metadata.distribution(EXECUTOR)
    except importlib.metadata.PackageNotFoundError:
        return frozenset()
    needed = _closure(EXECUTOR)
    unneeded: set[Path] = set()
    kept: set[Path] = set()
    for distribution in importlib.metadata.distributions():
        paths = _pth_paths(distribution)
        (kept if _canonical(distribution.metadata["Name"] or "") in needed else unneeded).update(paths)
    return frozenset(unneeded - kept)
