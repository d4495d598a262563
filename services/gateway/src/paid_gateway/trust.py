"""The webhook path's trust check: the shared rules (`paid_runtime.github_trust`) plus a short cache,
so a burst of deliveries from one labeler asks GitHub once.

The check runs in the request (one cached GET at most, well inside GitHub's 10 s) because it decides
whether anything is published; the explanatory comment for an untrusted labeler is written after the
response, and is idempotent through its marker, so the poller seeing the same labeling adds none.
"""

from __future__ import annotations

import asyncio
import logging
import time

from paid_runtime.github_trust import (
    TrustDecision,
    comment_once,
    decide_trust,
    github_client,
    refusal_marker,
    refusal_text,
)

log = logging.getLogger(__name__)


class TrustChecker:
    def __init__(self, api_url: str, default_token: str, ttl: float) -> None:
        self._api_url = api_url
        self._default_token = default_token
        self._ttl = ttl
        self._decisions: dict[tuple[str, str, str], tuple[float, TrustDecision]] = {}
        self._asking: dict[tuple[str, str, str], asyncio.Future[TrustDecision]] = {}

    async def decide(
        self, *, owner: str, name: str, login: str, allowlist: tuple[str, ...], token: str | None
    ) -> TrustDecision:
        """Concurrent deliveries that miss the cache together share one question to GitHub: under
        load, every delivery in flight when an entry expires would otherwise build its own client
        (a TLS context, about 10 ms of CPU) and ask the same thing."""
        key = (f"{owner}/{name}".lower(), login.lower(), ",".join(sorted(allowlist)).lower())
        cached = self._decisions.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(key, owner, name, login, allowlist, token))
            self._asking[key] = asking
            asking.add_done_callback(lambda _: self._asking.pop(key, None))
        return await asyncio.shield(asking)

    async def _ask(
        self,
        key: tuple[str, str, str],
        owner: str,
        name: str,
        login: str,
        allowlist: tuple[str, ...],
        token: str | None,
    ) -> TrustDecision:
        async with github_client(self._api_url, token or self._default_token) as client:
            decision = await decide_trust(client, owner=owner, name=name, login=login, allowlist=allowlist)
        self._decisions[key] = (time.monotonic() + self._ttl, decision)
        return decision

    async def refuse(
        self,
        *,
        owner: str,
        name: str,
        number: int,
        login: str,
        label: str,
        trigger_id: str,
        token: str | None,
    ) -> None:
        """Explains once, on the issue, why nothing started; failures are logged (the marker makes a
        later attempt, by a redelivery or the poller, safe)."""
        try:
            async with github_client(self._api_url, token or self._default_token) as client:
                wrote = await comment_once(
                    client,
                    owner=owner,
                    name=name,
                    number=number,
                    marker=refusal_marker(trigger_id),
                    body=refusal_text(login, label, trigger_id),
                )
        except Exception:
            log.exception("could not explain the refused trigger %s", trigger_id)
            return
        log.info("refused trigger %s (%s)", trigger_id, "commented" if wrote else "already explained")
