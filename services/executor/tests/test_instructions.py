"""Repository instructions reach the agent from the base commit only: a linked or oversized
AGENTS.md, CLAUDE.md or GEMINI.md leaves the agent's worktree (so no CLI follows it) and the PR keeps
it as it was; AGENTS.md reaches the prompt of a CLI that does not read it itself, as data."""

from __future__ import annotations

import os
from pathlib import Path

from paid_executor.agents.registry import adapter_for
from paid_executor.config import ExecutorSettings
from paid_executor.host_repository import HostRepository
from paid_executor.instructions import (
    MAX_INSTRUCTION_BYTES,
    agents_md,
    hidden_instructions,
    hide_from_agent,
    with_agents_md,
)
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity
from paid_executor.worktree_import import import_worktree

from .conftest import git


async def checked_out(
    tmp_path: Path, files: dict[str, str], links: dict[str, str]
) -> tuple[HostRepository, Path, str]:
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "--quiet", "--initial-branch=main")
    for name, text in files.items():
        (source / name).write_text(text)
    for name, target in links.items():
        (source / name).symlink_to(target)
    git(source, "add", "-A")
    git(source, "commit", "--quiet", "-m", "initial")
    host = HostRepository(tmp_path / "run" / "host.git", identity=Identity("Paid", "p@x"))
    mirrored = await RepositoryCache(tmp_path / "cache", max_bytes=10**9).refresh(str(source), "main")
    await host.attach_base(mirrored.mirror, mirrored.base_sha)
    worktree = tmp_path / "run" / "worktree"
    await host.check_out(worktree, "paid/issue-1", public_url="https://example.invalid/r.git")
    return host, worktree, mirrored.base_sha


async def test_linked_and_oversized_instructions_never_reach_the_agent_and_stay_in_the_pr(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("host secret")
    host, worktree, base = await checked_out(
        tmp_path,
        {"calc.py": "x = 1\n", "CLAUDE.md": "x" * (MAX_INSTRUCTION_BYTES + 1), "GEMINI.md": "Use tabs.\n"},
        {"AGENTS.md": str(secret)},
    )
    hidden = await hidden_instructions(host, base)
    assert sorted(hidden) == ["AGENTS.md", "CLAUDE.md"]
    hide_from_agent(worktree, hidden)
    assert not os.path.lexists(worktree / "AGENTS.md")
    assert not (worktree / "CLAUDE.md").exists()
    assert (worktree / "GEMINI.md").read_text() == "Use tabs.\n"
    assert secret.read_text() == "host secret", "the link was removed, never followed"
    assert await agents_md(host, base) is None

    (worktree / "calc.py").write_text("x = 2\n")
    imported = await import_worktree(
        host,
        worktree,
        base=base,
        message="m",
        max_file_bytes=10**6,
        allow_workflow_changes=False,
        kept=hidden,
    )
    assert imported.changed_files == ("calc.py",)
    assert imported.refused == ()
    entries = await host.entries(imported.commit)
    assert entries["AGENTS.md"] == hidden["AGENTS.md"]
    assert entries["CLAUDE.md"] == hidden["CLAUDE.md"]


async def test_an_agent_that_restores_the_link_changes_nothing_and_one_that_writes_there_is_refused(
    tmp_path: Path,
) -> None:
    host, worktree, base = await checked_out(tmp_path, {"calc.py": "x = 1\n"}, {"AGENTS.md": "/etc/passwd"})
    hidden = await hidden_instructions(host, base)
    hide_from_agent(worktree, hidden)

    git(worktree, "checkout", "--", "AGENTS.md")  # what `git checkout .` in the agent's copy does
    restored = await import_worktree(
        host,
        worktree,
        base=base,
        message="m",
        max_file_bytes=10**6,
        allow_workflow_changes=False,
        kept=hidden,
    )
    assert restored.changed_files == ()
    assert restored.refused == ()

    (worktree / "AGENTS.md").unlink()
    (worktree / "AGENTS.md").write_text("my own rules\n")
    written = await import_worktree(
        host,
        worktree,
        base=base,
        message="m",
        max_file_bytes=10**6,
        allow_workflow_changes=False,
        kept=hidden,
    )
    assert written.changed_files == ()
    assert written.refused == ("AGENTS.md (kept as in the base: the agent was not shown it)",)


async def test_agents_md_is_read_from_the_base_commit_and_added_as_data(tmp_path: Path) -> None:
    host, worktree, base = await checked_out(tmp_path, {"AGENTS.md": "Run {tests} with `make`.\n"}, {})
    (worktree / "AGENTS.md").write_text("the agent's later edit\n")
    text = await agents_md(host, base)
    assert text == "Run {tests} with `make`.\n"
    prompt = with_agents_md("Fix the issue.", text)
    assert prompt.startswith("Fix the issue.")
    assert "<repository-instructions>\nRun {tests} with `make`.\n</repository-instructions>" in prompt
    assert with_agents_md("Fix the issue.", None) == "Fix the issue."


def test_agents_md_goes_in_the_prompt_exactly_for_the_clis_that_do_not_read_it() -> None:
    settings = ExecutorSettings()
    in_prompt = {
        agent
        for agent in ("demo", "claude", "aider", "opencode", "codex", "gemini")
        if adapter_for(agent, settings).agents_md_in_prompt
    }
    assert in_prompt == {"claude", "aider"}


async def test_a_directory_named_like_an_instructions_file_is_left_alone(tmp_path: Path) -> None:
    host, worktree, base = await checked_out(tmp_path, {"calc.py": "x = 1\n"}, {})
    (worktree / "CLAUDE.md").mkdir()
    (worktree / "CLAUDE.md" / "notes.txt").write_text("n\n")
    git(worktree, "add", "-A")
    git(worktree, "-c", "user.name=a", "-c", "user.email=a@x", "commit", "--quiet", "-m", "dir")
    imported = await import_worktree(
        host, worktree, base=base, message="m", max_file_bytes=10**6, allow_workflow_changes=False
    )
    assert await hidden_instructions(host, imported.commit) == {}
