"""Reads a request body without ever holding more than a limit in memory."""

from __future__ import annotations

from fastapi import Request


class BodyTooLargeError(Exception):
    pass


class BadContentLengthError(Exception):
    pass


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body; refuses early on a declared Content-Length beyond `limit`, else while streaming."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadContentLengthError(declared)
        if int(declared) > limit:
            raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)
