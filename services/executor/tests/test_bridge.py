"""The sandbox's bridge (loopback port -> the proxy's unix socket), run as the sandboxes run it: a
relay both ways with half-closes, the command's exit status passed on, and a command that starts as
any program expects (default SIGPIPE, no descriptor of the bridge's)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from paid_executor.sandbox import bridge


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_bridged(socket_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-S", bridge.__file__, str(free_port()), str(socket_path), "--", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


CLIENT = """
import socket, sys
port = int(sys.argv[1])
connection = socket.create_connection(("127.0.0.1", port))
connection.sendall(b"x" * 300000)
connection.shutdown(socket.SHUT_WR)
answer = b""
while chunk := connection.recv(100):
    answer += chunk
print(answer.decode())
sys.exit(7)
"""


def test_a_connection_is_relayed_both_ways_and_the_exit_status_passed_on(upstream: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-S", bridge.__file__, str(port), str(upstream), "--"]
    done = subprocess.run(
        [*argv, sys.executable, "-c", CLIENT, str(port)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (7, "got 300000"), done.stderr


def test_a_command_killed_by_a_signal_exits_as_a_shell_reports_it(upstream: Path) -> None:
    assert run_bridged(upstream, "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_the_command_starts_clean(upstream: Path) -> None:
    # `yes` dies of SIGPIPE (141 in the pipeline's status) only if SIGPIPE is not ignored.
    done = run_bridged(
        upstream, "bash", "-c", "yes | head -1 >/dev/null; echo ${PIPESTATUS[0]}; ls /proc/self/fd"
    )
    status, *descriptors = done.stdout.split()
    assert status == "141"
    assert sorted(descriptors) == ["0", "1", "2", "3"]  # 3 is ls's own listing of the directory


def test_a_command_that_cannot_start_is_named(upstream: Path) -> None:
    done = run_bridged(upstream, "no-such-program-here")
    assert done.returncode == 127
    assert "cannot run no-such-program-here" in done.stderr


def test_the_docker_sandbox_binds_a_copy_of_the_bridge_from_the_shared_directory(tmp_path: Path) -> None:
    """Behind a containerised executor the engine resolves binds on its own host: the bridge is copied
    to the shared directory, replacing whatever stood there (a link to a host file included)."""
    from paid_executor.sandbox.docker import DockerSandbox

    shared = tmp_path / "shared"
    shared.mkdir()
    host_file = tmp_path / "host-secret"
    host_file.write_text("not the bridge")
    (shared / "bridge.py").symlink_to(host_file)
    copy = DockerSandbox("img", shared_dir=shared)._bridge()
    assert copy == shared / "bridge.py"
    assert not copy.is_symlink()
    assert copy.read_bytes() == Path(bridge.__file__).read_bytes()
    assert host_file.read_text() == "not the bridge"
    assert DockerSandbox("img")._bridge() == Path(bridge.__file__)
