"""Moving a killed executor's runs at once: every executor process watches the homes of the other
processes' running runs (liveness.HomeWatch, from their NATS connections) and, when one is gone, signals
each workflow homed there (`ExecutionSignal.HOME_LOST`); the workflow drops the lost attempt and moves the
run to a fresh worktree on a live worker (fix_forward.FixForwardLoop._at_home).

Which run is homed where is in `executor.run_homes`, written by prepare_workspace on the home itself and
joined with `executor.runs` for the runs still running (a run's row is overwritten when it moves and
kept after it ends, one small row per run like `executor.runs` itself). A restarted executor finds its
predecessor's runs there too, so a single replica's runs move as soon as it is back (after liveness'
settle time).

Only "gone" moves a run: a starved or stopped process still holds its connection and reads as unknown,
and its runs stay where they are (the heartbeat timeout, now long, remains the last resort). A run whose
home comes back after being taken for gone is not run twice: the workflow only ever publishes from the
attempt it is awaiting, and the old attempt is cancelled at its next heartbeat.

Trust: the rows are written and read by executor processes only (the executor's database role); the
signal names a home, and a workflow acts on it only while that home is its own. A forged signal could at
worst make a run start again elsewhere, which its budgets still bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetStickyTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from paid_contracts.workflow_ids import ExecutionSignal
from paid_executor.liveness import HomeWatch

log = logging.getLogger(__name__)
REFRESH_SECONDS = 1.0  # how often the homes of running runs are read again
FORGET_LOST_SECONDS = 60.0  # a home signalled as lost is not watched again for this long
SIGNALS_IN_FLIGHT = 32

RECORD = text(
    "INSERT INTO executor.run_homes (run_id, workflow_id, home_queue, updated_at) "
    "VALUES (:run_id, :workflow_id, :home_queue, clock_timestamp()) "
    "ON CONFLICT (run_id) DO UPDATE SET home_queue = excluded.home_queue, updated_at = excluded.updated_at"
)
HOMES = text(
    "SELECT DISTINCT h.home_queue FROM executor.run_homes h "
    "JOIN executor.runs r ON r.run_id = h.run_id WHERE r.status = 'running'"
)
HOMED_AT = text(
    "SELECT h.workflow_id, h.run_id FROM executor.run_homes h "
    "JOIN executor.runs r ON r.run_id = h.run_id WHERE r.status = 'running' AND h.home_queue = :home_queue"
)


async def record_home(
    sessions: async_sessionmaker[AsyncSession], *, run_id: str, workflow_id: str, home_queue: str
) -> None:
    async with sessions() as session, session.begin():
        values = {"run_id": run_id, "workflow_id": workflow_id, "home_queue": home_queue}
        await session.execute(RECORD, values)


async def running_homes(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return {row[0] for row in await session.execute(HOMES)}


async def runs_homed_at(sessions: async_sessionmaker[AsyncSession], home_queue: str) -> list[tuple[str, str]]:
    """(workflow id, Temporal run id) of each running run whose worktree is on `home_queue`."""
    async with sessions() as session:
        return [(row[0], row[1]) for row in await session.execute(HOMED_AT, {"home_queue": home_queue})]


class LostHomes:
    """Watches every other process's home that holds a running run; signals its runs once it is gone."""

    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        watch: HomeWatch,
        *,
        own_home: str,
        refresh: float = REFRESH_SECONDS,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._watch = watch
        self._own_home = own_home
        self._refresh = refresh
        self._watching: dict[str, asyncio.Task[None]] = {}
        self._lost: dict[str, float] = {}  # home -> loop time it was signalled as lost
        self.signalled: list[tuple[str, str]] = []  # (home, workflow id), for tests and metrics

    @property
    def probes(self) -> dict[str, int]:
        """Liveness probes sent per home so far."""
        return self._watch.probes

    async def run(self) -> None:
        """Until cancelled."""
        clock = asyncio.get_running_loop()
        try:
            while True:
                self._watch.note_connection()  # liveness' settle time counts from this process's connect
                try:
                    homes = await running_homes(self._sessions)
                except Exception as error:  # the database may be away a moment: try again
                    log.warning("could not read the homes of running runs: %r", error)
                    homes = set(self._watching)
                now = clock.time()
                self._lost = {home: at for home, at in self._lost.items() if now - at < FORGET_LOST_SECONDS}
                for home in homes - self._watching.keys() - self._lost.keys() - {self._own_home}:
                    self._watching[home] = asyncio.create_task(self._until_lost(home), name="lost-home")
                for home in self._watching.keys() - homes:
                    self._watching.pop(home).cancel()
                await asyncio.sleep(self._refresh)
        finally:
            for task in self._watching.values():
                task.cancel()
            await asyncio.gather(*self._watching.values(), return_exceptions=True)

    async def _until_lost(self, home: str) -> None:
        await self._watch.until_gone(home)
        self._lost[home] = asyncio.get_running_loop().time()
        self._watching.pop(home, None)
        runs = await runs_homed_at(self._sessions, home)
        log.warning("executor home %s is gone; moving its %d running run(s)", home, len(runs))
        await self._signal_all(home, runs)

    async def _unstick(self, workflow_id: str, run_id: str) -> None:
        """The run's next workflow task goes to the shared queue, not to the sticky queue of the worker
        that last ran it: that is often the gone process, whose sticky queue would hold the signal's task
        for `sticky_queue_schedule_to_start_timeout` (3 s). Costs one history replay on a live worker."""
        request = ResetStickyTaskQueueRequest(
            namespace=self._client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        )
        try:
            await self._client.workflow_service.reset_sticky_task_queue(request)
        except RPCError as error:  # not supported (the test server) or ended: the signal still moves it
            log.debug("sticky queue of %s not reset: %s", workflow_id, error)

    async def _signal_all(self, home: str, runs: Iterable[tuple[str, str]]) -> None:
        slots = asyncio.Semaphore(SIGNALS_IN_FLIGHT)

        async def signal(workflow_id: str, run_id: str) -> None:
            async with slots:
                await self._unstick(workflow_id, run_id)
                handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
                try:
                    await handle.signal(ExecutionSignal.HOME_LOST, home)
                except RPCError as error:  # ended meanwhile, or another run of the id: nothing to move
                    log.info("home-lost signal to %s not delivered: %s", workflow_id, error)
                    return
                self.signalled.append((home, workflow_id))

        await asyncio.gather(*(signal(workflow_id, run_id) for workflow_id, run_id in runs))
