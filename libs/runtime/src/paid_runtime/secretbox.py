"""Encryption at rest for tokens and webhook secrets: Fernet (AES-128-CBC + HMAC-SHA256), key rotation.

`PAID_<SERVICE>_SECRETS_KEYS` lists Fernet keys, newest first: values are encrypted with the first and
decrypted with any, so a new key can be introduced before the old one is retired.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Development only (settings refuse an empty key list in production): a fixed, public key, so that a
# local stack works without setup. Anything it encrypts must be considered readable.
DEVELOPMENT_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"paid development secrets key").digest()).decode()


class SecretDecryptionError(Exception):
    """The ciphertext was made with a key that is not configured, or was tampered with."""


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise SecretDecryptionError("cannot decrypt: unknown key or tampered ciphertext") from error


def generate_key() -> str:
    return Fernet.generate_key().decode()


def secret_box(keys: Sequence[str], *, environment: str) -> SecretBox:
    """The box for a service's configured keys; in development an empty list means DEVELOPMENT_KEY."""
    if not keys:
        if environment == "production":
            raise ValueError("secrets_keys must list at least one Fernet key outside development")
        return SecretBox([DEVELOPMENT_KEY])
    return SecretBox(keys)
