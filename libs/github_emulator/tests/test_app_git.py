"""Installation tokens over git smart HTTP: repository scope, `contents` to push, `workflows` for CI."""

from __future__ import annotations

from pathlib import Path

from .app_world import AppWorld, app_world
from .test_git_and_pulls import git

__all__ = ["app_world"]


def clone(world: AppWorld, repo: str, token: str, into: Path) -> Path:
    checkout = into / f"{repo}-{len(list(into.iterdir()))}"
    cloned = git("clone", world.emu.git_url("octo-org", repo, token), str(checkout))
    assert cloned.returncode == 0, cloned.stderr
    return checkout


def commit(checkout: Path, path: str, content: str) -> None:
    target = checkout / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    git("add", "-A", cwd=checkout)
    assert git("commit", "-m", f"Change {path}", cwd=checkout).returncode == 0


def test_a_token_clones_and_pushes_only_its_own_repository(app_world: AppWorld, tmp_path: Path) -> None:
    token = app_world.mint(["alpha"], {"contents": "write"})
    checkout = clone(app_world, "alpha", token, tmp_path)
    commit(checkout, "src/app.py", "X = 1\n")
    pushed = git("push", "origin", "HEAD:paid/issue-1", cwd=checkout)
    assert pushed.returncode == 0, pushed.stderr
    assert app_world.emu.branch_sha("octo-org", "alpha", "paid/issue-1") is not None

    refused = git("clone", app_world.emu.git_url("octo-org", "beta", token), str(tmp_path / "beta"))
    assert refused.returncode != 0
    assert "not found" in refused.stderr.lower()
    log = app_world.emu.access_log()
    refused_on_beta = [r for r in log if r.path.startswith("/octo-org/beta.git/") and r.status == 404]
    assert refused_on_beta
    assert refused_on_beta[0].credential.startswith("installation-token:")
    assert all(token not in f"{r.path} {r.credential}" for r in log)


def test_a_read_only_token_clones_but_cannot_push(app_world: AppWorld, tmp_path: Path) -> None:
    token = app_world.mint(["alpha"], {"contents": "read"})
    checkout = clone(app_world, "alpha", token, tmp_path)
    commit(checkout, "NOTES.md", "notes\n")
    pushed = git("push", "origin", "HEAD:paid/read-only", cwd=checkout)
    assert pushed.returncode != 0
    assert "403" in pushed.stderr
    assert app_world.emu.branch_sha("octo-org", "alpha", "paid/read-only") is None


def test_workflow_changes_need_the_workflows_permission(app_world: AppWorld, tmp_path: Path) -> None:
    without = app_world.mint(["alpha"], {"contents": "write"})
    checkout = clone(app_world, "alpha", without, tmp_path)
    commit(checkout, ".github/workflows/ci.yml", "on: push\n")
    commit(checkout, "README.md", "# alpha, later\n")
    pushed = git("push", "origin", "HEAD:paid/ci", cwd=checkout)
    assert pushed.returncode != 0
    assert "without `workflows` permission" in pushed.stderr
    assert app_world.emu.branch_sha("octo-org", "alpha", "paid/ci") is None
    pushed_to_main = git("push", "origin", "HEAD:main", cwd=checkout)
    assert pushed_to_main.returncode != 0
    assert app_world.emu.file_content("octo-org", "alpha", ".github/workflows/ci.yml") is None

    allowed = app_world.mint(["alpha"], {"contents": "write", "workflows": "write"})
    git("remote", "set-url", "origin", app_world.emu.git_url("octo-org", "alpha", allowed), cwd=checkout)
    pushed = git("push", "origin", "HEAD:paid/ci", cwd=checkout)
    assert pushed.returncode == 0, pushed.stderr
    assert (
        app_world.emu.file_content("octo-org", "alpha", ".github/workflows/ci.yml", "paid/ci") == "on: push\n"
    )


def test_an_expired_or_revoked_token_is_refused_by_git(app_world: AppWorld, tmp_path: Path) -> None:
    token = app_world.mint(["alpha"], {"contents": "write"})
    app_world.emu.advance_clock(3601)
    refused = git("clone", app_world.emu.git_url("octo-org", "alpha", token), str(tmp_path / "late"))
    assert refused.returncode != 0
