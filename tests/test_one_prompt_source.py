"""Each bundled prompt's text lives once in the source tree: in paid_prompt_client's prompts/. A service
that kept its own copy would drift from what evolution seeds and scores. Recorded histories and test
fixtures may quote a prompt; they are not sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

from paid_prompt_client import DEFAULT_PROMPTS
from paid_prompt_client.defaults import PROMPTS_DIR

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCES = ("histories", "fixtures", "node_modules", ".venv")
MIN_LINE = 40  # shorter lines ("Rules:", "{% endfor %}") are not a prompt's own words


def source_files(root: Path) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = [root / name for name in listed.split("\0") if name]
    return [p for p in files if p.is_file() and not set(p.relative_to(root).parts) & set(NOT_SOURCES)]


def prompt_lines(template: str) -> list[str]:
    return [line.strip() for line in template.splitlines() if len(line.strip()) >= MIN_LINE]


def copies(root: Path, templates: dict[str, str]) -> dict[str, list[str]]:
    """For each prompt, every other file that holds one of its lines."""
    found: dict[str, list[str]] = {version: [] for version in templates}
    for path in source_files(root):
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for version, template in templates.items():
            if any(line in text for line in prompt_lines(template)):
                found[version].append(path.relative_to(root).as_posix())
    return {version: sorted(paths) for version, paths in found.items()}


def test_each_bundled_prompt_exists_once() -> None:
    templates = {prompt.version: prompt.template for prompt in DEFAULT_PROMPTS.values()}
    bundled = {version: (PROMPTS_DIR / f"{version}.md").relative_to(ROOT).as_posix() for version in templates}
    assert all(prompt_lines(template) for template in templates.values())
    assert copies(ROOT, templates) == {version: [bundled[version]] for version in templates}


def test_the_check_finds_a_copy_in_a_service(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    template = "Mend ticket {{ number }} of {{ repo }} for the synthetic check, nothing more.\nShort.\n"
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "coding@1.md").write_text(template)
    (tmp_path / "services" / "executor").mkdir(parents=True)
    (tmp_path / "services" / "executor" / "prompts.py").write_text(f'TEMPLATE = """{template}"""\n')
    (tmp_path / "services" / "executor" / "histories").mkdir()
    (tmp_path / "services" / "executor" / "histories" / "run.json").write_text(template)
    assert copies(tmp_path, {"coding@1": template}) == {
        "coding@1": ["libs/coding@1.md", "services/executor/prompts.py"]
    }
