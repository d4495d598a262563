"""The credentials file: written 0600 where XDG says, refused when others can read it, and its token sent
only to its own gateway."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from paid_cli import credentials
from paid_cli.credentials import Credentials, CredentialsError

SAVED = Credentials(url="http://127.0.0.1:8123", token="paid_saved-token", token_id="abc123")


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "config"


def test_saved_for_the_user_alone(config_home: Path) -> None:
    path = credentials.save(SAVED)
    assert path == config_home / "paid" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert credentials.load() == SAVED
    assert "paid_saved-token" not in repr(credentials.load())


def test_a_file_others_could_read_is_replaced_by_one_they_cannot(config_home: Path) -> None:
    path = config_home / "paid" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    path.chmod(0o644)
    credentials.save(SAVED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]


def test_a_readable_file_is_refused_with_the_fix() -> None:
    path = credentials.save(SAVED)
    path.chmod(0o640)
    with pytest.raises(CredentialsError, match="chmod 600"):
        credentials.load()


@pytest.mark.parametrize("content", ["not json", "[]", '{"token": "paid_x"}'])
def test_a_file_that_is_not_ours_is_a_clear_error(content: str) -> None:
    path = credentials.save(SAVED)
    path.write_text(content)
    with pytest.raises(CredentialsError, match="not a Paid credentials file"):
        credentials.load()


def test_a_relative_config_home_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert credentials.credentials_path() == tmp_path / "home" / ".config" / "paid" / "credentials.json"


def test_options_win_and_the_file_fills_the_rest() -> None:
    assert credentials.resolve(None, None) == ("http://127.0.0.1:8100", None)  # no file yet
    credentials.save(SAVED)
    assert credentials.resolve(None, None) == (SAVED.url, SAVED.token)
    assert credentials.resolve(None, "paid_given") == (SAVED.url, "paid_given")
    assert credentials.resolve(SAVED.url + "/", None) == (SAVED.url + "/", SAVED.token)
    assert credentials.resolve("http://other:1", "paid_given") == ("http://other:1", "paid_given")


def test_the_saved_token_never_goes_to_another_gateway() -> None:
    credentials.save(SAVED)
    for elsewhere in ("https://attacker.example", "http://127.0.0.1:8124", "http://127.0.0.1:8123.evil.test"):
        assert credentials.resolve(elsewhere, None) == (elsewhere, None)
