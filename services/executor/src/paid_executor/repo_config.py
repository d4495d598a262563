""".paid.yml: how Paid works in one repository (checks, agent, limits), or what it detects when absent.

```yaml
test: python -m pytest -q          # one command or a list
lint: [ruff check .]
agent: codex                        # an agent the project allows (agents/choice.py), never `command`
model: gpt-5
max_iterations: 3
forbidden_paths: [".github/**", "migrations/**"]
max_changed_lines: 400
time_limit_minutes: 30
max_cost_usd: 2.5                   # the run's budget: may only lower Paid's (max_tokens too)
```
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass
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
    agent: Literal["demo", "claude", "aider", "opencode", "codex", "gemini", "command"] | None = None
    model: str | None = None
    max_iterations: int = Field(default=3, ge=1, le=20)
    forbidden_paths: Annotated[list[str], BeforeValidator(_as_list)] = Field(default_factory=list)
    max_changed_lines: int | None = Field(default=None, ge=1)
    time_limit_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    allow_workflow_changes: bool = Field(
        default=False, description="whether agents may change .github/workflows (CI with the repo's secrets)"
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="the run's token budget; may only lower Paid's"
    )
    max_cost_usd: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="the run's budget in USD; may only lower"
    )
    source: str = Field(default="detected", description="`.paid.yml`, or how the checks were detected")

    def budget_raise(self, *, max_tokens: int | None, max_cost_usd: float | None) -> str | None:
        """Why the file's budget cannot be used: anyone who can push may edit it, so it may only
        lower the budget Paid set for the run, never raise or remove it."""
        name = self.source.partition(" + ")[0]
        if self.max_tokens is not None and max_tokens is not None and self.max_tokens > max_tokens:
            return (
                f"{name} may only lower budgets: its max_tokens {self.max_tokens} is above the "
                f"run's budget of {max_tokens} tokens"
            )
        if self.max_cost_usd is not None and max_cost_usd is not None and self.max_cost_usd > max_cost_usd:
            return (
                f"{name} may only lower budgets: its max_cost_usd ${self.max_cost_usd:.2f} is above "
                f"the run's budget of ${max_cost_usd:.2f}"
            )
        return None

    def forbidden_matches(self, paths: list[str]) -> list[str]:
        return [path for path in paths if any(_matches(path, rule) for rule in self.forbidden_paths)]


def _matches(path: str, rule: str) -> bool:
    rule = rule.strip().lstrip("/")
    if rule.endswith("/"):
        rule += "**"
    # `dir/**` covers everything below dir; fnmatch's * already crosses slashes.
    return fnmatch.fnmatchcase(path, rule) or (rule.endswith("/**") and path.startswith(rule[:-2]))


@dataclass(frozen=True)
class RepoFiles:
    """The base commit as configuration sees it: every path's git mode, and the content of the few
    regular files it reads. Built from the host's repository, never from the agent's worktree."""

    modes: dict[str, str]
    contents: dict[str, bytes]

    def is_file(self, path: str) -> bool:
        return self.modes.get(path) in REGULAR_MODES

    def text(self, path: str) -> str | None:
        content = self.contents.get(path) if self.is_file(path) else None
        return None if content is None else content.decode(errors="replace")


REGULAR_MODES = frozenset({"100644", "100755"})
READ_FILES = (CONFIG_FILE, *ALTERNATIVE_NAMES, "package.json", "pyproject.toml")


def load_repo_config(files: RepoFiles) -> RepoConfig:
    """The checked-in config completed by detection, or detection alone; RepoConfigError when invalid."""
    name = next((name for name in (CONFIG_FILE, *ALTERNATIVE_NAMES) if name in files.modes), None)
    if name is None:
        return detect(files)
    if not files.is_file(name):
        raise RepoConfigError(f"{name} must be a regular file (Paid does not follow links)")
    content = files.contents.get(name, b"")
    if len(content) > MAX_CONFIG_BYTES:
        raise RepoConfigError(f"{name} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = yaml.safe_load(content.decode()) or {}
    except UnicodeDecodeError:
        raise RepoConfigError(f"{name} is not UTF-8 text") from None
    except yaml.YAMLError as error:
        # The position and the parser's own words only: the file's text never reaches a comment.
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise RepoConfigError(f"{name} is not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise RepoConfigError(f"{name} must be a mapping of settings, not {type(document).__name__}")
    try:
        config = RepoConfig.model_validate({**document, "source": name})
    except ValidationError as error:
        problems = "; ".join(f"`{_location(problem['loc'])}`: {problem['msg']}" for problem in error.errors())
        raise RepoConfigError(f"{name} is invalid: {problems}") from None
    if not config.test and "test" not in document:
        detected = detect(files)
        return config.model_copy(update={"test": detected.test, "source": f"{name} + {detected.source}"})
    return config


def _location(loc: tuple[int | str, ...]) -> str:
    """A setting's name as the file spells it, cut short and reduced to plain characters."""
    text = ".".join(str(part) for part in loc) or "(top)"
    return re.sub(r"[^A-Za-z0-9_.\-]", "?", text)[:60]


def detect(files: RepoFiles) -> RepoConfig:
    """Checks by language when the repository does not say: the first ecosystem found wins."""
    if files.is_file("package.json"):
        scripts = _npm_scripts(files.text("package.json") or "")
        if "test" in scripts:
            lint = ["npm run --silent lint"] if "lint" in scripts else []
            return RepoConfig(test=["npm test --silent"], lint=lint, source="detected: package.json")
    if files.is_file("go.mod"):
        return RepoConfig(test=["go test ./..."], lint=["go vet ./..."], source="detected: go.mod")
    if files.is_file("Cargo.toml"):
        return RepoConfig(test=["cargo test --quiet"], source="detected: Cargo.toml")
    if _has_python_tests(files):
        lint = ["ruff check ."] if _uses_ruff(files.text("pyproject.toml") or "") else []
        return RepoConfig(test=["python -m pytest -q -x"], lint=lint, source="detected: pytest")
    return RepoConfig(source="detected: no test command")


def _npm_scripts(package_json: str) -> dict[str, object]:
    try:
        document = json.loads(package_json)
    except ValueError:
        return {}
    scripts = document.get("scripts") if isinstance(document, dict) else None
    return scripts if isinstance(scripts, dict) else {}


def _has_python_tests(files: RepoFiles) -> bool:
    if any(files.is_file(marker) for marker in ("pytest.ini", "conftest.py", "tox.ini")):
        return True
    for path in files.modes:
        folder, _, name = path.rpartition("/")
        if not files.is_file(path):
            continue
        if path.startswith("tests/") and fnmatch.fnmatchcase(name, "test_*.py"):
            return True
        if not folder and (fnmatch.fnmatchcase(name, "test_*.py") or fnmatch.fnmatchcase(name, "*_test.py")):
            return True
    return False


def _uses_ruff(pyproject: str) -> bool:
    try:
        document = tomllib.loads(pyproject)
    except tomllib.TOMLDecodeError:
        return False
    return "ruff" in document.get("tool", {})
