from __future__ import annotations

import pytest

from paid_runtime.secretbox import DEVELOPMENT_KEY, SecretBox, SecretDecryptionError, generate_key, secret_box


def test_round_trip_without_the_plaintext_in_the_ciphertext() -> None:
    box = SecretBox([generate_key()])
    ciphertext = box.encrypt("ghp_secret_token")
    assert "ghp_secret_token" not in ciphertext
    assert box.decrypt(ciphertext) == "ghp_secret_token"


def test_a_new_key_first_still_decrypts_what_the_old_one_encrypted() -> None:
    old, new = generate_key(), generate_key()
    before = SecretBox([old]).encrypt("s")
    rotated = SecretBox([new, old])
    assert rotated.decrypt(before) == "s"
    assert SecretBox([new]).decrypt(rotated.encrypt("t")) == "t"


def test_an_unknown_key_or_tampering_is_a_clear_error() -> None:
    ciphertext = SecretBox([generate_key()]).encrypt("s")
    with pytest.raises(SecretDecryptionError):
        SecretBox([generate_key()]).decrypt(ciphertext)
    with pytest.raises(SecretDecryptionError):
        SecretBox([generate_key()]).decrypt(ciphertext[:-4] + "AAAA")


def test_development_falls_back_to_a_fixed_key_and_production_refuses() -> None:
    assert secret_box([], environment="development").decrypt(SecretBox([DEVELOPMENT_KEY]).encrypt("x")) == "x"
    with pytest.raises(ValueError, match="secrets_keys"):
        secret_box([], environment="production")
