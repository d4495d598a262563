"""`paid up` in an 80-column terminal hands the whole admin token over: printed uncut, saved 0600 in the
user's config directory, and the next `paid` command uses it with nothing copied by hand."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# The whole stack starts (about a minute on a loaded machine); the short form, the hand-off on a live
# gateway, is services/gateway/tests/test_cli.py::test_the_cli_uses_the_token_paid_up_saves.
pytestmark = [pytest.mark.integration, pytest.mark.heavy]
BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
HANDED_OVER = re.compile(r"saved in (\S+) \(mode 0600\) for the CLI:\r?\n(paid_[A-Za-z0-9_-]+)\r?\n")


class Terminal:
    """A process on an 80x24 pseudo-terminal, its screen output collected as text."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        primary, secondary = pty.openpty()
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.process = subprocess.Popen(
            argv, stdin=secondary, stdout=secondary, stderr=secondary, env=env, start_new_session=True
        )
        os.close(secondary)
        self.primary = primary
        self.text = ""

    def read_until(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (found := pattern.search(self.text)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                raise AssertionError(f"no {pattern.pattern!r} in the terminal:\n{self.text}")
            ready, _, _ = select.select([self.primary], [], [], min(remaining, 1.0))
            if ready:
                try:
                    self.text += ANSI.sub("", os.read(self.primary, 65536).decode(errors="replace"))
                except OSError:  # the process closed the terminal
                    continue
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.primary)


@pytest.fixture
def user_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A user's environment with no Paid address or token in it: only the saved file can supply them."""
    # Under root, PostgreSQL runs as an unprivileged user that must reach its data (as scratch_postgres).
    paid_home = Path(tempfile.mkdtemp(prefix="paid-up-tests-"))
    paid_home.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAID_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PAID_HOME=str(paid_home),
        TERM="xterm-256color",
    )
    env.pop("COLUMNS", None)
    yield env
    shutil.rmtree(paid_home, ignore_errors=True)


@pytest.fixture
def paid_up(user_env: dict[str, str]) -> Iterator[Terminal]:
    terminal = Terminal([str(BIN / "paid"), "up"], user_env)
    try:
        yield terminal
    finally:
        terminal.stop()


def paid(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "paid"), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_paid_up_then_runs_list_with_the_saved_token(paid_up: Terminal, user_env: dict[str, str]) -> None:
    handed = paid_up.read_until(HANDED_OVER, timeout=240)
    path, printed_token = Path(handed.group(1)), handed.group(2)
    assert path == Path(user_env["XDG_CONFIG_HOME"]) / "paid" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["token"] == printed_token
    assert len(printed_token) == len("paid_") + 43  # 32 random bytes, url-safe base64: nothing cut

    listed = paid(user_env, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []

    rotated = paid(user_env, "token", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new_token = rotated.stdout.strip()
    assert new_token != printed_token
    assert json.loads(path.read_text())["token"] == new_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert paid(user_env, "runs", "list").returncode == 0
    old = paid(user_env, "runs", "list", "--url", saved["url"], "--token", printed_token)
    assert old.returncode == 4, old.stderr  # revoked: 401
