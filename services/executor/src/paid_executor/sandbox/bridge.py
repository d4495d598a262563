"""Runs inside a sandbox without network: listens on loopback and relays each connection to the
metering proxy's unix socket, which is the only way out. Standard library only.

usage: python bridge.py PORT SOCKET -- COMMAND...   (exits with COMMAND's exit code)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


async def _main(port: int, socket_path: str, command: list[str]) -> int:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(socket_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    async with server:
        process = await asyncio.create_subprocess_exec(*command)
        return await process.wait()


def main() -> None:
    args = sys.argv[1:]
    if len(args) < 4 or args[2] != "--":
        sys.exit("usage: bridge.py PORT SOCKET -- COMMAND...")
    code = asyncio.run(_main(int(args[0]), args[1], args[3:]))
    sys.stdout.flush()
    sys.stderr.flush()
    # Without interpreter finalisation: as a container's pid 1, the bridge crashed there (SIGSEGV,
    # exit status 139) about every other run, after the command had ended well. A command killed by
    # a signal exits as a shell reports it (128 + the signal).
    os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
