"""Tokens are 256-bit random strings shown once; only their SHA-256 is stored.

A fast unsalted hash is enough here (unlike for passwords): the token has 256 bits of entropy, so
neither a dictionary nor brute force can invert the digest, and an exact-match index lookup stays cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

TOKEN_PREFIX = "paid_"  # noqa: S105 - a prefix, not a secret


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(presented: str, expected: str) -> bool:
    return hmac.compare_digest(digest(presented), digest(expected))
