"""A dev stack that stops releases what its executor left mounted under its workspace root (a killed
executor's overlay worktrees), and nothing mounted elsewhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from paid_devstack.mounts import mounts_under, release_mounts
from paid_devstack.platform import PaidPlatform, PlatformConfig


def overlay(at: Path) -> Path | None:
    """An overlay mounted at `at/merged`, or None where this host may not mount."""
    layers = [at / name for name in ("lower", "upper", "work", "merged")]
    for layer in layers:
        layer.mkdir(parents=True)
    options = f"lowerdir={layers[0]},upperdir={layers[1]},workdir={layers[2]}"
    try:
        mounted = subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", options, str(layers[3])], capture_output=True
        )
    except OSError:
        return None
    return layers[3] if mounted.returncode == 0 else None


def test_a_stopped_platform_releases_the_mounts_under_its_workspace_root(tmp_path: Path) -> None:
    config = PlatformConfig(
        home=tmp_path / "home", github_api_url="http://127.0.0.1:9", github_token="t", webhook_secret="s"
    )
    platform = PaidPlatform(config)
    left = overlay(platform.workspace_root / "exec-alice-calc-1" / "run-1")
    if left is None:
        pytest.skip("needs permission to mount overlayfs (CAP_SYS_ADMIN)")
    elsewhere = overlay(tmp_path / "elsewhere")
    assert elsewhere is not None
    try:
        platform.stop()  # nothing was started: only the executor's leftovers to release

        assert mounts_under(platform.workspace_root) == []
        assert mounts_under(tmp_path) == [elsewhere]
    finally:
        release_mounts(tmp_path)
    assert mounts_under(tmp_path) == []
