"""The run works from the issue's text as labeled (`RunContext.pinned`); it stops once the live issue
differs. Checked when the issue is read, before each agent launch and before the push, so an edit made
while the run goes on stops it at the next of these points and never reaches the agent's prompt."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from githubkit.exception import RequestFailed
from temporalio.exceptions import ApplicationError

from paid_contracts.pinned import ISSUE_EDITED_ERROR, edited_after_trigger
from paid_executor.activities.deps import ExecutorDeps, GitHubClient, github_failure
from paid_executor.params import RunContext


def refuse_if_edited(run: RunContext, title: str, body: str | None) -> None:
    if run.pinned is not None and not run.pinned.matches(title, body):
        raise ApplicationError(
            edited_after_trigger(run.trigger_label), type=ISSUE_EDITED_ERROR, non_retryable=True
        )


async def ensure_unchanged(github: GitHubClient, run: RunContext) -> None:
    """Raises the non-retryable IssueEditedAfterTrigger when the issue's text moved since the trigger.
    Runs without a pinned text (older triggers, planned tasks) are not checked."""
    if run.pinned is None:
        return
    issue = run.issue
    try:
        found = (
            await github.rest.issues.async_get(issue.repo.owner, issue.repo.name, issue.number)
        ).parsed_data
    except RequestFailed as error:
        raise github_failure(error, f"reading {issue.key}") from error
    refuse_if_edited(run, found.title, found.body if isinstance(found.body, str) else None)


@contextlib.asynccontextmanager
async def unchanged_meanwhile(deps: ExecutorDeps, run: RunContext) -> AsyncIterator[PinCheck]:
    """`ensure_unchanged` started now, while the host prepares the step it guards (a launch, a push);
    the step awaits `passed()` before it starts, so nothing moves past the check sooner than before.
    A failed check is the error the block ends with, as when the check ran first."""
    check = PinCheck(asyncio.create_task(_check(deps, run)))
    try:
        yield check
    except BaseException as error:
        failed = check.failure()
        if failed is not None and failed is not error:
            raise failed from error
        raise
    finally:
        if not check.task.done():
            check.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await check.task


@dataclass(frozen=True)
class PinCheck:
    task: asyncio.Task[None]

    async def passed(self) -> None:
        await asyncio.shield(self.task)

    def failure(self) -> BaseException | None:
        if self.task.done() and not self.task.cancelled():
            return self.task.exception()
        return None


async def _check(deps: ExecutorDeps, run: RunContext) -> None:
    if run.pinned is None:
        return
    async with deps.github(await deps.run_token(run)) as github:
        await ensure_unchanged(github, run)
