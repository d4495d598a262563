"""Secrets are redacted from log lines: configured values and anything shaped like a credential."""

from __future__ import annotations

import io
import json
import logging

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paid_runtime.logs import JsonFormatter
from paid_runtime.redaction import REDACTED, find_secrets, redact, register_secret
from paid_runtime.settings import GitHubSettings, ServiceSettings

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_credential_shapes_are_redacted_without_being_configured() -> None:
    text = (
        f"token {GITHUB_TOKEN} key sk-ant-api03-abcdefghijklmnopqrstuvwxyz "
        "clone https://x-access-token:s3cr3tvalue@github.example/acme/calc.git "
        "Authorization: Bearer abc.def.ghi"
    )
    cleaned = redact(text)
    assert GITHUB_TOKEN not in cleaned
    assert "sk-ant-api03" not in cleaned
    assert "s3cr3tvalue" not in cleaned
    assert "abc.def.ghi" not in cleaned
    assert cleaned.count(REDACTED) == 4
    assert "github.example/acme/calc.git" in cleaned, "only the secret goes, not the context"


def test_github_app_credentials_are_redacted() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    body_line = pem.splitlines()[5]
    installation_token = "ghs_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    for text in (f"key={pem} done", f"key={json.dumps(pem)} done", pem[:300], installation_token):
        cleaned = redact(text)
        assert body_line not in cleaned
        assert installation_token not in cleaned
        assert find_secrets(text)
    assert redact(f"key={pem.strip()} done") == f"key={REDACTED} done"


def test_the_app_private_key_setting_registers_itself() -> None:
    class AppSettings(ServiceSettings):
        github_app_private_key: str = ""

    AppSettings(github_app_private_key="not-a-pem-but-configured-as-one")
    assert redact("k=not-a-pem-but-configured-as-one") == f"k={REDACTED}"


def test_a_configured_secret_of_any_shape_is_redacted() -> None:
    register_secret("correct-horse-battery-staple")
    assert redact("secret=correct-horse-battery-staple;") == f"secret={REDACTED};"
    assert find_secrets("nothing here") == []


def test_settings_named_like_credentials_register_themselves() -> None:
    settings = GitHubSettings(github_token="plain-looking-but-configured-token")
    assert redact(f"using {settings.github_token}") == f"using {REDACTED}"


def test_json_log_lines_carry_no_secret() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("redaction-test")
    logger.addHandler(handler)
    try:
        logger.warning("pushing with %s", GITHUB_TOKEN)
        try:
            raise RuntimeError(f"clone failed for https://bot:{GITHUB_TOKEN}@host/repo")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(GITHUB_TOKEN not in json.dumps(line) for line in lines)
    assert lines[0]["msg"] == f"pushing with {REDACTED}"
    assert REDACTED in lines[1]["exc"]


def test_the_nats_password_and_the_database_roles_password_are_redacted() -> None:
    settings = ServiceSettings(
        nats_user="paid-executor",
        nats_password="nats-password-of-the-executor",
        database_url="postgresql+asyncpg://paid_executor:role-password-of-the-executor@db:5432/paid",
    )
    line = f"connecting with {settings.nats_password} and role-password-of-the-executor"
    cleaned = redact(line)
    assert "nats-password-of-the-executor" not in cleaned
    assert "role-password-of-the-executor" not in cleaned
