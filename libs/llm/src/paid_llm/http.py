"""What both providers' clients share: one httpx client, error mapping, server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from paid_llm.errors import InvalidResponse, LLMTimeout, Unreachable, error_for_status

Json = dict[str, Any]


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"])
    return json.dumps(body)[:500]


class HttpTransport:
    def __init__(self, *, base_url: str, headers: dict[str, str], timeout: float, provider: str) -> None:
        self.provider = provider
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post_json(self, path: str, body: Json) -> Json:
        try:
            response = await self._client.post(path, json=body)
        except httpx.TimeoutException as error:
            raise LLMTimeout(f"{self.provider} did not answer in time", provider=self.provider) from error
        except httpx.TransportError as error:
            raise Unreachable(f"{self.provider} unreachable: {error}", provider=self.provider) from error
        self._raise_for(response)
        try:
            data = response.json()
        except ValueError as error:
            raise InvalidResponse(f"{self.provider} answered non-JSON", provider=self.provider) from error
        if not isinstance(data, dict):
            raise InvalidResponse(f"{self.provider} answered a non-object", provider=self.provider)
        return data

    @asynccontextmanager
    async def _stream(self, path: str, body: Json) -> AsyncIterator[httpx.Response]:
        try:
            async with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._raise_for(response)
                yield response
        except httpx.TimeoutException as error:
            raise LLMTimeout(f"{self.provider} did not answer in time", provider=self.provider) from error
        except httpx.TransportError as error:
            raise Unreachable(f"{self.provider} unreachable: {error}", provider=self.provider) from error

    async def post_sse(self, path: str, body: Json) -> AsyncIterator[tuple[str, str]]:
        """Yields (event name, data) for each server-sent event; the name is "" when not given."""
        async with self._stream(path, body) as response:
            event, data_lines = "", list[str]()
            async for line in response.aiter_lines():
                if line == "":
                    if data_lines:
                        yield event, "\n".join(data_lines)
                    event, data_lines = "", list[str]()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data_lines.append(line[5:].lstrip())
            if data_lines:
                yield event, "\n".join(data_lines)

    def _raise_for(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        raise error_for_status(
            response.status_code,
            error_detail(response),
            provider=self.provider,
            retry_after=retry_after_seconds(response),
        )


def parse_json_object(data: str, provider: str) -> Json:
    try:
        parsed = json.loads(data)
    except ValueError as error:
        raise InvalidResponse(f"{provider} streamed invalid JSON: {data[:200]}", provider=provider) from error
    if not isinstance(parsed, dict):
        raise InvalidResponse(f"{provider} streamed a non-object", provider=provider)
    return parsed
