"""Chaos for the whole platform: SIGKILL random processes while runs go through, then count what was
lost or done twice. Used by `tests/chaos` (short form) and `scripts/chaos` (the full run)."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from temporalio.client import Client

from paid_devstack.demo_repo import DemoIssue
from paid_devstack.processes import StartupError, wait_until
from paid_devstack.sandbox import EmulatedPaid
from paid_devstack.server import LocalServer

log = logging.getLogger("paid_devstack.chaos")

SERVICE_VICTIMS = ("gateway", "poller", "planner", "executor", "evolution")
INFRA_VICTIMS = ("nats", "temporal", "postgres")
ALL_VICTIMS = SERVICE_VICTIMS + INFRA_VICTIMS
RESULT_MARKER = ":result -->"


@dataclass
class ChaosReport:
    runs: int
    kills: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    causes: dict[str, str] = field(default_factory=dict)  # failed run -> what its comment says
    redelivered: int = 0
    seconds: float = 0.0
    refused_without_credentials: tuple[str, ...] = ()
    """Which servers refused a connection without valid credentials at the end: authentication was on."""

    def lines(self) -> list[str]:
        """One `name value unit` line per figure, as the benchmarks print them."""
        return [
            f"chaos_runs {self.runs} runs",
            f"chaos_kills {sum(self.kills.values())} kills",
            *(f"chaos_kills_{victim} {count} kills" for victim, count in sorted(self.kills.items())),
            f"chaos_lost {len(self.lost)} runs",
            f"chaos_duplicated {len(self.duplicated)} runs",
            f"chaos_failed_honestly {len(self.failed)} runs",
            f"chaos_webhooks_redelivered {self.redelivered} deliveries",
            f"chaos_wall_time {self.seconds:.1f} s",
            f"chaos_refused_without_credentials {','.join(self.refused_without_credentials) or 'none'}",
        ]


def failure_cause(comment: str) -> str:
    """The headline and the quoted detail of a result comment, on one line."""
    lines = [line for line in comment.splitlines() if line and not line.startswith("<!--")]
    detail = [line.removeprefix("> ") for line in lines if line.startswith("> ")]
    return " | ".join(lines[:1] + detail[:1])[:500]


class ChaosMonkey(threading.Thread):
    """Every few seconds kills one random victim that is up with SIGKILL; each comes back after a
    random downtime, on its own thread, so that several processes can be down at once."""

    def __init__(
        self,
        paid: EmulatedPaid,
        *,
        rng: random.Random,
        victims: Sequence[str] = ALL_VICTIMS,
        pause: tuple[float, float] = (0.5, 2.5),
        downtime: tuple[float, float] = (0.0, 2.0),
    ) -> None:
        super().__init__(name="chaos-monkey", daemon=True)
        self.paid = paid
        self.rng = rng
        self.victims = tuple(victims)
        self.pause = pause
        self.downtime = downtime
        self.kills: Counter[str] = Counter()
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._down: set[str] = set()
        self._lock = threading.Lock()
        self._revivals: list[threading.Thread] = []

    def run(self) -> None:
        while not self._halt.wait(self.rng.uniform(*self.pause)):
            with self._lock:
                candidates = [victim for victim in self.victims if victim not in self._down]
                if not candidates:
                    continue
                victim = self.rng.choice(candidates)
                self._down.add(victim)
            self._kill(victim)
            self.kills[victim] += 1
            revival = threading.Thread(
                target=self._revive_later, args=(victim, self.rng.uniform(*self.downtime)), daemon=True
            )
            self._revivals.append(revival)
            revival.start()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        for revival in self._revivals:
            revival.join()
        for victim in self.victims:  # whatever died on its own comes back before the counting starts
            if not self._is_running(victim):
                self._revive(victim)

    def _revive_later(self, victim: str, downtime: float) -> None:
        time.sleep(downtime)  # the outage itself: how long the victim stays dead
        try:
            self._revive(victim)
        finally:
            with self._lock:
                self._down.discard(victim)

    def _server(self, victim: str) -> LocalServer:
        server: LocalServer | None = getattr(self.paid.platform.infra, victim)
        if server is None:
            raise ValueError(f"{victim} is given by URL, not started here: it cannot be killed")
        return server

    def _is_running(self, victim: str) -> bool:
        if victim in INFRA_VICTIMS:
            return self._server(victim).is_running
        return self.paid.platform.supervisor.is_running(victim)

    def _kill(self, victim: str) -> None:
        log.warning("chaos: SIGKILL %s", victim)
        if victim in INFRA_VICTIMS:
            self._server(victim).kill()
        else:
            self.paid.platform.kill(victim)

    def _revive(self, victim: str) -> None:
        for attempt in range(1, 4):
            try:
                if victim in INFRA_VICTIMS:
                    self._server(victim).start(timeout=60.0)
                else:
                    self.paid.platform.start_service(victim)
                return
            except Exception as error:  # a start can fail while another victim is down; try again
                self.errors.append(f"restarting {victim} (attempt {attempt}): {error}")
                log.warning("chaos: restarting %s failed: %s", victim, error)
        raise RuntimeError(f"{victim} would not start again: {self.errors[-1]}")


class FailedDeliveries:
    """GitHub does not retry failed webhook deliveries; teams redeliver them (or let the poller catch
    up). Called, this redelivers, at most once a second each, the deliveries of `event`.`action` none
    of whose attempts succeeded; it answers True, to be polled beside other conditions."""

    def __init__(self, paid: EmulatedPaid, *, event: str, action: str) -> None:
        self.paid = paid
        self.event = event
        self.action = action
        self._redelivered: Counter[str] = Counter()
        self._last_redelivery: dict[str, float] = {}

    @property
    def redelivered(self) -> int:
        return sum(self._redelivered.values())

    def __call__(self) -> bool:
        attempts: dict[str, list[bool]] = {}
        for delivery in self.paid.github.deliveries(event=self.event, action=self.action):
            attempts.setdefault(delivery.guid, []).append(delivery.succeeded)
        now = time.monotonic()
        for guid, outcomes in attempts.items():
            pending = len(outcomes) - 1 < self._redelivered[guid]
            recent = now - self._last_redelivery.get(guid, 0.0) < 1.0
            if not any(outcomes) and not pending and not recent and self._redelivered[guid] < 60:
                self._redelivered[guid] += 1
                self._last_redelivery[guid] = now
                self.paid.github.redeliver(guid)
        return True


class ChaosDriver:
    """Labels `runs` issues while a `ChaosMonkey` kills processes, then checks every issue's outcome.
    A label's delivery whose attempts all failed is redelivered, as a team would."""

    def __init__(
        self,
        paid: EmulatedPaid,
        *,
        runs: int,
        seed: int,
        victims: Sequence[str] = ALL_VICTIMS,
        label_gap: tuple[float, float] = (0.2, 1.5),
        min_chaos_seconds: float = 10.0,
    ) -> None:
        self.paid = paid
        self.runs = runs
        self.rng = random.Random(seed)
        self.monkey = ChaosMonkey(paid, rng=random.Random(seed + 1), victims=victims)
        self.label_gap = label_gap
        self.min_chaos_seconds = min_chaos_seconds
        self._redeliver_failed = FailedDeliveries(paid, event="issues", action="labeled")
        self._quiet = threading.Event()

    def run(self, *, settle_timeout: float = 600.0) -> ChaosReport:
        began = time.monotonic()
        issues = [self.paid.create_repository("chaos", f"repo-{index}") for index in range(self.runs)]
        self.monkey.start()
        try:
            for issue in issues:
                self.paid.label(issue)
                self._quiet.wait(self.rng.uniform(*self.label_gap))
            remaining = self.min_chaos_seconds - (time.monotonic() - began)
            if remaining > 0:
                self._quiet.wait(remaining)
        finally:
            self.monkey.stop()
        try:
            wait_until(
                lambda: self._redeliver_failed() and all(self._settled(issue) for issue in issues),
                timeout=settle_timeout,
                what="every labeled issue to end in a pull request or a failure comment",
            )
            wait_until(
                lambda: self._running_workflows() == 0, timeout=settle_timeout, what="no running workflow"
            )
        except StartupError as error:  # what never settled is counted as lost below
            log.error("chaos: %s", error)
        report = ChaosReport(
            runs=self.runs, kills=self.monkey.kills, redelivered=self._redeliver_failed.redelivered
        )
        for issue in issues:
            pulls = self.paid.pulls(issue)
            results = self._result_comments(issue)
            if not pulls and not results:
                report.lost.append(issue.html_url)
            if len(pulls) > 1 or len(results) > 1:
                counts = f"{len(pulls)} PRs, {len(results)} result comments"
                report.duplicated.append(f"{issue.html_url}: {counts}")
            if results and not pulls:
                report.failed.append(issue.html_url)
                report.causes[issue.html_url] = failure_cause(str(results[0].get("body", "")))
        report.seconds = time.monotonic() - began
        return report

    def _result_comments(self, issue: DemoIssue) -> list[dict[str, object]]:
        comments = self.paid.github.comments(issue.owner, issue.repo, issue.number)
        return [c for c in comments if RESULT_MARKER in str(c.get("body", ""))]

    def _settled(self, issue: DemoIssue) -> bool:
        return bool(self._result_comments(issue))

    def _running_workflows(self) -> int:
        async def count() -> int:
            client = await Client.connect(self.paid.platform.infra.temporal_target)
            result = await client.count_workflows("ExecutionStatus = 'Running'")
            return result.count

        return asyncio.run(count())
