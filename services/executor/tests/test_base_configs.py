"""A base commit's configuration is read from the repository once per process: the commit id names
its content. A ref (which moves) is never a key, and a configuration that fails to load fails again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paid_executor.base_configs import base_config
from paid_executor.host_repository import HostRepository
from paid_executor.repo_config import RepoConfigError
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity

from .conftest import git
from .test_repository_cache import commit, make_origin


async def host_over(origin: Path, tmp_path: Path, name: str) -> tuple[HostRepository, str]:
    cache = RepositoryCache(tmp_path / f"cache-{name}", max_bytes=10**9)
    mirrored = await cache.refresh(str(origin), "main")
    host = HostRepository(tmp_path / f"{name}.host.git", identity=Identity("Paid", "p@x"))
    await host.attach_base(mirrored.mirror, mirrored.base_sha)
    return host, mirrored.base_sha


async def test_a_base_is_read_once_and_another_base_is_read_anew(tmp_path: Path) -> None:
    origin = make_origin(tmp_path / "origin")
    (origin / ".paid.yml").write_text(f"max_iterations: 3\nlint: [echo {tmp_path.name}]\n")
    commit(origin, ".paid.yml", (origin / ".paid.yml").read_text())
    host, base = await host_over(origin, tmp_path, "first")
    assert (await base_config(host, base)).max_iterations == 3

    shutil.rmtree(host.git_dir)  # nothing left to read: the kept configuration answers
    assert (await base_config(host, base)).max_iterations == 3

    commit(origin, ".paid.yml", f"max_iterations: 5\nlint: [echo {tmp_path.name}]\n")
    moved, newer = await host_over(origin, tmp_path, "second")
    assert (await base_config(moved, newer)).max_iterations == 5


async def test_a_ref_is_read_every_time(tmp_path: Path) -> None:
    origin = make_origin(tmp_path / "origin")
    commit(origin, ".paid.yml", f"max_iterations: 3\nlint: [echo {tmp_path.name}]\n")
    host, _ = await host_over(origin, tmp_path, "first")
    assert (await base_config(host, "refs/paid/base")).max_iterations == 3

    moved = commit(origin, ".paid.yml", f"max_iterations: 4\nlint: [echo {tmp_path.name}]\n")
    mirror = RepositoryCache(tmp_path / "cache-first", max_bytes=10**9)
    await mirror.refresh(str(origin), "main")
    await host.git("update-ref", "refs/paid/base", moved)
    assert (await base_config(host, "refs/paid/base")).max_iterations == 4


async def test_an_invalid_configuration_fails_each_time(tmp_path: Path) -> None:
    origin = make_origin(tmp_path / "origin")
    commit(origin, ".paid.yml", f"max_iterations: -1  # {tmp_path.name}\n")
    host, base = await host_over(origin, tmp_path, "first")
    with pytest.raises(RepoConfigError) as first:
        await base_config(host, base)
    with pytest.raises(RepoConfigError) as again:
        await base_config(host, base)
    assert str(again.value) == str(first.value)
    assert git(origin, "rev-parse", "HEAD").strip() == base
