"""Signed webhook deliveries, sent from a background thread so REST calls never wait on receivers."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx

from paid_github_emulator.state import DeliveryRecord, Hook, utc_now

HookResultCallback = Callable[[int, int | None, str], None]


def sign(secret: str, body: bytes) -> dict[str, str]:
    """The two signature headers GitHub sends, HMAC of the raw body keyed by the hook secret."""
    key = secret.encode()
    return {
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


@dataclass(frozen=True)
class _Job:
    guid: str
    hook_id: int
    repo: str
    repo_id: int
    event: str
    action: str | None
    url: str
    secret: str | None
    content_type: str
    body: bytes
    redelivery: bool
    target_type: str = "repository"
    target_id: int | None = None  # the repository's id unless a GitHub App's hook sends it


class WebhookDispatcher:
    def __init__(self, *, timeout: float = 10.0, on_result: HookResultCallback | None = None) -> None:
        self._timeout = timeout
        self._on_result = on_result
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._records: list[DeliveryRecord] = []
        self._jobs_by_record: dict[int, _Job] = {}
        self._changed = threading.Condition()
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._agent = f"GitHub-Hookshot/{secrets.token_hex(4)}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="github-emulator-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread:
            self._jobs.put(None)
            self._thread.join(timeout=self._timeout + 5)
            self._thread = None

    def enqueue(
        self,
        hook: Hook,
        *,
        repo: str,
        repo_id: int,
        event: str,
        payload: dict[str, Any],
        app_id: int | None = None,
    ) -> str:
        """Queue one delivery; with `app_id` it is the App's hook that sends it (target `integration`)."""
        raw = json.dumps(payload, separators=(",", ":")).encode()
        if hook.content_type == "form":
            raw = urlencode({"payload": raw.decode()}).encode()
        guid = str(uuid.uuid4())
        action = payload.get("action")
        self._jobs.put(
            _Job(
                guid,
                hook.id,
                repo,
                repo_id,
                event,
                action if isinstance(action, str) else None,
                hook.url,
                hook.secret,
                hook.content_type,
                raw,
                redelivery=False,
                target_type="repository" if app_id is None else "integration",
                target_id=repo_id if app_id is None else app_id,
            )
        )
        return guid

    def redeliver(self, delivery: int | str) -> str:
        """Send a recorded delivery again with the same body and the same X-GitHub-Delivery guid."""
        with self._changed:
            matches = [r for r in self._records if delivery in (r.id, r.guid)]
            if not matches:
                raise KeyError(f"no delivery {delivery!r}")
            job = self._jobs_by_record[matches[-1].id]
        self._jobs.put(replace(job, redelivery=True))
        return job.guid

    def deliveries(self) -> list[DeliveryRecord]:
        with self._changed:
            return list(self._records)

    def clear(self) -> None:
        with self._changed:
            self._records.clear()
            self._jobs_by_record.clear()

    def wait_for(
        self, count: int, timeout: float, *, event: str | None = None, action: str | None = None
    ) -> list[DeliveryRecord]:
        """Block until `count` deliveries matching the filters were attempted, or raise TimeoutError."""

        def matching() -> list[DeliveryRecord]:
            return [r for r in self._records if event in (None, r.event) and action in (None, r.action)]

        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := matching()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(found)} of {count} deliveries (event={event}, action={action})")
                self._changed.wait(remaining)
            return found

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while (job := self._jobs.get()) is not None:
                self._deliver(client, job)

    def _deliver(self, client: httpx.Client, job: _Job) -> None:
        headers = {
            "Accept": "*/*",
            "User-Agent": self._agent,
            "X-GitHub-Event": job.event,
            "X-GitHub-Delivery": job.guid,
            "X-GitHub-Hook-ID": str(job.hook_id),
            "X-GitHub-Hook-Installation-Target-Type": job.target_type,
            "X-GitHub-Hook-Installation-Target-ID": str(job.target_id),
            "Content-Type": "application/x-www-form-urlencoded"
            if job.content_type == "form"
            else "application/json",
        }
        if job.secret:
            headers |= sign(job.secret, job.body)
        started = time.monotonic()
        status: int | None = None
        response_headers: dict[str, str] = {}
        response_body = ""
        error: str | None = None
        try:
            response = client.post(job.url, content=job.body, headers=headers)
            status, response_headers, response_body = (
                response.status_code,
                dict(response.headers),
                response.text,
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        duration_ms = (time.monotonic() - started) * 1000
        with self._changed:
            self._next_id += 1
            record = DeliveryRecord(
                id=self._next_id,
                guid=job.guid,
                hook_id=job.hook_id,
                repo=job.repo,
                event=job.event,
                action=job.action,
                url=job.url,
                request_headers=headers,
                body=job.body,
                redelivery=job.redelivery,
                delivered_at=utc_now(),
                status_code=status,
                response_headers=response_headers,
                response_body=response_body[:10_000],
                error=error,
                duration_ms=duration_ms,
            )
            self._records.append(record)
            self._jobs_by_record[record.id] = job
            self._changed.notify_all()
        if self._on_result:
            self._on_result(job.hook_id, status, error or "OK")
