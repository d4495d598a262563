"""The poller's activity: one poll of one repository, publishing what changed as Paid's events.

Publishing happens here (not in the workflow) with ids derived from the GitHub change, so a retried
activity republishes the same ids and JetStream drops the copies. Cursors advance only past what was
handled, and are saved even when the rate limit interrupts the cycle, so nothing is lost or repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from paid_contracts import Event, LabelMapping, RepoRef, WorkRequested
from paid_contracts.identity import github_second
from paid_github_events import (
    closed_pull,
    closed_pull_number,
    labeled_issue_event,
    labeled_pull,
    labeled_pull_number,
    listed_comment,
)
from paid_poller import repo
from paid_poller.github import PAGE_SIZE, HttpFactory, Json, RateLimitedError, get_json, read_list
from paid_poller.models import PolledProject, PollState
from paid_poller.params import PollRepositoryInput, PollResult
from paid_poller.pull_polls import read_pull_requests
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import comment_once, decide_trust, refusal_marker, refusal_text
from paid_runtime.secretbox import SecretBox

log = logging.getLogger(__name__)
PRODUCER = "poller"
Publisher = Callable[[Event], Awaitable[object]]


@dataclass(frozen=True)
class PollerActivities:
    sessions: async_sessionmaker[AsyncSession]
    http: HttpFactory
    publish: Publisher
    box: SecretBox
    default_token: str = ""
    default_labels: LabelMapping = field(default_factory=LabelMapping)
    credentials: GitHubCredentials | None = None
    """In `minter` mode, each repository's token comes from the gateway's minter (issues write for the
    untrusted-trigger comments, the rest read-only); otherwise the project's own token or the default."""

    @activity.defn(name="poller.poll_repository")
    async def poll_repository(self, target: PollRepositoryInput) -> PollResult:
        key = f"{target.owner}/{target.name}".lower()
        async with self.sessions() as session:
            project = await repo.get_project(session, repo=key)
            state = await repo.get_poll_state(session, repo=key)
        now = datetime.now(UTC)
        if state is None:
            state = PollState(
                repo=key, baseline_at=project.registered_at if project else now, last_polled_at=now
            )
        cycle = _Cycle(self, RepoRef(owner=target.owner, name=target.name), project, state)
        token = await self._token(key, project)
        rate_limited_until: float | None = None
        try:
            client = self.http(token)
            await cycle.read_issue_events(client)
            await cycle.read_comments(client)
            await cycle.read_pulls(client)
        except RateLimitedError as limited:
            rate_limited_until = limited.reset_at
            log.warning("%s: rate limit exhausted, waiting until %.0f", key, limited.reset_at)
        except httpx.TransportError as error:
            raise RuntimeError(f"GitHub unreachable when polling {key}: {error!r}") from error
        finally:
            state.last_polled_at = datetime.now(UTC)
            async with self.sessions() as session:
                await repo.save_poll_state(session, state=state)
        return PollResult(
            not_modified=cycle.not_modified and rate_limited_until is None,
            published=cycle.published,
            refused=cycle.refused,
            interval_seconds=project.poll_interval_seconds if project else None,
            rate_limited_until=rate_limited_until,
        )

    async def _token(self, repository: str, project: PolledProject | None) -> str:
        if self.credentials is not None and self.credentials.mode == "minter":
            try:
                return (await self.credentials.for_repository(repository, "issues")).token
            except CredentialUnavailable as error:
                # Retried by the poll workflow's policy; the minter remembers a refusal for a while and an
                # uninstalled project costs GitHub nothing, so a retry is no hot loop.
                raise RuntimeError(f"no GitHub credential to poll {repository}: {error.reason}") from None
        own = self.box.decrypt(project.token_ciphertext) if project and project.token_ciphertext else ""
        return own or self.default_token

    def all(self) -> list[Callable[..., Any]]:
        return [self.poll_repository]


class _Cycle:
    """One poll's progress; mutates `state` as each change is handled."""

    def __init__(
        self, owner: PollerActivities, repo_ref: RepoRef, project: PolledProject | None, state: PollState
    ) -> None:
        self.activities = owner
        self.repo = repo_ref
        self.state = state
        self.labels = LabelMapping.model_validate(project.labels) if project else owner.default_labels
        self.allowlist = tuple(project.allowlist) if project else ()
        self.published = 0
        self.refused = 0
        self.not_modified = True

    @property
    def path(self) -> str:
        return f"/repos/{self.repo.owner}/{self.repo.name}"

    def _is_new(self, event: Json) -> bool:
        if self.state.last_event_id is not None:
            return int(event["id"]) > self.state.last_event_id
        return github_second(str(event["created_at"])) >= github_second(self.state.baseline_at)

    async def read_issue_events(self, client: httpx.AsyncClient) -> None:
        read = await read_list(
            client,
            f"{self.path}/issues/events",
            etag=self.state.events_etag,
            more=lambda page: self._is_new(page[-1]),  # newest first: the last is the oldest
        )
        if read.not_modified:
            return
        self.not_modified = False
        for event in sorted((e for e in read.items if self._is_new(e)), key=lambda e: int(e["id"])):
            await self._handle_issue_event(client, event)
            self.state.last_event_id = int(event["id"])
        newest = max((int(e["id"]) for e in read.items), default=None)
        if newest is not None:
            self.state.last_event_id = max(self.state.last_event_id or 0, newest)
        self.state.events_etag = read.etag

    async def _handle_issue_event(self, client: httpx.AsyncClient, event: Json) -> None:
        work = labeled_issue_event(self.repo, event, self.labels, producer=PRODUCER)
        if work is not None:
            await self._trigger(client, work)
            return
        reviewed = labeled_pull_number(event, self.labels)
        if reviewed is not None:  # review mode: the head is pinned as this poll reads it
            pull = await get_json(client, f"{self.path}/pulls/{reviewed}")
            requested = labeled_pull(self.repo, event, pull, self.labels, producer=PRODUCER)
            if requested is not None:
                await self._publish(requested)
            return
        number = closed_pull_number(event)
        if number is not None:
            pull = await get_json(client, f"{self.path}/pulls/{number}")
            closed = closed_pull(self.repo, event, pull, producer=PRODUCER)
            if closed is not None:
                await self._publish(closed)

    async def _trigger(self, client: httpx.AsyncClient, work: WorkRequested) -> None:
        decision = await decide_trust(
            client, owner=self.repo.owner, name=self.repo.name, login=work.actor, allowlist=self.allowlist
        )
        if decision.trusted:
            await self._publish(work)
            return
        self.refused += 1
        await comment_once(
            client,
            owner=self.repo.owner,
            name=self.repo.name,
            number=work.issue.number,
            marker=refusal_marker(work.event_id),
            body=refusal_text(work.actor, work.label, work.event_id),
        )
        log.info("%s: refused %s (%s)", self.repo.full_name, work.event_id, decision.reason)

    async def read_comments(self, client: httpx.AsyncClient) -> None:
        since = self.state.comments_since or github_second(self.state.baseline_at)
        read = await read_list(
            client,
            f"{self.path}/issues/comments",
            etag=self.state.comments_etag,
            params={"since": since, "sort": "updated", "direction": "asc"},
            more=lambda page: len(page) == PAGE_SIZE,
        )
        if read.not_modified:
            return
        self.not_modified = False
        baseline = github_second(self.state.baseline_at)
        # In id order, so that `max_comment_id` never passes over a comment not yet handled.
        for comment in sorted(read.items, key=lambda c: int(c["id"])):
            if self.state.max_comment_id is not None and int(comment["id"]) <= self.state.max_comment_id:
                continue  # handled before (GitHub's `since` is inclusive), or an edit of an old comment
            if github_second(str(comment["created_at"])) >= baseline:
                commented = listed_comment(self.repo, comment, producer=PRODUCER)
                if commented is not None:
                    await self._publish(commented)
            self.state.max_comment_id = int(comment["id"])
        latest = max((github_second(str(c["updated_at"])) for c in read.items), default=None)
        self.state.comments_since = max(filter(None, [since, latest]))
        self.state.comments_etag = read.etag

    async def read_pulls(self, client: httpx.AsyncClient) -> None:
        changed = await read_pull_requests(
            client, repo=self.repo, path=self.path, state=self.state, producer=PRODUCER, publish=self._publish
        )
        self.not_modified = self.not_modified and not changed

    async def _publish(self, event: Event) -> None:
        await self.activities.publish(event)
        self.published += 1
        log.info("%s: published %s", self.repo.full_name, event.event_id, extra={"repo": self.repo.full_name})
