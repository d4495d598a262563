"""The narrow gate in front of the Docker engine: the only way the executor reaches it in a deployment.

It serves the few endpoints the docker sandbox uses on a unix socket of its own and forwards them to the
engine's socket: ping and version, creating a container (only when `engine_policy` finds the body
sandbox-shaped and it carries the sandbox label), and inspecting, starting, reading the logs of, waiting
for, killing and removing containers that carry the sandbox label, and listing containers (for the
orphan reaper). Everything else (exec, images, volumes, networks, build, the engine's own settings)
answers 403. Every forwarded request closes its connection, so a kept-alive connection cannot carry a
second, unchecked request.

usage: python -m paid_executor.sandbox.engine_gate --listen SOCKET --engine SOCKET --image IMAGE
           --worktree-root DIR [--read-only PATH ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from paid_executor.sandbox.docker import LABEL
from paid_executor.sandbox.engine_policy import ContainerRefused, EnginePolicy, check_container_create

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
VERSION = re.compile(r"^/v1\.\d+(?=/)")
CONTAINER_ACTIONS = frozenset(
    {
        ("DELETE", None),
        ("GET", "json"),
        ("GET", "logs"),
        ("POST", "start"),
        ("POST", "wait"),
        ("POST", "kill"),
    }
)
CONTAINER = re.compile(r"^/containers/([A-Za-z0-9][A-Za-z0-9_.-]*)(/(json|start|logs|wait|kill))?$")


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return VERSION.sub("", self.target.split("?", 1)[0])

    def encode(self) -> bytes:
        """For the engine: the same request, with its connection closed after the answer."""
        kept = [
            (name, value) for name, value in self.headers if name.lower() not in ("connection", "keep-alive")
        ]
        lines = [
            f"{self.method} {self.target} HTTP/1.1",
            *(f"{n}: {v}" for n, v in kept),
            "Connection: close",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class EngineGate:
    def __init__(self, engine_socket: Path, policy: EnginePolicy) -> None:
        self.engine_socket = engine_socket
        self.policy = policy

    async def serve(self, listen: Path) -> asyncio.Server:
        await asyncio.to_thread(listen.unlink, missing_ok=True)
        server = await asyncio.start_unix_server(self._handle, path=str(listen))
        await asyncio.to_thread(listen.chmod, 0o660)
        return server

    async def _handle(self, client: asyncio.StreamReader, answer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(client)
            await self._check(request)
            engine_reader, engine_writer = await asyncio.open_unix_connection(str(self.engine_socket))
            engine_writer.write(request.encode())
            await engine_writer.drain()
            # The answer, and for an attach the raw stream after it, until the engine closes.
            while chunk := await engine_reader.read(65536):
                answer.write(chunk)
                await answer.drain()
            engine_writer.close()
        except Refused as refused:
            body = json.dumps({"message": f"refused by Paid's engine gate: {refused}"}).encode()
            answer.write(
                f"HTTP/1.1 {refused.status} Refused\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(ConnectionError):
                await answer.drain()
            answer.close()

    async def _check(self, request: Request) -> None:
        method, path = request.method, request.path
        if (method, path) in {
            ("GET", "/_ping"),
            ("HEAD", "/_ping"),
            ("GET", "/version"),
            ("GET", "/containers/json"),
        }:
            return
        if (method, path) == ("POST", "/containers/create"):
            try:
                body = json.loads(request.body)
            except ValueError as error:
                raise Refused(400, "the create body is not JSON") from error
            if not isinstance(body, dict):
                raise Refused(400, "the create body is not a JSON object")
            if LABEL not in (body.get("Labels") or {}):
                raise Refused(403, f"a sandbox container carries the {LABEL} label")
            try:
                check_container_create(body, self.policy)
            except ContainerRefused as error:
                raise Refused(403, str(error)) from error
            return
        found = CONTAINER.match(path)
        if found and (method, found.group(3)) in CONTAINER_ACTIONS:
            if await self._is_sandbox(found.group(1)):
                return
            raise Refused(403, "only sandbox containers may be inspected, run or removed through the gate")
        raise Refused(403, f"{method} {path} is not an endpoint the sandbox uses")

    async def _is_sandbox(self, container: str) -> bool:
        reader, writer = await asyncio.open_unix_connection(str(self.engine_socket))
        try:
            inspect = (
                f"GET /containers/{container}/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
            )
            writer.write(inspect.encode())
            await writer.drain()
            response = await reader.read()
        finally:
            writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return False
        if b"transfer-encoding: chunked" in head.lower():
            body = _dechunk(body)
        labels = (json.loads(body).get("Config") or {}).get("Labels") or {}
        return LABEL in labels


async def _read_request(client: asyncio.StreamReader) -> Request:
    try:
        head = await client.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as error:
        raise Refused(431, "request head too large") from error
    request_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
    method, target, _ = request_line.split(" ", 2)
    headers = [
        (name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in header_lines)
    ]
    names = [name.lower() for name, _ in headers]
    if "transfer-encoding" in names or names.count("content-length") > 1:
        raise Refused(411, "send one Content-Length, and no Transfer-Encoding")
    fields = dict(zip(names, (value for _, value in headers), strict=True))
    length = int(fields.get("content-length", "0") or 0)
    if length > MAX_BODY:
        raise Refused(413, "request body too large")
    return Request(method, target, headers, await client.readexactly(length))


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2 :]
    return bytes(out)


async def _main(args: argparse.Namespace) -> None:
    policy = EnginePolicy.of(args.image, args.worktree_root, args.read_only)
    server = await EngineGate(args.engine, policy).serve(args.listen)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=Path, required=True)
    parser.add_argument("--engine", type=Path, default=Path("/var/run/docker.sock"))
    parser.add_argument("--image", action="append", required=True, help="an allowed sandbox image")
    parser.add_argument("--worktree-root", type=Path, required=True)
    parser.add_argument("--read-only", type=Path, action="append", default=[])
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
