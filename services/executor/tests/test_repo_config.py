"""`.paid.yml` parsing and the per-language detection used when it is absent."""

from __future__ import annotations

import json

import pytest

from paid_executor.repo_config import RepoConfigError, RepoFiles, load_repo_config


def tree(files: dict[str, str], links: dict[str, str] | None = None) -> RepoFiles:
    """A base commit's files as the host repository reports them: regular files and links."""
    modes = {path: "100644" for path in files} | {path: "120000" for path in links or {}}
    contents = {path: text.encode() for path, text in files.items()}
    return RepoFiles(modes=modes, contents=contents)


def test_a_full_config_is_read() -> None:
    text = (
        "test: [make test]\nlint: ruff check .\nagent: claude\nmodel: claude-sonnet-4-5\n"
        "max_iterations: 5\nforbidden_paths: ['.github/', 'db/migrations/**']\nmax_changed_lines: 300\n"
        "time_limit_minutes: 20\n"
    )
    config = load_repo_config(tree({".paid.yml": text}))
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


def test_a_config_without_test_commands_gets_detected_ones() -> None:
    config = load_repo_config(tree({".paid.yml": "max_iterations: 2\n", "go.mod": "module example.com/x\n"}))
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
def test_an_invalid_config_is_refused_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(RepoConfigError, match=r"\.paid\.yml") as raised:
        load_repo_config(tree({".paid.yml": text}))
    assert fragment in str(raised.value)


def test_a_yaml_error_does_not_quote_the_file() -> None:
    secret = "ghp_should_never_be_echoed"
    with pytest.raises(RepoConfigError) as raised:
        load_repo_config(tree({".paid.yml": f"test: [{secret}\nlint: {{\n"}))
    assert secret not in str(raised.value)
    assert "line" in str(raised.value)


def test_a_key_name_is_not_echoed_as_markup() -> None:
    with pytest.raises(RepoConfigError) as raised:
        load_repo_config(tree({".paid.yml": "'<img src=x onerror=alert(1)> [link](http://evil)': 1\n"}))
    assert "<img" not in str(raised.value)
    assert "](" not in str(raised.value)


def test_a_symlinked_config_is_refused_not_followed() -> None:
    with pytest.raises(RepoConfigError, match="regular file"):
        load_repo_config(tree({"go.mod": "module x\n"}, links={".paid.yml": "/etc/passwd"}))


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
def test_detection_per_language(files: dict[str, str], test: list[str], lint: list[str]) -> None:
    config = load_repo_config(tree(files))
    assert config.test == test
    assert config.lint == lint


@pytest.mark.parametrize(
    ("text", "run_tokens", "run_usd", "refusal"),
    [
        (
            "max_cost_usd: 1000000\n",
            None,
            5.0,
            "may only lower budgets: its max_cost_usd $1000000.00 is above",
        ),
        (
            "max_tokens: 99999999\n",
            5_000_000,
            None,
            "may only lower budgets: its max_tokens 99999999 is above",
        ),
        ("max_cost_usd: 1.5\nmax_tokens: 1000\n", 5_000_000, 5.0, None),
        ("max_cost_usd: 50\n", None, None, None),  # Paid set no limit: any limit lowers it
    ],
)
def test_a_paid_yml_may_lower_the_run_budget_but_never_raise_it(
    text: str, run_tokens: int | None, run_usd: float | None, refusal: str | None
) -> None:
    config = load_repo_config(tree({".paid.yml": text}))
    raised = config.budget_raise(max_tokens=run_tokens, max_cost_usd=run_usd)
    if refusal is None:
        assert raised is None
    else:
        assert raised is not None
        assert raised.startswith(".paid.yml " + refusal)


@pytest.mark.parametrize(
    "text", ["max_cost_usd: .inf\n", "max_cost_usd: .nan\n", "max_cost_usd: -1\n", "max_tokens: 0\n"]
)
def test_a_budget_that_is_no_limit_in_disguise_is_refused(text: str) -> None:
    with pytest.raises(RepoConfigError, match=r"max_(cost_usd|tokens)"):
        load_repo_config(tree({".paid.yml": text}))
