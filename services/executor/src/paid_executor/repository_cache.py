"""One bare mirror per repository on this executor host, fetched incrementally, so that a run's base
comes from local disk instead of a full clone.

Trust boundary: a mirror is the host's alone. It lives outside the workspace root, no sandbox mounts
it, and no agent repository points into it: a run's host repository borrows its objects through
`objects/info/alternates` (the host repository is never mounted either), and the agent's repository
is a copy made over git's pack protocol (host_repository.check_out), which carries no alternates.
Every git command on a mirror runs with the host's hardened settings (host_repository.HARDENING).

Concurrency: one mirror is written (fetch, gc, rebuild, eviction) under an exclusive `flock` on a
lock file beside it, which serialises the workers of one host; readers (runs copying their tree out)
need no lock, since git never rewrites an object in place and re-scans its packs after a repack.

A mirror keeps each live run's base reachable with a pin (a ref, and a file naming the run's host
repository); a pin whose host repository is gone is dropped at the next collection, and only mirrors
without live pins are evicted to keep the cache under its size cap."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from paid_executor.cache_files import move_aside_and_delete, mtime, pin_name, size
from paid_executor.file_lock import flocked
from paid_executor.host_repository import hardened, host_git_env
from paid_executor.tree_overlay import OverlayTrees
from paid_executor.workspace import GitError, auth_header_config, sanitise

log = logging.getLogger(__name__)
PINS_DIR = "paid-pins"
TREES_DIR = "trees"  # the overlays' base trees (tree_overlay.py)
PIN_REFS = "refs/paid/pins"
LAST_USED = "paid-last-used"
PIN_GRACE_SECONDS = 600  # a pin is made just before its host repository: it counts as live meanwhile
OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256, lower case as git prints it
# A token, or what mints one when a fetch needs it (a cache hit needs none).
Token = str | None | Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class MirroredBase:
    mirror: Path  # the mirror's git directory
    base_sha: str


@dataclass
class RepositoryCache:
    root: Path
    max_bytes: int
    housekeeping_seconds: float = 60.0  # gc and collection at most this often: they walk the cache
    _verified: set[Path] = field(default_factory=set)
    _last_housekeeping: dict[Path, float] = field(default_factory=dict)
    _last_collection: float = -float("inf")
    _local_locks: dict[Path, asyncio.Lock] = field(default_factory=dict)

    def mirror_path(self, url: str) -> Path:
        """A name a reader can recognise, made unique by a hash of the whole URL."""
        parts = urlsplit(url)
        readable = sanitise(f"{parts.hostname or 'local'}_{parts.path}".removesuffix(".git"))[-80:]
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return self.root / f"{readable}-{digest}.git"

    async def git(self, mirror: Path, *args: str, token: str | None = None) -> bytes:
        """`token`: sent as the HTTP Authorization header (fetch only); never in argv or a URL."""
        env = host_git_env(mirror, auth_header_config(token) if token is not None else None)
        process = await asyncio.create_subprocess_exec(
            *hardened(*args),
            cwd=self.root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise GitError(
                f"git {args[0]} failed ({process.returncode}): {err.decode(errors='replace').strip()}"
            )
        return out

    @contextlib.asynccontextmanager
    async def locked(self, mirror: Path) -> AsyncIterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        local = self._local_locks.setdefault(mirror, asyncio.Lock())
        async with local, flocked(mirror.with_suffix(".lock")):
            yield

    async def refresh(
        self,
        url: str,
        branch: str,
        *,
        token: Token = None,
        pin: Path | None = None,
        known_base: str | None = None,
    ) -> MirroredBase:
        """Brings `branch` of `url` into its mirror (building the mirror if it is missing or corrupt)
        and answers the branch's commit, pinned for the host repository at `pin` when given.

        `known_base`: the branch's commit as GitHub reported it. When the mirror already holds that
        commit nothing is fetched and it is the base: a commit id names its content, so no ref of the
        mirror (nor anything a run could have written) decides what the base is. `token` is then
        never asked for; a callable is awaited only when a fetch is needed."""
        mirror = self.mirror_path(url)
        async with self.locked(mirror):
            if not await self._usable(mirror):
                await self._rebuild(mirror)
            base = await self._held_commit(mirror, known_base) if known_base else None
            if base is None:
                base = await self._fetch_tip(mirror, url, branch, await _resolved(token))
            if pin is not None:
                await self._pin(mirror, pin, base)
            (mirror / LAST_USED).touch()
            due = self._housekeeping_due(mirror)
            if due:
                await self._live_pins(mirror)  # drops the pins of finished runs
                with contextlib.suppress(GitError):  # packs many small fetches into one; never fatal
                    await self.git(mirror, "gc", "--auto", "--quiet")
        if due and self._collection_due():
            await self.collect(keep=mirror)
        return MirroredBase(mirror=mirror, base_sha=base)

    async def _fetch_tip(self, mirror: Path, url: str, branch: str, token: str | None) -> str:
        try:
            await self._fetch(mirror, url, branch, token)
        except GitError:
            if await self._intact(mirror, full=True):
                raise  # the network or the remote, not the mirror
            log.warning("mirror %s is corrupt after a fetch; rebuilding it", mirror)
            await self._rebuild(mirror)
            await self._fetch(mirror, url, branch, token)
        tip = await self.git(mirror, "rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}")
        return tip.decode().strip()

    async def _held_commit(self, mirror: Path, sha: str) -> str | None:
        """`sha` when it is a full object id (never a ref or an expression) of a commit the mirror
        holds; None otherwise."""
        if not OBJECT_ID.fullmatch(sha):
            log.warning("not an object id, fetching instead: %r", sha[:100])
            return None
        try:
            kind = await self.git(mirror, "cat-file", "-t", sha)
        except GitError:
            return None  # not fetched yet
        return sha if kind.strip() == b"commit" else None

    def _housekeeping_due(self, mirror: Path) -> bool:
        now = time.monotonic()
        if now - self._last_housekeeping.get(mirror, -float("inf")) < self.housekeeping_seconds:
            return False
        self._last_housekeeping[mirror] = now
        return True

    def _collection_due(self) -> bool:
        """Once per period for the whole cache, not per mirror: a collection walks every mirror and
        base tree, so runs on many repositories would each walk all of them (the cap is overshot by at
        most a period's new mirrors)."""
        now = time.monotonic()
        if now - self._last_collection < self.housekeeping_seconds:
            return False
        self._last_collection = now
        return True

    async def discard_if_corrupt(self, url: str) -> bool:
        """Called when reading a mirror failed: verifies it and, if it is corrupt, removes it so that
        the next refresh rebuilds it. Answers whether it was corrupt."""
        mirror = self.mirror_path(url)
        async with self.locked(mirror):
            if not mirror.exists() or await self._intact(mirror, full=True):
                return False
            log.warning("mirror %s is corrupt; it will be rebuilt", mirror)
            await self._remove(mirror)
            return True

    async def _usable(self, mirror: Path) -> bool:
        """A mirror found on disk is verified once per process (it may be a previous process's, cut
        short by a crash or damaged on disk); after that, failures are what reveal corruption."""
        if not (mirror / "objects").is_dir():
            return False
        if mirror in self._verified:
            return True
        return await self._intact(mirror)

    async def _intact(self, mirror: Path, *, full: bool = False) -> bool:
        """`full` hashes every object (seconds on a large repository: only after a failure); otherwise
        only that every commit and tree parses and every object they name is present."""
        scope = () if full else ("--connectivity-only",)
        try:
            await self.git(mirror, "fsck", *scope, "--no-dangling", "--no-progress")
        except GitError:
            self._verified.discard(mirror)
            return False
        self._verified.add(mirror)
        return True

    async def _rebuild(self, mirror: Path) -> None:
        await self._remove(mirror)
        await self.git(mirror, "init", "--quiet", "--bare", "--template=", str(mirror))
        # Objects fetched later are never rewritten in place; a repack writes new packs first.
        await self.git(mirror, "config", "gc.autoDetach", "false")
        (mirror / PINS_DIR).mkdir()
        self._verified.add(mirror)

    async def _remove(self, mirror: Path) -> None:
        """Moves the mirror aside at once (a reader never sees half of it), then deletes it."""
        self._verified.discard(mirror)
        await asyncio.to_thread(move_aside_and_delete, mirror)

    async def _fetch(self, mirror: Path, url: str, branch: str, token: str | None) -> None:
        await self.git(
            mirror,
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            url,
            f"+refs/heads/{branch}:refs/heads/{branch}",
            token=token,
        )

    async def _pin(self, mirror: Path, host_git: Path, base: str) -> None:
        name = pin_name(host_git)
        (mirror / PINS_DIR).mkdir(exist_ok=True)
        (mirror / PINS_DIR / name).write_text(str(host_git))
        await self.git(mirror, "update-ref", f"{PIN_REFS}/{name}", base)

    async def _drop_pin(self, mirror: Path, name: str) -> None:
        with contextlib.suppress(GitError):
            await self.git(mirror, "update-ref", "-d", f"{PIN_REFS}/{name}")
        (mirror / PINS_DIR / name).unlink(missing_ok=True)

    async def _live_pins(self, mirror: Path) -> int:
        """Drops the pins of host repositories that are gone (their run was cleaned up, or its worker
        died and its files were removed) and counts the others."""
        live, stale = await asyncio.to_thread(_pins_by_liveness, mirror / PINS_DIR)
        for name in stale:
            await self._drop_pin(mirror, name)
        return len(live)

    async def collect(self, *, keep: Path | None = None) -> list[Path]:
        """Keeps the cache under its size cap: first the base trees no overlay mounts (rebuilt from a
        mirror in one copy), then the least recently used mirrors that no live run pins (never
        `keep`). It evicts only while the cache is over its cap. Answers what it evicted."""
        trees = OverlayTrees(self.root / TREES_DIR)
        mirrors = sorted(
            (path for path in self.root.glob("*.git") if path.is_dir()),
            key=lambda path: mtime(path / LAST_USED),
        )
        sizes = {path: await asyncio.to_thread(size, path) for path in mirrors}
        total = sum(sizes.values()) + await asyncio.to_thread(size, trees.root)
        evicted: list[Path] = []
        if total > self.max_bytes and trees.root.is_dir():
            evicted += await trees.evict_unused()
            total = sum(sizes.values()) + await asyncio.to_thread(size, trees.root)
        for mirror in mirrors:
            if total <= self.max_bytes:
                break
            if mirror == keep:
                continue
            async with self.locked(mirror):
                if not mirror.exists() or await self._live_pins(mirror):
                    continue
                await self._remove(mirror)
            total -= sizes[mirror]
            evicted.append(mirror)
        return evicted


async def _resolved(token: Token) -> str | None:
    return await token() if callable(token) else token


def _pins_by_liveness(pins: Path) -> tuple[list[str], list[str]]:
    live: list[str] = []
    stale: list[str] = []
    for pin in sorted(pins.glob("*")):
        fresh = time.time() - mtime(pin) < PIN_GRACE_SECONDS
        (live if fresh or Path(pin.read_text()).exists() else stale).append(pin.name)
    return live, stale


_CACHES: dict[Path, RepositoryCache] = {}


def repository_cache(root: Path, *, max_bytes: int) -> RepositoryCache:
    """The process's one cache object per root: its locks and its record of verified mirrors are
    shared by every run of this worker."""
    cache = _CACHES.get(root)
    if cache is None or cache.max_bytes != max_bytes:
        cache = _CACHES[root] = RepositoryCache(root, max_bytes=max_bytes)
    return cache
