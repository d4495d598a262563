""".paid.yml: how Paid works in one repository (checks, agent, limits), or what it detects when absent.

```yaml
test: python -m pytest -q          # one command or a list
lint: [ruff check .]
agent: claude                       # demo | claude | command
model: claude-sonnet-4-5
max_iterations: 3
forbidden_paths: [".github/**", "migrations/**"]
max_changed_lines: 400
time_limit_minutes: 30
```
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

CONFIG_FILE = ".paid.yml"
ALTERNATIVE_NAMES = (".paid.yaml",)
MAX_CONFIG_BYTES = 64_000


class RepoConfigError(ValueError):
    """The repository's .paid.yml cannot be used; the message is meant for the issue's author."""


def _as_list(value: object) -> object:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [] if value is None else value


Commands = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_as_list)]


class RepoConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    test: Commands = Field(default_factory=list, description="commands that must pass; none -> detected")
    lint: Commands = Field(default_factory=list)
    agent: Literal["demo", "claude", "command"] | None = None
    model: str | None = None
    max_iterations: int = Field(default=3, ge=1, le=20)
    forbidden_paths: Annotated[list[str], BeforeValidator(_as_list)] = Field(default_factory=list)
    max_changed_lines: int | None = Field(default=None, ge=1)
    time_limit_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    source: str = Field(default="detected", description="`.paid.yml`, or how the checks were detected")

    def forbidden_matches(self, paths: list[str]) -> list[str]:
        return [path for path in paths if any(_matches(path, rule) for rule in self.forbidden_paths)]


def _matches(path: str, rule: str) -> bool:
    rule = rule.strip().lstrip("/")
    if rule.endswith("/"):
        rule += "**"
    # `dir/**` covers everything below dir; fnmatch's * already crosses slashes.
    return fnmatch.fnmatchcase(path, rule) or (rule.endswith("/**") and path.startswith(rule[:-2]))


def load_repo_config(worktree: Path) -> RepoConfig:
    """The checked-in config completed by detection, or detection alone; RepoConfigError when invalid."""
    found = next(
        (worktree / name for name in (CONFIG_FILE, *ALTERNATIVE_NAMES) if (worktree / name).is_file()), None
    )
    if found is None:
        return detect(worktree)
    if found.stat().st_size > MAX_CONFIG_BYTES:
        raise RepoConfigError(f"{found.name} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = yaml.safe_load(found.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise RepoConfigError(f"{found.name} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise RepoConfigError(f"{found.name} must be a mapping of settings, not {type(document).__name__}")
    try:
        config = RepoConfig.model_validate({**document, "source": found.name})
    except ValidationError as error:
        problems = "; ".join(
            f"`{'.'.join(str(part) for part in problem['loc']) or '(top)'}`: {problem['msg']}"
            for problem in error.errors()
        )
        raise RepoConfigError(f"{found.name} is invalid: {problems}") from None
    if not config.test and "test" not in document:
        detected = detect(worktree)
        return config.model_copy(
            update={"test": detected.test, "source": f"{found.name} + {detected.source}"}
        )
    return config


def detect(worktree: Path) -> RepoConfig:
    """Checks by language when the repository does not say: the first ecosystem found wins."""
    package_json = worktree / "package.json"
    if package_json.is_file():
        scripts = _npm_scripts(package_json)
        if "test" in scripts:
            lint = ["npm run --silent lint"] if "lint" in scripts else []
            return RepoConfig(test=["npm test --silent"], lint=lint, source="detected: package.json")
    if (worktree / "go.mod").is_file():
        return RepoConfig(test=["go test ./..."], lint=["go vet ./..."], source="detected: go.mod")
    if (worktree / "Cargo.toml").is_file():
        return RepoConfig(test=["cargo test --quiet"], source="detected: Cargo.toml")
    if _has_python_tests(worktree):
        lint = ["ruff check ."] if _uses_ruff(worktree / "pyproject.toml") else []
        return RepoConfig(test=["python -m pytest -q -x"], lint=lint, source="detected: pytest")
    return RepoConfig(source="detected: no test command")


def _npm_scripts(package_json: Path) -> dict[str, object]:
    try:
        document = json.loads(package_json.read_text())
    except (ValueError, UnicodeDecodeError):
        return {}
    scripts = document.get("scripts") if isinstance(document, dict) else None
    return scripts if isinstance(scripts, dict) else {}


def _has_python_tests(worktree: Path) -> bool:
    markers = ("pytest.ini", "conftest.py", "tox.ini")
    if any((worktree / marker).is_file() for marker in markers):
        return True
    if (worktree / "tests").is_dir() and any((worktree / "tests").rglob("test_*.py")):
        return True
    return any(worktree.glob("test_*.py")) or any(worktree.glob("*_test.py"))


def _uses_ruff(pyproject: Path) -> bool:
    try:
        document = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "ruff" in document.get("tool", {})
