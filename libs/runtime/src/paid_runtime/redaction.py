"""Secrets never leave a process in clear: known secret values and anything shaped like a credential
are replaced before a log line (or any other text Paid emits) is written."""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"

CREDENTIAL_PATTERNS: tuple[re.Pattern[str], ...] = (
    # A private key (a GitHub App's PEM): the whole block, or from its header when cut short.
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s\\n]*)"
    ),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),  # Anthropic
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}"),  # OpenAI
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"(?i)(?<=authorization: )(?:bearer|token|basic) [^\s'\",]+"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
    re.compile(r"(?i)(?<=x-access-token:)[^\s@]+(?=@)"),
)

_known: set[str] = set()
_known_lock = threading.Lock()
MIN_SECRET_LENGTH = 8


def register_secret(value: str | None) -> None:
    """Remember a configured secret (token, webhook secret, key) so that its exact value is redacted."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in CREDENTIAL_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def find_secrets(text: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What `redact` would hide: for scanners that check emitted text holds no secret."""
    found = [value for value in known if value and value in text]
    found += [match.group(0) for pattern in CREDENTIAL_PATTERNS for match in pattern.finditer(text)]
    return found
