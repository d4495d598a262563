from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from paid_devstack import ManagedProcess, StartupError, free_port, wait_http_ok, wait_tcp, wait_until
from paid_devstack.processes import pid_alive

# A parent that forks a grandchild, records both pids, then idles.
FAMILY = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open(sys.argv[1], "w").write(f"{os.getpid()} {child.pid}")
    print("family ready", flush=True)
    time.sleep(600)
    """
)


def family(tmp_path: Path, pid_file: Path | None = None) -> tuple[ManagedProcess, Path]:
    pids = tmp_path / "family.pids"
    argv = [sys.executable, "-c", FAMILY, str(pids)]
    return ManagedProcess("family", argv, log_path=tmp_path / "family.log", pid_file=pid_file), pids


def read_pids(pids: Path) -> list[int]:
    wait_until(lambda: pids.exists() and bool(pids.read_text()), timeout=10, what="pid file")
    return [int(pid) for pid in pids.read_text().split()]


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_stop_and_kill_take_the_whole_process_group(tmp_path: Path, how: str) -> None:
    process, pids = family(tmp_path)
    process.start()
    parent, grandchild = read_pids(pids)
    assert process.pid == parent
    assert process.is_running

    getattr(process, how)()

    assert not process.is_running
    wait_until(lambda: not pid_alive(grandchild), timeout=5, what="grandchild to exit")
    assert "family ready" in process.log_tail()


def test_restart_gives_a_new_process_and_keeps_the_log(tmp_path: Path) -> None:
    process, pids = family(tmp_path)
    with process:
        first = process.pid
        read_pids(pids)
        pids.unlink()
        process.restart()
        assert process.pid != first
        read_pids(pids)
    assert not process.is_running
    assert process.log_path.read_text().splitlines().count("family ready") == 2


def test_leftover_group_of_a_crashed_owner_is_killed_on_next_start(tmp_path: Path) -> None:
    pid_file = tmp_path / "family.pid"
    process, pids = family(tmp_path, pid_file=pid_file)
    # The owner exits without cleanup (no atexit), as after kill -9, leaving its child running.
    crashing_owner = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from paid_devstack import ManagedProcess
        ManagedProcess("family", {process.argv!r}, log_path=Path({str(process.log_path)!r}),
                       pid_file=Path({str(pid_file)!r})).start()
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", crashing_owner], check=True, timeout=30)
    orphan, orphan_grandchild = read_pids(pids)
    assert pid_alive(orphan)

    pids.unlink()
    process.start()
    try:
        assert not pid_alive(orphan)
        wait_until(lambda: not pid_alive(orphan_grandchild), timeout=5, what="orphan's child to exit")
        assert read_pids(pids)[0] == process.pid
    finally:
        process.stop()
    assert not pid_file.exists()


def test_readiness_failure_reports_the_exit_and_log_tail(tmp_path: Path) -> None:
    process = ManagedProcess(
        "crasher",
        [sys.executable, "-c", "import sys; print('boom: bad config', flush=True); sys.exit(3)"],
        log_path=tmp_path / "crasher.log",
    )
    process.start()
    with pytest.raises(StartupError, match=r"(?s)crasher exited with code 3.*boom: bad config"):
        wait_http_ok(f"http://127.0.0.1:{free_port()}/healthz", timeout=10, process=process)


def test_readiness_timeout_is_reported(tmp_path: Path) -> None:
    process, _ = family(tmp_path)
    with (
        process,
        pytest.raises(StartupError, match=r"(?s)timed out after 0.3s waiting for tcp.*family ready"),
    ):
        wait_tcp("127.0.0.1", free_port(), timeout=0.3, process=process)
