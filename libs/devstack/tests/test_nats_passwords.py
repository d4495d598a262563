"""Compose's NATS passwords reach nats-server through `$VARIABLE`s in auth.conf, and nats-server parses a
variable's value as a config value: a password shaped like a date (`12-ab…`), a number (`1.5x`) or
starting with `-` breaks the whole config, and with it the cluster (a real compose run hit `1…-T…`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from paid_contracts.nats_access import NATS_USERS
from paid_devstack.binaries import nats_server_binary
from paid_devstack.nats_credentials import NatsCredentials, compose_authorization, password_variable


def config_error(tmp_path: Path, passwords: dict[str, str]) -> str:
    """What `nats-server -t` says of compose's auth.conf given these passwords ("" when it parses)."""
    (tmp_path / "auth.conf").write_text(compose_authorization())
    (tmp_path / "nats.conf").write_text("include ./auth.conf\n")
    environment = os.environ | {password_variable(user): passwords[user] for user in NATS_USERS}
    checked = subprocess.run(
        [nats_server_binary(), "-c", tmp_path / "nats.conf", "-t"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "" if checked.returncode == 0 else checked.stderr + checked.stdout


def test_the_check_catches_a_password_nats_server_cannot_read(tmp_path: Path) -> None:
    passwords = NatsCredentials.generate().passwords
    assert config_error(tmp_path, passwords) == ""
    date_shaped = {**passwords, NATS_USERS[0]: "1-Tq9x"}  # the shape that broke a compose run
    assert "could not be parsed" in config_error(tmp_path, date_shaped)


def test_generated_passwords_always_read_back_as_strings(tmp_path: Path) -> None:
    # 30 stacks' worth: with token_urlsafe passwords, most runs of this test met an unreadable one.
    for _ in range(30):
        assert config_error(tmp_path, NatsCredentials.generate().passwords) == ""
