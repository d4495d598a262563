"""A job's credential is asked of the minter once and kept for the job (`JobCredentialCache`), asked
again near its expiry, forgotten when the job is released, and never handed to another request: another
repository, purpose, workflow permission or job. The minter here is a fake NATS connection that mints
a new token for every request it answers and records each one."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from nats.aio.client import Client as NatsClient

from paid_contracts import (
    InstallationTokenReply,
    InstallationTokenRequest,
    InstallationTokensRelease,
    subjects,
)
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.job_credential_cache import JobCredentialCache
from paid_runtime.job_tokens import release_job

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@dataclass
class Reply:
    data: bytes


@dataclass
class FakeMinter:
    """Answers like the gateway's minter: a fresh token per mint request, valid for `lifetime`."""

    now: datetime = START
    lifetime: timedelta = timedelta(hours=1)
    refuse: str = ""
    mints: list[InstallationTokenRequest] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    numbers: itertools.count[int] = field(default_factory=itertools.count)

    async def request(self, subject: str, body: bytes, timeout: float) -> Reply:
        await asyncio.sleep(0)  # a real round trip yields: concurrent askers overlap
        if subject == subjects.GITHUB_APP_RELEASE_JOB:
            self.releases.append(InstallationTokensRelease.model_validate_json(body).job)
            return Reply(InstallationTokenReply().model_dump_json().encode())
        request = InstallationTokenRequest.model_validate_json(body)
        self.mints.append(request)
        if self.refuse:
            reply = InstallationTokenReply(error=self.refuse, error_kind="unavailable")
        else:
            reply = InstallationTokenReply(
                token=f"ghs_minted_{next(self.numbers)}", source="app", expires_at=self.now + self.lifetime
            )
        return Reply(reply.model_dump_json().encode())


def credentials_with_cache(minter: FakeMinter) -> GitHubCredentials:
    cache = JobCredentialCache(clock=lambda: minter.now)
    return GitHubCredentials(lambda: cast(NatsClient, minter), job_cache=cache)


async def test_a_jobs_steps_ask_the_minter_once_even_all_at_once() -> None:
    minter = FakeMinter()
    credentials = credentials_with_cache(minter)
    asked = [credentials.for_repository("alice/calc", "run", job="run:1") for _ in range(8)]
    tokens = {credential.token for credential in await asyncio.gather(*asked)}
    later = await credentials.for_repository("alice/calc", "run", job="run:1")
    assert tokens == {later.token}
    assert len(minter.mints) == 1


async def test_a_token_near_its_expiry_is_minted_again() -> None:
    minter = FakeMinter(lifetime=timedelta(hours=1))
    credentials = credentials_with_cache(minter)
    first = await credentials.for_repository("alice/calc", "run", job="run:1")
    minter.now += timedelta(minutes=9)
    assert (await credentials.for_repository("alice/calc", "run", job="run:1")).token == first.token
    minter.now = START + timedelta(minutes=55)  # five minutes left: the minter's own refresh margin
    second = await credentials.for_repository("alice/calc", "run", job="run:1")
    assert second.token != first.token
    assert len(minter.mints) == 2


async def test_a_short_lived_token_is_never_kept_past_its_refresh_point() -> None:
    minter = FakeMinter(lifetime=timedelta(minutes=4))  # already inside the refresh margin
    credentials = credentials_with_cache(minter)
    first = await credentials.for_repository("alice/calc", "run", job="run:1")
    second = await credentials.for_repository("alice/calc", "run", job="run:1")
    assert first.token != second.token
    assert len(minter.mints) == 2


async def test_a_long_run_asks_again_after_the_maximum_age() -> None:
    minter = FakeMinter(lifetime=timedelta(hours=1))
    credentials = credentials_with_cache(minter)
    first = await credentials.for_repository("alice/calc", "run", job="run:1")
    minter.now += timedelta(minutes=10)
    assert (await credentials.for_repository("alice/calc", "run", job="run:1")).token != first.token


async def test_a_token_is_never_handed_to_another_repository_job_or_wider_permission() -> None:
    minter = FakeMinter()
    credentials = credentials_with_cache(minter)
    held = await credentials.for_repository("alice/calc", "run", job="run:1")
    others = [
        await credentials.for_repository("alice/other", "run", job="run:1"),
        await credentials.for_repository("Alice/Calc", "run", job="run:1"),  # spelled otherwise
        await credentials.for_repository("alice/calc", "run", job="run:1", allow_workflows=True),
        await credentials.for_repository("alice/calc", "issues", job="run:1"),
        await credentials.for_repository("alice/calc", "run", job="run:2"),
    ]
    assert held.token not in {other.token for other in others}
    assert len({other.token for other in others}) == len(others)
    assert [(r.repository, r.purpose, r.allow_workflows, r.job) for r in minter.mints[1:]] == [
        ("alice/other", "run", False, "run:1"),
        ("Alice/Calc", "run", False, "run:1"),
        ("alice/calc", "run", True, "run:1"),
        ("alice/calc", "issues", False, "run:1"),
        ("alice/calc", "run", False, "run:2"),
    ]
    # A narrower request after a wider one gets its own token too, not the wider one's.
    wide = await credentials.for_repository("alice/calc", "run", job="run:3", allow_workflows=True)
    narrow = await credentials.for_repository("alice/calc", "run", job="run:3")
    assert wide.token != narrow.token


async def test_a_released_job_is_forgotten_before_its_tokens_are_revoked() -> None:
    minter = FakeMinter()
    credentials = credentials_with_cache(minter)
    first = await credentials.for_repository("alice/calc", "run", job="run:1")
    kept = await credentials.for_repository("alice/calc", "run", job="run:2")
    await release_job(credentials, "run:1")
    assert minter.releases == ["run:1"]
    assert (await credentials.for_repository("alice/calc", "run", job="run:1")).token != first.token
    assert (await credentials.for_repository("alice/calc", "run", job="run:2")).token == kept.token


async def test_a_refusal_is_not_kept() -> None:
    minter = FakeMinter(refuse="the minter is restarting")
    credentials = credentials_with_cache(minter)
    with pytest.raises(CredentialUnavailable):
        await credentials.for_repository("alice/calc", "run", job="run:1")
    minter.refuse = ""
    assert (await credentials.for_repository("alice/calc", "run", job="run:1")).token
    assert len(minter.mints) == 2


async def test_shared_tokens_and_services_without_a_cache_ask_each_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    minter = FakeMinter()
    cached = credentials_with_cache(minter)
    await cached.for_repository("alice/calc", "trust")
    await cached.for_repository("alice/calc", "trust")
    uncached = GitHubCredentials(lambda: cast(NatsClient, minter))
    await uncached.for_repository("alice/calc", "run", job="run:1")
    await uncached.for_repository("alice/calc", "run", job="run:1")
    assert len(minter.mints) == 4
    with caplog.at_level(logging.DEBUG):
        held = await cached.for_repository("alice/calc", "run", job="run:9")
        logging.getLogger("paid_runtime").debug("held %r", held)
    assert held.token not in caplog.text


async def test_jobs_never_released_do_not_stay_once_stale() -> None:
    minter = FakeMinter()
    cache = JobCredentialCache(clock=lambda: minter.now)
    credentials = GitHubCredentials(lambda: cast(NatsClient, minter), job_cache=cache)
    await credentials.for_repository("alice/calc", "run", job="run:abandoned")
    minter.now += timedelta(minutes=30)
    for number in range(255):
        await credentials.for_repository("alice/calc", "run", job=f"run:{number}")
    assert len(cache) == 255  # the abandoned job's entry went at the 256th insert
