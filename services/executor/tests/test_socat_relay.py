"""The bwrap sandbox's relay to the proxy when socat is installed, run as the executor runs it (inside
bwrap, whose init passes the command's status on): the same contract as the Python bridge
(test_bridge.py), plus what the sh around socat adds: the command keeps its standard input, the
relay listens on 127.0.0.1 only, and a relay that never listens ends the launch with a named error
instead of a wait without end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paid_executor.agents.base import Invocation
from paid_executor.sandbox.base import SandboxRequest
from paid_executor.sandbox.bwrap import SYSTEM_DIRS, BubblewrapSandbox, bwrap_path
from paid_executor.sandbox.relay import socat_path

pytestmark = [
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
    pytest.mark.skipif(
        socat_path(SYSTEM_DIRS) is None, reason="needs socat (scripts/system-deps), not installed"
    ),
]
PORT = 8765


def run_relayed(
    upstream: Path, *command: str, stdin: str = "", sandbox: BubblewrapSandbox | None = None
) -> subprocess.CompletedProcess[str]:
    box = sandbox or BubblewrapSandbox()
    assert box.socat is not None
    worktree = upstream.parent / "worktree"
    worktree.mkdir(exist_ok=True)
    request = SandboxRequest(
        run_key="relay",
        worktree=worktree,
        env={"PATH": "/usr/bin:/bin"},
        proxy_socket=upstream,
        proxy_port=PORT,
    )
    prepared = box.prepare(Invocation(argv=list(command), stdin=None, env={}), request)
    try:
        return subprocess.run(
            prepared.invocation.argv, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        box.release(prepared)


CLIENT = """
import socket, sys
connection = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
connection.sendall(b"x" * 300000)
connection.shutdown(socket.SHUT_WR)
answer = b""
while chunk := connection.recv(100):
    answer += chunk
print(answer.decode(), sys.stdin.read())
sys.exit(7)
"""


def test_a_connection_is_relayed_both_ways_and_the_status_and_input_passed_on(upstream: Path) -> None:
    done = run_relayed(upstream, sys.executable, "-c", CLIENT, str(PORT), stdin="the prompt")
    assert (done.returncode, done.stdout.strip()) == (7, "got 300000 the prompt"), done.stderr


def test_the_relay_listens_on_loopback_only(upstream: Path) -> None:
    done = run_relayed(upstream, "cat", "/proc/net/tcp")
    listening = [line.split() for line in done.stdout.splitlines()[1:] if line.split()[3] == "0A"]
    assert [fields[1] for fields in listening] == [f"0100007F:{PORT:04X}"], done.stdout


def test_a_command_killed_by_a_signal_exits_as_a_shell_reports_it(upstream: Path) -> None:
    assert run_relayed(upstream, "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_the_command_starts_clean(upstream: Path) -> None:
    # `yes` dies of SIGPIPE (141 in the pipeline's status) only if SIGPIPE is not ignored.
    done = run_relayed(
        upstream, "bash", "-c", "yes | head -1 >/dev/null; echo ${PIPESTATUS[0]}; ls /proc/$$/fd"
    )
    status, *descriptors = done.stdout.split()
    assert status == "141"
    # bash runs the last command in its own process: 3 is ls's listing of its directory.
    assert sorted(descriptors) == ["0", "1", "2", "3"], done.stdout


def test_a_command_that_cannot_start_is_named(upstream: Path) -> None:
    done = run_relayed(upstream, "no-such-program-here")
    assert done.returncode == 127
    assert "no-such-program-here" in done.stderr


def test_a_relay_that_never_listens_ends_the_launch_with_its_reason(upstream: Path) -> None:
    broken = BubblewrapSandbox()
    broken.socat = "/bin/false"  # exits at once, as socat does when it cannot listen
    done = run_relayed(upstream, "touch", "ran", sandbox=broken)
    assert done.returncode == 125
    assert "did not start listening" in done.stderr
    assert not (upstream.parent / "worktree" / "ran").exists()
