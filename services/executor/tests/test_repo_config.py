"""`.paid.yml` parsing and the per-language detection used when it is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paid_executor.repo_config import RepoConfigError, load_repo_config


def test_a_full_config_is_read(tmp_path: Path) -> None:
    (tmp_path / ".paid.yml").write_text(
        "test: [make test]\nlint: ruff check .\nagent: claude\nmodel: claude-sonnet-4-5\n"
        "max_iterations: 5\nforbidden_paths: ['.github/', 'db/migrations/**']\nmax_changed_lines: 300\n"
        "time_limit_minutes: 20\n"
    )
    config = load_repo_config(tmp_path)
    assert config.test == ["make test"]
    assert config.lint == ["ruff check ."]
    assert config.agent == "claude"
    assert config.max_iterations == 5
    assert config.max_changed_lines == 300
    assert config.time_limit_minutes == 20
    assert config.source == ".paid.yml"
    assert config.forbidden_matches([".github/workflows/ci.yml", "src/app.py", "db/migrations/0001.sql"]) == [
        ".github/workflows/ci.yml",
        "db/migrations/0001.sql",
    ]


def test_a_config_without_test_commands_gets_detected_ones(tmp_path: Path) -> None:
    (tmp_path / ".paid.yml").write_text("max_iterations: 2\n")
    (tmp_path / "go.mod").write_text("module example.com/x\n")
    config = load_repo_config(tmp_path)
    assert config.test == ["go test ./..."]
    assert config.max_iterations == 2
    assert config.source == ".paid.yml + detected: go.mod"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("max_iterations: 0\n", "`max_iterations`"),
        ("agent: gpt\n", "`agent`"),
        ("unknown_key: 1\n", "`unknown_key`"),
        ("test: [1, [2]]\n", "`test."),
        ("- just\n- a list\n", "must be a mapping"),
        ("test: [unclosed\n", "not valid YAML"),
    ],
)
def test_an_invalid_config_is_refused_with_a_clear_message(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / ".paid.yml").write_text(text)
    with pytest.raises(RepoConfigError, match=r"\.paid\.yml") as raised:
        load_repo_config(tmp_path)
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    ("files", "test", "lint"),
    [
        (
            {"package.json": json.dumps({"scripts": {"test": "jest", "lint": "eslint ."}})},
            ["npm test --silent"],
            ["npm run --silent lint"],
        ),
        ({"go.mod": "module x\n"}, ["go test ./..."], ["go vet ./..."]),
        ({"Cargo.toml": "[package]\nname='x'\n"}, ["cargo test --quiet"], []),
        (
            {"pyproject.toml": "[tool.ruff]\n", "tests/test_x.py": ""},
            ["python -m pytest -q -x"],
            ["ruff check ."],
        ),
        ({"test_calc.py": ""}, ["python -m pytest -q -x"], []),
        ({"README.md": "hi"}, [], []),
    ],
)
def test_detection_per_language(
    tmp_path: Path, files: dict[str, str], test: list[str], lint: list[str]
) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    config = load_repo_config(tmp_path)
    assert config.test == test
    assert config.lint == lint
