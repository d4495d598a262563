"""The sweeper of stale worktrees: the start-up reaper (workspace_owners.reap_orphans), run again every
few minutes while this worker lives, so the files of a worker on this host that died after this one
started (a second replica sharing the workspace root, a killed sibling) do not wait for the next start.

A local job rather than a Temporal Schedule: the files are on this host's disk, which only the
processes of this host can reach, and whether their owner lives is known only here (its `flock`).
It touches exactly what the start-up reaper does: never a run of this process or of any live one."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from paid_executor import workspace_owners

log = logging.getLogger(__name__)


def sweep_once(root: Path) -> workspace_owners.Reaped:
    """Removes the worktrees (and overlay mounts, and agents) of runs whose worker on this host is dead."""
    reaped = workspace_owners.reap_orphans(root)
    if reaped.runs:
        log.info(
            "removed %d orphaned run workspace(s): %s", len(reaped.runs), ", ".join(map(str, reaped.runs))
        )
    for worktree in reaped.kept_mounted:
        log.warning("an orphaned worktree stays mounted: %s", worktree)
    return reaped


async def sweep_periodically(root: Path, every_seconds: float) -> None:
    """Sweeps every `every_seconds` until cancelled; a failed sweep is logged and the next one tries."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await asyncio.to_thread(sweep_once, root)
        except OSError as error:
            log.warning("could not sweep %s for orphaned workspaces: %s", root, error)
