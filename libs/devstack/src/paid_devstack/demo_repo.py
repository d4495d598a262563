"""The demo's repository on the GitHub emulator: a small project with a failing test, and an issue
whose body describes the fix as a fenced diff (which the shipped demo agent applies)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from paid_github_emulator import GitHubEmulator

MAINTAINER = "alice"
BOT = "paid-bot"
BUILD_LABEL = "paid-build"

CALC_BUGGY = '''"""A tiny calculator."""


def add(a: int, b: int) -> int:
    return a - b


def multiply(a: int, b: int) -> int:
    return a * b
'''
CALC_FIXED = CALC_BUGGY.replace("return a - b", "return a + b")
TESTS = """import unittest

from calc import add, multiply


class CalcTest(unittest.TestCase):
    def test_add(self) -> None:
        self.assertEqual(add(2, 3), 5)

    def test_multiply(self) -> None:
        self.assertEqual(multiply(2, 3), 6)


if __name__ == "__main__":
    unittest.main()
"""
README = "# calculator\n\nRun the tests with `python -m unittest`.\n"


@dataclass(frozen=True)
class DemoIssue:
    owner: str
    repo: str
    number: int
    html_url: str


def fix_diff() -> str:
    lines = difflib.unified_diff(
        CALC_BUGGY.splitlines(keepends=True),
        CALC_FIXED.splitlines(keepends=True),
        fromfile="a/calc.py",
        tofile="b/calc.py",
    )
    return "".join(lines)


def issue_body() -> str:
    return (
        "`add(2, 3)` returns `-1`: `add` subtracts instead of adding, so `test_add` fails.\n\n"
        "Fix `add` in `calc.py` so that it returns the sum:\n\n"
        f"```diff\n{fix_diff()}```\n"
    )


ISSUE_EVENTS = ("issues", "issue_comment")
ROUND_EVENTS = (*ISSUE_EVENTS, "pull_request", "pull_request_review")  # what brings Paid back to its PR


def seed_demo_repository(
    emulator: GitHubEmulator,
    *,
    owner: str,
    repo: str,
    webhook_url: str,
    webhook_secret: str,
    hook_events: tuple[str, ...] = ISSUE_EVENTS,
) -> DemoIssue:
    """Creates the repository, its webhook to Paid's gateway (for `hook_events`), and the issue (not yet
    labeled)."""
    emulator.create_repository(
        owner,
        repo,
        {"calc.py": CALC_BUGGY, "test_calc.py": TESTS, "README.md": README},
        description="Paid demo: a calculator whose add() is broken",
    )
    emulator.set_permission(owner, repo, BOT, "write")
    emulator.create_hook(owner, repo, webhook_url, secret=webhook_secret, events=list(hook_events))
    issue = emulator.create_issue(owner, repo, title="add() subtracts", body=issue_body(), as_user=MAINTAINER)
    return DemoIssue(owner=owner, repo=repo, number=int(issue["number"]), html_url=str(issue["html_url"]))
