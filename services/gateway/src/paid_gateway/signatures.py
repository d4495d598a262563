"""GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`."""

from __future__ import annotations

from collections.abc import Iterable

from githubkit.webhooks import sign as github_sign
from githubkit.webhooks import verify as github_verify

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return github_sign(secret, body, "sha256")


def verify(secrets: Iterable[str], body: bytes, header: str | None) -> bool:
    """True when `header` signs the raw `body` with any of `secrets` (each compared in constant time)."""
    # githubkit would fall back to SHA-1 for any other prefix; only SHA-256 is accepted here.
    if not header or not header.startswith(PREFIX):
        return False
    # Every secret is tried, so the time taken does not reveal which one (if any) matched.
    matches = [github_verify(secret, body, header) for secret in secrets]
    return any(matches)
