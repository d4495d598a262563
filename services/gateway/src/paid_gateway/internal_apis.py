"""Calls to another service's internal HTTP API (evolution's, the notifier's) with the internal token
the two services share. The caller's own API token and role are checked by the route before; the
internal token never leaves the gateway, and a refusal of it is the gateway's fault (502), never the
caller's (401)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import HTTPException, status

log = logging.getLogger(__name__)
FORWARDED_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class InternalApi:
    service: str  # as the answers name it: "evolution", "the notifier"
    url: str
    token: str
    token_setting: str  # the gateway's setting holding the token, named when it is refused

    async def call(
        self, method: str, path: str, *, params: Any = None, content: bytes = b""
    ) -> httpx.Response:
        """One request under `/api`; its answer, or a 502/503 of the gateway's own."""
        if not self.token:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"{self.service}'s API is not configured here"
            )
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            async with httpx.AsyncClient(
                base_url=self.url, timeout=FORWARDED_TIMEOUT_SECONDS, trust_env=False
            ) as client:
                answer = await client.request(
                    method, f"/api{path}", params=params, content=content, headers=headers
                )
        except httpx.HTTPError as error:
            log.warning("%s's API did not answer %s %s: %s", self.service, method, path, error)
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"{self.service}'s API did not answer") from None
        if answer.status_code == status.HTTP_401_UNAUTHORIZED:  # our internal token, not the caller's
            log.error("%s refused the gateway's internal token: check %s", self.service, self.token_setting)
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"{self.service} refused the gateway")
        return answer
