"""Review mode's findings and the one review they become.

Trust boundary: the findings file is written by the agent, which read a pull request that may come
from a fork, so everything in it is hostile. It is parsed strictly (unknown fields, paths that leave
the repository, oversized text and too many findings are refused, not trimmed), and its text is
posted only as the data of a comment: it is never formatted as a template, it cannot carry Paid's
marker (HTML comments are defused, so the agent cannot make its text pass for Paid's own), and the
review is always a `COMMENT`, never an approval. A finding on a line outside the diff would make
GitHub refuse the whole review (422), so it moves to the review's body instead."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from paid_contracts.markers import paid_marker

FINDINGS_FILE = ".paid-review.json"  # where the agent writes its findings, outside the worktree's tree
MAX_FINDINGS_BYTES = 256 * 1024
MAX_FINDINGS = 50
MAX_TEXT = 4000
HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


class ReviewFindingsError(ValueError):
    """The agent's findings file is not what review mode accepts; nothing is posted from it."""


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    path: Annotated[str, Field(min_length=1, max_length=1000)]
    line: Annotated[int, Field(ge=1, le=10_000_000)]
    body: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]

    @field_validator("path")
    @classmethod
    def _inside_the_repository(cls, path: str) -> str:
        parts = PurePosixPath(path).parts
        odd = any(c in path for c in "\\`\n\r\t\x00")
        if path.startswith("/") or odd or not parts or any(p in ("..", ".") for p in parts):
            raise ValueError("must be a relative path inside the repository")
        return path


class ReviewFindings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    summary: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    findings: Annotated[list[Finding], Field(max_length=MAX_FINDINGS)] = []


def parse_findings(raw: bytes) -> ReviewFindings:
    """The agent's findings, or a clear error naming what is wrong."""
    if len(raw) > MAX_FINDINGS_BYTES:
        raise ReviewFindingsError(f"{FINDINGS_FILE} is {len(raw)} bytes; at most {MAX_FINDINGS_BYTES}")
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReviewFindingsError(f"{FINDINGS_FILE} is not UTF-8 JSON: {error}") from error
    try:
        return ReviewFindings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'the file'}: {e['msg']}" for e in error.errors()
        )
        raise ReviewFindingsError(f"{FINDINGS_FILE} is invalid: {problems}") from error


def commentable_lines(patch: str) -> set[int]:
    """The new side's line numbers a review comment may sit on: added and context lines of the hunks."""
    lines: set[int] = set()
    new: int | None = None
    for text in patch.splitlines():
        if header := HUNK_HEADER.match(text):
            new = int(header.group(1))
            continue
        if new is None or text.startswith("\\"):
            continue
        if text.startswith("-"):
            continue
        lines.add(new)
        new += 1
    return lines


def defused(text: str) -> str:
    """Agent text as inert data: no HTML comment can open (so no Paid marker), no null bytes."""
    return text.replace("\x00", "").replace("<!--", "&lt;!--")


def review_marker(number: int, head_sha: str) -> str:
    return paid_marker(f"review-mode={number}@{head_sha}")


@dataclass(frozen=True)
class ComposedReview:
    body: str
    comments: tuple[dict[str, Any], ...]
    moved_to_body: int

    def payload(self, head_sha: str) -> dict[str, Any]:
        return {"commit_id": head_sha, "event": "COMMENT", "body": self.body, "comments": list(self.comments)}


def compose_review(
    findings: ReviewFindings, diff_lines: dict[str, set[int]], *, number: int, head_sha: str
) -> ComposedReview:
    """One COMMENT review: findings on diff lines inline, the others listed in the body."""
    inline: list[dict[str, Any]] = []
    elsewhere: list[str] = []
    for finding in findings.findings:
        body = defused(finding.body)
        if finding.line in diff_lines.get(finding.path, set()):
            inline.append({"path": finding.path, "line": finding.line, "side": "RIGHT", "body": body})
        else:
            elsewhere.append(f"- `{defused(finding.path)}` line {finding.line} (outside the diff):\n\n{body}")
    parts = [f"Paid reviewed {head_sha[:12]}."]
    if findings.summary:
        parts.append(defused(findings.summary))
    if elsewhere:
        parts.append("\n\n".join(elsewhere))
    parts.append(review_marker(number, head_sha))
    return ComposedReview("\n\n".join(parts), tuple(inline), len(elsewhere))
