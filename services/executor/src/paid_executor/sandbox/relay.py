"""How a bwrap sandbox reaches the metering proxy: a relay from a loopback port inside its network
namespace to the proxy's unix socket, started before the command.

With Debian's socat on the host, the relay is socat, started by a few lines of sh that wait until it
listens and then exec the command: ~4 ms against ~15-20 ms for the Python bridge's interpreter on a
quiet machine (several times both under load; `bench/sandbox_start.py` measures them side by side).
Without socat, the Python bridge (bridge.py) does the same. Either way the relay listens on 127.0.0.1
only, holds no credential (the token travels in the agent's own requests), and the sandbox exits with
the command's exit status: the command is pid 2 under bwrap's init, which passes its status on (128 +
the signal when killed) and whose exit ends every other process of the sandbox, the relay included.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from paid_executor.sandbox import bridge

# $1 socat, $2 port, $3 the listening socket as /proc/net/tcp spells it, $4 the proxy's socket.
# Only shell builtins in the wait (no process per poll); the relay being gone (or a zombie) stops it.
# The wait reads /proc/net/tcp as its own standard input, restored before the exec: the command gets
# the sandbox's (the prompt may come that way).
SOCAT_WRAPPER = r"""
socat=$1 port=$2 listening=$3 upstream=$4
shift 4
"$socat" -t 86400 "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$upstream" \
  </dev/null >/dev/null &
relay=$!
ready=
while [ -z "$ready" ]; do
  while read -r _ address _ state _; do
    if [ "$address $state" = "$listening 0A" ]; then ready=1; break; fi
  done </proc/net/tcp
  if [ -z "$ready" ]; then
    state=Z
    [ -r "/proc/$relay/stat" ] && read -r _ _ state _ <"/proc/$relay/stat"
    if [ "$state" = Z ]; then echo "paid relay: socat did not start listening on port $port" >&2; exit 125; fi
  fi
done
exec "$@"
"""


def socat_path(system_dirs: tuple[str, ...]) -> str | None:
    """socat when it is installed where the sandbox sees it (under one of SYSTEM_DIRS)."""
    found = shutil.which("socat")
    if found is None or not str(Path(found).resolve()).startswith(tuple(f"{d}/" for d in system_dirs)):
        return None
    return found


def relay_command(port: int, proxy_socket: str, command: list[str], *, socat: str | None) -> list[str]:
    """COMMAND behind a relay from 127.0.0.1:PORT to PROXY_SOCKET (paths as seen inside the sandbox)."""
    if socat is None:
        return [sys.executable, "-S", bridge.__file__, str(port), proxy_socket, "--", *command]
    listening = f"0100007F:{port:04X}"  # 127.0.0.1 in the kernel's byte order, the port in hex
    return ["/bin/sh", "-c", SOCAT_WRAPPER, "paid-relay", socat, str(port), listening, proxy_socket, *command]
