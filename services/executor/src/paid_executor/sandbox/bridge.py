"""Runs inside a sandbox without network: listens on loopback and relays each connection to the
metering proxy's unix socket, which is the only way out. Standard library only, and threads rather
than asyncio: it starts before every agent and check, and importing asyncio took ~85 ms of the
launch on a loaded machine (socket and threading ~15 ms).

usage: python bridge.py PORT SOCKET -- COMMAND...   (exits with COMMAND's exit code)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)  # the other side sees the end of this direction


def _relay(client: socket.socket, socket_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError:
        upstream.close()
        client.close()
        return
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    upstream.close()
    client.close()


def _serve(server: socket.socket, socket_path: str) -> None:
    while True:
        client, _ = server.accept()
        threading.Thread(target=_relay, args=(client, socket_path), daemon=True).start()


def _start(command: list[str]) -> int:
    """COMMAND as its own process, started before any thread (fork is safe then), with only the
    standard descriptors and the signals a program expects (Python ignores SIGPIPE and SIGXFSZ)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            for number in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(number, signal.SIG_DFL)
            os.execvp(command[0], command)  # noqa: S606 - the sandbox's own command, as given
        except OSError as error:
            os.write(2, f"bridge: cannot run {command[0]}: {error}\n".encode(errors="replace"))
        os._exit(127)
    return pid


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 4 or args[2] != "--":
        sys.exit("usage: bridge.py PORT SOCKET -- COMMAND...")
    server = socket.create_server(("127.0.0.1", int(args[0])))  # listening before the command starts
    pid = _start(args[3:])
    threading.Thread(target=_serve, args=(server, args[1]), daemon=True).start()
    _, status = os.waitpid(pid, 0)
    # A command killed by a signal exits as a shell reports it (128 + the signal).
    code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    sys.stdout.flush()
    sys.stderr.flush()
    # Without interpreter finalisation: as a container's pid 1, the bridge crashed there (SIGSEGV,
    # exit status 139) about every other run, after the command had ended well.
    os._exit(code)


if __name__ == "__main__":
    main()
