"""Runs inside a sandbox without network: listens on loopback and relays each connection to the
metering proxy's unix socket, which is the only way out. It starts before every agent and check, so
it imports only the interpreter's C modules (`_socket`, `_thread`, `_signal`): the `socket`,
`threading` and `signal` modules pull in enum, selectors and more, which was most of its start on a
loaded machine (~70 ms of ~120 ms at load 9; asyncio, earlier, cost more still).

usage: python -S bridge.py PORT SOCKET -- COMMAND...   (exits with COMMAND's exit code)
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub in typeshed
import _socket
import _thread
import os
import sys

CHUNK = 65536


def _pipe(source: _socket.socket, target: _socket.socket) -> None:
    # try/except rather than contextlib.suppress: contextlib is another import at every start.
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    try:  # noqa: SIM105
        target.shutdown(_socket.SHUT_WR)  # the other side sees the end of this direction
    except OSError:
        pass


def _pipe_then_release(source: _socket.socket, target: _socket.socket, done: _thread.LockType) -> None:
    try:
        _pipe(source, target)
    finally:
        done.release()


def _relay(client: _socket.socket, socket_path: str) -> None:
    upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError:
        upstream.close()
        client.close()
        return
    back_done = _thread.allocate_lock()
    back_done.acquire()
    _thread.start_new_thread(_pipe_then_release, (upstream, client, back_done))
    _pipe(client, upstream)
    back_done.acquire()  # both directions ended
    upstream.close()
    client.close()


def _serve(server: _socket.socket, socket_path: str) -> None:
    while True:
        descriptor, _ = server._accept()  # type: ignore[attr-defined]  # the C socket's accept
        client = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM, 0, descriptor)
        _thread.start_new_thread(_relay, (client, socket_path))


def _listen(port: int) -> _socket.socket:
    server = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    server.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(128)
    return server


def _start(command: list[str]) -> int:
    """COMMAND as its own process, started before any thread (fork is safe then), with only the
    standard descriptors and the signals a program expects (Python ignores SIGPIPE and SIGXFSZ)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            for number in (_signal.SIGPIPE, _signal.SIGXFSZ):
                _signal.signal(number, _signal.SIG_DFL)
            os.execvp(command[0], command)  # noqa: S606 - the sandbox's own command, as given
        except OSError as error:
            os.write(2, f"bridge: cannot run {command[0]}: {error}\n".encode(errors="replace"))
        os._exit(127)
    return pid


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 4 or args[2] != "--":
        sys.exit("usage: bridge.py PORT SOCKET -- COMMAND...")
    server = _listen(int(args[0]))  # listening before the command starts
    pid = _start(args[3:])
    _thread.start_new_thread(_serve, (server, args[1]))
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
