"""The gateway's Temporal client, connected on first use and kept; a failed connection is retried at the
next request, so reads keep working while Temporal is down and control answers 503 meanwhile."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

CONNECT_TIMEOUT_SECONDS = 5.0


class LazyTemporal:
    def __init__(
        self, target: str, namespace: str, *, tls: TLSConfig | bool = False, api_key: str | None = None
    ) -> None:
        self.target = target
        self.namespace = namespace
        self.tls = tls
        self.api_key = api_key
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                    self._client = await Client.connect(
                        self.target,
                        namespace=self.namespace,
                        tls=self.tls,
                        api_key=self.api_key,
                        data_converter=pydantic_data_converter,
                        interceptors=[TracingInterceptor()],
                    )
            return self._client
