"""The agent's result enters the host's repository here. The worktree is data: it is walked with
lstat (a link is committed as a link, never followed), the agent's own `.git` is skipped unread, and
the files are streamed into `git fast-import` running on the host's repository, which writes objects
and one commit and consults no hooks, attributes or filters. What git must not take from an agent is
refused by name, for the agent (and then the issue) to read.

Three git processes per import, two of them concurrent: the base's listing (`ls-tree`), the ignored
paths (`ls-files`) and `fast-import`. The commit's id comes from fast-import itself (`get-mark`), and
the changed paths from comparing the object ids the walk computes with the base's listing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import stat
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from paid_executor.host_repository import HostRepository, TreeEntry, hardened, host_git_env
from paid_executor.workspace import GitError

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
IMPORT_REF = "refs/paid/import"
"""fast-import's commit names a branch, but the import resets it before the end, so no ref is ever
written: concurrent imports into one host repository (a retried activity beside the attempt it
replaced) take no lock, and the commit is known by its mark."""


@dataclass(frozen=True)
class ImportedChange:
    commit: str
    changed_files: tuple[str, ...]
    refused: tuple[str, ...]  # "path (why)", for the agent's feedback and the issue comment


@dataclass
class _Walk:
    max_file_bytes: int
    ignored: frozenset[bytes]
    gitlinks: dict[bytes, str]  # the base's submodules: kept as they are, never changed by an import
    kept: dict[bytes, bytes | None] = field(default_factory=dict)
    """Written as in the base, whatever the worktree holds; with a link's target, which the agent may
    restore (`git checkout .`) without it counting as a change."""
    refused: list[str] = field(default_factory=list)
    tree: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)
    """Every path the import commits, with its mode and object id (as git computes them), compared
    with the base's to tell what changed."""


async def import_worktree(
    host: HostRepository,
    worktree: Path,
    *,
    base: str,
    message: str,
    max_file_bytes: int,
    allow_workflow_changes: bool,
    kept: Mapping[str, TreeEntry] | None = None,
) -> ImportedChange:
    """Commits the worktree's files on top of `base` in the host's repository (not pushed). `kept`:
    base entries the agent never saw (instructions.py), committed as they were."""
    entries, ignored = await asyncio.gather(host.entries(base), _ignored(host, worktree, base))
    gitlinks = {os.fsencode(path): item.object_id for path, item in entries.items() if item.mode == "160000"}
    kept = kept or {}
    walk = _Walk(max_file_bytes, ignored, gitlinks)
    for path_text, entry in kept.items():
        target = await host.git("cat-file", "blob", entry.object_id) if entry.mode == "120000" else None
        walk.kept[os.fsencode(path_text)] = target
        walk.tree[os.fsencode(path_text)] = (entry.mode.encode(), entry.object_id.encode())
    identity = host.identity
    header = (
        f"commit {IMPORT_REF}\nmark :1\n"
        f"committer {identity.name} <{identity.email}> {int(time.time())} +0000\n"
        f"data {len(message.encode())}\n{message}\n"
        f"from {base}\ndeleteall\n"
    ).encode()
    process = await asyncio.create_subprocess_exec(
        *hardened("fast-import", "--quiet", "--done", "--force"),
        cwd=host.git_dir.parent,
        env=host_git_env(host.git_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    object_id = _object_id_function(entries, base)
    try:
        process.stdin.write(header)
        for path_text, entry in kept.items():
            kept_line = (entry.mode.encode(), entry.object_id.encode(), _quote(os.fsencode(path_text)))
            process.stdin.write(b"M %s %s %s\n" % kept_line)
        async for path, mode, content in _files(walk, worktree, b""):
            if mode == b"160000":
                process.stdin.write(b"M 160000 %s %s\n" % (content, _quote(path)))
                walk.tree[path] = (mode, content)
            else:
                process.stdin.write(b"M %s inline %s\ndata %d\n" % (mode, _quote(path), len(content)))
                process.stdin.write(content + b"\n")
                walk.tree[path] = (mode, object_id(content))
            await process.stdin.drain()
        # The commit's id on stdout; then the branch is reset to nothing, so fast-import writes no ref.
        process.stdin.write(f"get-mark :1\nreset {IMPORT_REF}\n\ndone\n".encode())
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # fast-import stopped; its error follows
    out, err = await process.communicate()
    if process.returncode != 0:
        raise GitError(f"git fast-import failed: {err.decode(errors='replace').strip()}")
    commit = out.decode().strip()
    changed = _changed_paths(entries, walk.tree)
    refused = walk.refused + [
        f"{path} ({why})"
        for path in changed
        if (why := _refusal(path, allow_workflow_changes, os.fsencode(path) in gitlinks)) is not None
    ]
    return ImportedChange(commit=commit, changed_files=tuple(changed), refused=tuple(refused))


async def recommit(
    host: HostRepository, checked: str, *, base: str, message: str, allow_workflow_changes: bool
) -> ImportedChange | None:
    """The tree of an earlier import (`checked`: the one an iteration made after its checks) committed
    again on `base` with `message`, without walking the worktree again: what was checked is what is
    published, whatever a process left behind wrote since. None when this host repository does not
    hold `checked` on `base` (the run moved here, or a history recorded before imports were kept): the
    caller imports the worktree then. The refusals by path are worked out again here; those of the walk
    (files it could not take) are the iteration's, and a run whose iteration refused any never publishes."""
    if not _OBJECT_ID.fullmatch(checked):
        return None
    try:
        header, _, _ = (await host.git("cat-file", "commit", checked)).partition(b"\n\n")
    except GitError:
        return None
    fields = [line.decode().split(" ", 1) for line in header.splitlines()]
    trees = [value for key, value in fields if key == "tree"]
    if len(trees) != 1 or [value for key, value in fields if key == "parent"] != [base]:
        return None
    commit = await host.commit_tree(trees[0], (base,), message)
    changed, entries = await asyncio.gather(host.changed_paths(base, commit), host.entries(base))
    refused = [
        f"{path} ({why})"
        for path in changed
        if (why := _refusal(path, allow_workflow_changes, path in entries and entries[path].mode == "160000"))
        is not None
    ]
    return ImportedChange(commit=commit, changed_files=tuple(changed), refused=tuple(refused))


def _object_id_function(entries: Mapping[str, TreeEntry], base: str) -> Callable[[bytes], bytes]:
    """git's blob id of some content, in the repository's hash (the length of its ids tells which)."""
    sample = next((entry.object_id for entry in entries.values()), base)
    algorithm = "sha256" if len(sample) == 64 else "sha1"

    def blob_id(content: bytes) -> bytes:
        digest = hashlib.new(algorithm, b"blob %d\0" % len(content))
        digest.update(content)
        return digest.hexdigest().encode()

    return blob_id


def _changed_paths(base: Mapping[str, TreeEntry], tree: Mapping[bytes, tuple[bytes, bytes]]) -> list[str]:
    """What `git diff-tree -r --name-only base commit` prints: every path added, removed or changed in
    mode or content, in git's order (bytewise on the whole path)."""
    before = {
        os.fsencode(path): (entry.mode.encode(), entry.object_id.encode()) for path, entry in base.items()
    }
    changed = sorted(path for path in before.keys() | tree.keys() if before.get(path) != tree.get(path))
    return [path.decode(errors="surrogateescape") for path in changed]


def _refusal(path: str, allow_workflow_changes: bool, was_gitlink: bool) -> str | None:
    if was_gitlink:
        return "a submodule; agents do not change submodules"
    if path == ".gitmodules":
        return "submodules are not changed by agents"
    if path.startswith(".github/workflows/") and not allow_workflow_changes:
        return "CI workflows change only where .paid.yml sets allow_workflow_changes"
    return None


async def _ignored(host: HostRepository, worktree: Path, base: str) -> frozenset[bytes]:
    """Untracked paths the repository's .gitignore files exclude, as `git add -A` would skip them.
    git reads only those pattern files here: the configuration is the host repository's. The base's
    files count as tracked through `--with-tree` over an index that does not exist (git reads none),
    so a tracked file a pattern matches is still imported."""
    no_index = {"GIT_INDEX_FILE": str(host.git_dir / "paid-no-index")}
    listing = await host.git(
        f"--work-tree={worktree}",
        "ls-files",
        "-z",
        "--others",
        "--ignored",
        "--exclude-standard",
        "--directory",
        f"--with-tree={base}",
        extra_env=no_index,
    )
    return frozenset(path.rstrip(b"/") for path in listing.split(b"\0") if path)


async def _files(walk: _Walk, root: Path, prefix: bytes) -> AsyncIterator[tuple[bytes, bytes, bytes]]:
    """(path, mode, content) of every committable entry below `prefix`, in a stable order."""
    directory = os.path.join(os.fsencode(root), prefix) if prefix else os.fsencode(root)
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        path = prefix + entry.name
        if path == b".git" or path in walk.ignored:
            continue  # the agent's own repository, or what .gitignore excludes
        info = entry.stat(follow_symlinks=False)
        shown = path.decode(errors="replace")
        if path in walk.kept:
            restored = stat.S_ISLNK(info.st_mode) and os.readlink(entry.path) == walk.kept[path]
            if not restored:
                walk.refused.append(f"{shown} (kept as in the base: the agent was not shown it)")
            continue
        if entry.name.lower() == b".git":
            repository = (prefix.rstrip(b"/") or path).decode(errors="replace")
            walk.refused.append(f"{repository} (a nested git repository: commit its files, not its .git)")
        elif stat.S_ISLNK(info.st_mode):
            yield path, b"120000", os.readlink(entry.path)
        elif path in walk.gitlinks and stat.S_ISDIR(info.st_mode) and not os.listdir(entry.path):
            yield path, b"160000", walk.gitlinks[path].encode()  # an uninitialised submodule, as it was
        elif stat.S_ISDIR(info.st_mode):
            async for item in _files(walk, root, path + b"/"):
                yield item
        elif stat.S_ISREG(info.st_mode):
            if info.st_size > walk.max_file_bytes:
                walk.refused.append(f"{shown} ({info.st_size} bytes, over the {walk.max_file_bytes} allowed)")
                continue
            content = await asyncio.to_thread(_read_regular, entry.path, walk.max_file_bytes)
            if content is None:
                walk.refused.append(f"{shown} (changed while it was read)")
                continue
            yield path, (b"100755" if info.st_mode & stat.S_IXUSR else b"100644"), content
        # Sockets, fifos and devices cannot be committed; they are left out.


def _read_regular(path: bytes, limit: int) -> bytes | None:
    """The file's bytes, opened without following a link; None if it is no longer a regular file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        content = file.read(limit + 1)
        return None if len(content) > limit else content


def _quote(path: bytes) -> bytes:
    """fast-import's C-style quoting, so any byte but NUL may appear in a path."""
    out = bytearray(b'"')
    for byte in path:
        if byte in (0x22, 0x5C):
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b'"')
