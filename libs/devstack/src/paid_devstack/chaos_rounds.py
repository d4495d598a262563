"""Chaos during review rounds: each of N issues is labeled and gets its pull request in calm; then,
while a `ChaosMonkey` kills processes, a trusted reviewer requests changes on each pull request. Every
review must end in exactly one round: one line in the conversation's one comment, at most one new
commit, and (when it pushed) one reply of Paid's in each thread. Used by `scripts/chaos --scenario
review-rounds` and its heavy test."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from paid_contracts.workflow_ids import PULL_CONVERSATION_STATUS_QUERY, pull_conversation_workflow_id
from paid_devstack.chaos import ALL_VICTIMS, ChaosMonkey, ChaosReport, FailedDeliveries
from paid_devstack.demo_repo import ROUND_EVENTS
from paid_devstack.processes import StartupError, wait_until
from paid_devstack.review_rounds import ReviewedPull, request_changes, tally
from paid_devstack.sandbox import EmulatedPaid

log = logging.getLogger("paid_devstack.chaos")


class ReviewRoundChaosDriver:
    def __init__(
        self,
        paid: EmulatedPaid,
        *,
        pulls: int,
        seed: int,
        victims: Sequence[str] = ALL_VICTIMS,
        review_gap: tuple[float, float] = (0.2, 1.5),
        min_chaos_seconds: float = 10.0,
    ) -> None:
        self.paid = paid
        self.pulls = pulls
        self.rng = random.Random(seed)
        self.monkey = ChaosMonkey(paid, rng=random.Random(seed + 1), victims=victims)
        self.review_gap = review_gap
        self.min_chaos_seconds = min_chaos_seconds
        self._quiet = threading.Event()

    def run(self, *, settle_timeout: float = 600.0) -> ChaosReport:
        began = time.monotonic()
        issues = [
            self.paid.create_repository("chaos-rounds", f"repo-{index}", hook_events=ROUND_EVENTS)
            for index in range(self.pulls)
        ]
        for issue in issues:
            self.paid.label(issue)
        numbers = [int(self.paid.wait_for_pull(issue, timeout=settle_timeout)["number"]) for issue in issues]
        for issue in issues:
            self.paid.wait_for_result_comment(issue, timeout=settle_timeout)
        chaos_began = time.monotonic()
        reviewed: list[ReviewedPull] = []
        self.monkey.start()
        try:
            for issue, number in zip(issues, numbers, strict=True):
                reviewed.append(request_changes(self.paid, issue, number))
                self._quiet.wait(self.rng.uniform(*self.review_gap))
            remaining = self.min_chaos_seconds - (time.monotonic() - chaos_began)
            if remaining > 0:
                self._quiet.wait(remaining)
        finally:
            self.monkey.stop()
        redeliver = FailedDeliveries(self.paid, event="pull_request_review", action="submitted")
        try:
            wait_until(
                lambda: redeliver() and all(tally(self.paid, pull).finished for pull in reviewed),
                timeout=settle_timeout,
                what="every review to end in a finished round",
            )
            wait_until(
                lambda: asyncio.run(self._conversations_idle(reviewed)),
                timeout=settle_timeout,
                what="every pull request's conversation to wait with nothing pending",
            )
        except StartupError as error:  # what never settled is counted as lost below
            log.error("chaos: %s", error)
        report = ChaosReport(runs=len(reviewed), kills=self.monkey.kills, redelivered=redeliver.redelivered)
        for pull in reviewed:
            url = f"{pull.issue.html_url.rsplit('/issues/', 1)[0]}/pull/{pull.number}"
            counted = tally(self.paid, pull)
            if lost := counted.lost():
                report.lost.append(f"{url}: {lost}")
            if duplicated := counted.duplicated():
                report.duplicated.append(f"{url}: {duplicated}")
            if counted.finished and not counted.pushed:
                report.failed.append(url)
                report.causes[url] = " | ".join(counted.round_lines)[:500]
        report.seconds = time.monotonic() - began
        return report

    async def _conversations_idle(self, reviewed: list[ReviewedPull]) -> bool:
        """Each conversation has no round pending or under way (asked by name: libs import no service)."""
        client = await Client.connect(self.paid.platform.infra.temporal_target)
        for pull in reviewed:
            repository = f"{pull.issue.owner}/{pull.issue.repo}"
            handle = client.get_workflow_handle(pull_conversation_workflow_id(repository, pull.number))
            try:
                status: dict[str, Any] = await handle.query(PULL_CONVERSATION_STATUS_QUERY)
            except RPCError:
                return False
            if status.get("pending") or status.get("step") != "waiting":
                return False
        return True
