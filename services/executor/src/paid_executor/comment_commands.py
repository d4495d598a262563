"""`/paid` commands in issue and pull request comments, as the executor acts on them.

The translator (paid_github_events) names the command a comment gives; it has already dropped Paid's
own comments, bots' and anything that is not a comment (a pull request's body, a commit: text the
agent wrote). Here the author's trust decides, with the same check as a label (write access, or the
executor's `trusted_reviewers`): an untrusted author's command starts nothing. A command on one of
Paid's pull requests (`paid/issue-N`) acts on issue N.

- `/paid retry` and `/paid build` start the issue's next attempt, after any outcome, through the same
  path as a labeling (`attempts.start_attempt`; the comment's event id is the trigger, so a redelivery
  starts nothing). A refusal is explained on the issue, as for a label. `/paid build agent=<agent>
  model=<model>` chooses the run's agent and model among those the project allows (agents/choice.py);
  anything else is refused with one comment and starts nothing.
- `/paid cancel` cancels the running attempt; `/paid stop` also ends the pull request's conversation,
  so no further round starts.
- `/paid fix-ci` on Paid's pull request asks for a CI round on each failing check of its head written
  by an allowlisted app, as if the fix-CI label were on.
- `/paid review` on a pull request (anyone's, a fork's too) starts review mode on its head as read
  now: one COMMENT review (review_trigger.py).
- Paid acknowledges each trusted, known command with an `eyes` reaction on its comment; an unknown
  command gets one short help reply instead.
- `plan` is the planner's; `rebase` is not acted on here yet."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from faststream.nats import NatsBroker
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import IssueCommented, IssueRef, subjects
from paid_contracts.markers import paid_marker
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_executor.agents.choice import AgentChoiceError, parse_trigger_choice, project_policy
from paid_executor.attempts import Explain, PullStates, attempts_of, start_attempt
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_executor.review_trigger import review_input, start_review
from paid_executor.rounds.ci import requested_ci_rounds
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.subscribers import conversation_policy
from paid_executor.rounds.triggers import PAID_BRANCH, NoRound, request_round
from paid_executor.workflows import AgentExecutionWorkflow
from paid_github_events import COMMANDS, help_text
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError, comment_once, decide_trust, github_client
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)
ACKNOWLEDGED = "eyes"
Prepare = Callable[[ExecutionInput], Awaitable[ExecutionInput]]


@dataclass(frozen=True)
class CommandContext:
    settings: ExecutorSettings
    prepare: Prepare  # the coding prompt, chosen as for a labeling
    to_request: Callable[[IssueCommented, IssueRef], ExecutionInput]  # subscribers.from_command
    pull_states: PullStates
    explain: Explain
    credentials: GitHubCredentials  # the trust check's token: the repository's own, from the minter


async def _json(github: httpx.AsyncClient, url: str) -> dict[str, object]:
    try:
        response = await github.get(url)
    except httpx.HTTPError as error:
        raise GitHubUnavailableError(f"{url}: {error!r}") from error
    if response.status_code != 200:
        raise GitHubUnavailableError(f"{url}: HTTP {response.status_code}")
    found = response.json()
    return found if isinstance(found, dict) else {}


async def target_issue(github: httpx.AsyncClient, event: IssueCommented) -> IssueRef | None:
    """The issue a command acts on: the issue itself, or for Paid's pull request the issue it fixes."""
    repo = event.issue.repo
    item = await _json(github, f"/repos/{repo.owner}/{repo.name}/issues/{event.issue.number}")
    if "pull_request" not in item or item.get("pull_request") is None:
        return event.issue
    pull = await _json(github, f"/repos/{repo.owner}/{repo.name}/pulls/{event.issue.number}")
    head = pull.get("head")
    branch = str(head.get("ref", "")) if isinstance(head, dict) else ""
    matched = PAID_BRANCH.match(branch)
    return IssueRef(repo=repo, number=int(matched.group(1))) if matched else None


async def act_on_command(client: Client, event: IssueCommented, context: CommandContext) -> str:
    """What the command did, in a few words (logged, and asserted by tests)."""
    settings, name = context.settings, event.command
    if name is None:
        return "no command"
    repo = event.issue.repo
    try:
        # `issues`: reads the author's permission and the pull request, and may write the help reply.
        credential = await context.credentials.for_repository(repo.full_name, "issues")
    except CredentialUnavailable as error:
        if not error.permanent:
            raise GitHubUnavailableError(error.reason) from None  # redelivered: the minter may answer
        return f"ignored: {error.reason}"
    async with github_client(settings.github_api_url, credential.token) as github:
        trust = await decide_trust(
            github, owner=repo.owner, name=repo.name, login=event.author, allowlist=settings.trusted_reviewers
        )
        if not trust.trusted:
            log.info("/paid %s on %s ignored: %s", name, event.issue.key, trust.reason)
            return f"ignored: {trust.reason}"
        if name in COMMANDS:
            await acknowledge(github, event)
        if name in ("retry", "build", "cancel", "stop"):
            issue = await target_issue(github, event)
            if issue is None:
                return f"ignored: #{event.issue.number} is not an issue or a pull request of Paid's"
        elif name == "fix-ci":
            # Check runs need the `checks` permission, which Paid's App does not ask for: read with the
            # executor's global token, as CI rounds do.
            async with github_client(settings.github_api_url, settings.github_token) as checks:
                return await _fix_ci(client, checks, event, settings)
        elif name == "review":
            return await _review(client, github, event, settings)
        elif name in ("plan", "rebase"):
            return f"not acted on by the executor: {name}"
        else:
            marker = paid_marker(f"command-help {event.event_id}")
            await comment_once(
                github,
                owner=repo.owner,
                name=repo.name,
                number=event.issue.number,
                marker=marker,
                body=f"{help_text()}\n\n{marker}",
            )
            return "help"
    if name in ("retry", "build"):
        request = context.to_request(event, issue)
        if name == "build" and event.command_argument:
            try:
                trigger = parse_trigger_choice(event.command_argument, project_policy(settings))
            except AgentChoiceError as refused:
                await _refuse(event, str(refused), settings)
                return f"refused: {refused}"
            request = request.model_copy(
                update={"trigger_agent": trigger.agent, "trigger_model": trigger.model}
            )
        request = await context.prepare(request)
        started = await start_attempt(
            client,
            request,
            task_queue=settings.task_queue,
            pull_states=context.pull_states,
            explain=context.explain,
            eager_start=settings.eager_workflow_start,
        )
        return "started" if started else "nothing started"
    return await _halt(client, issue, event, stop_rounds=name == "stop")


async def acknowledge(github: httpx.AsyncClient, event: IssueCommented) -> bool:
    """Paid's 👀 on a trusted user's command: seen, and acted on. GitHub keeps one reaction per user and
    content, so a redelivery adds none. A failure is logged, never fatal: the command still acts."""
    repo = event.issue.repo
    url = f"/repos/{repo.owner}/{repo.name}/issues/comments/{event.comment_id}/reactions"
    try:
        response = await github.post(url, json={"content": ACKNOWLEDGED})
    except httpx.HTTPError as error:
        log.warning("could not acknowledge /paid %s on %s: %r", event.command, event.issue.key, error)
        return False
    if response.status_code not in (200, 201):
        log.warning(
            "could not acknowledge /paid %s on %s: HTTP %s",
            event.command,
            event.issue.key,
            response.status_code,
        )
        return False
    return True


async def _review(
    client: Client, github: httpx.AsyncClient, event: IssueCommented, settings: ExecutorSettings
) -> str:
    """`/paid review` on a pull request: review mode on its head as the executor reads it now."""
    repo, number = event.issue.repo, event.issue.number
    try:
        response = await github.get(f"/repos/{repo.owner}/{repo.name}/pulls/{number}")
    except httpx.HTTPError as error:
        raise GitHubUnavailableError(f"reading #{number}: {error!r}") from error
    if response.status_code == 404:
        return f"ignored: #{number} is not a pull request"
    if response.status_code != 200:
        raise GitHubUnavailableError(f"reading #{number}: HTTP {response.status_code}")
    pull = response.json()
    if pull.get("state") != "open":
        return f"ignored: #{number} is {pull.get('state')}"
    request = review_input(
        settings,
        repo=repo,
        number=number,
        head_sha=str(pull["head"]["sha"]),
        requested_by=event.author,
        trigger_id=event.event_id,
    )
    return f"review {await start_review(client, request, task_queue=settings.task_queue)}"


async def _refuse(event: IssueCommented, reason: str, settings: ExecutorSettings) -> None:
    repo = event.issue.repo
    marker = paid_marker(f"command-refused {event.event_id}")
    async with github_client(settings.github_api_url, settings.github_token) as github:
        await comment_once(
            github,
            owner=repo.owner,
            name=repo.name,
            number=event.issue.number,
            marker=marker,
            body=f"Paid did not start a run: {reason}\n\n{marker}",
        )


async def _fix_ci(
    client: Client, github: httpx.AsyncClient, event: IssueCommented, settings: ExecutorSettings
) -> str:
    found = await requested_ci_rounds(
        github, event.issue.repo, event.issue.number, apps=tuple(settings.ci_check_apps)
    )
    if isinstance(found, NoRound):
        return f"ignored: {found.reason}"
    policy = conversation_policy(settings)
    for one in found:
        await request_round(client, one, policy=policy, task_queue=settings.task_queue)
    return f"{len(found)} CI round(s) asked for"


async def _halt(client: Client, issue: IssueRef, event: IssueCommented, *, stop_rounds: bool) -> str:
    done = []
    attempts = await attempts_of(client, issue)
    if attempts and attempts[-1].description.status == WorkflowExecutionStatus.RUNNING:
        await attempts[-1].handle.signal(AgentExecutionWorkflow.cancel, f"/paid by {event.author}")
        done.append("cancelled")
    if stop_rounds and event.issue.number != issue.number:
        conversation = client.get_workflow_handle_for(
            PullConversationWorkflow.run,
            pull_conversation_workflow_id(issue.repo.full_name, event.issue.number),
        )
        try:
            await conversation.signal(PullConversationWorkflow.stop)
            done.append("rounds stopped")
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
    return " and ".join(done) or "nothing to stop"


def register_commands(broker: NatsBroker, client: Client, context: CommandContext) -> None:
    @durable_subscriber(
        broker,
        service="executor",
        name="issue-commented",
        subject=subjects.GITHUB_ISSUE_COMMENTED,
        stream=STREAMS["PAID_GITHUB"],
    )
    async def on_issue_commented(event: IssueCommented) -> None:
        if event.command is not None:
            log.info(
                "/paid %s on %s: %s",
                event.command,
                event.issue.key,
                await act_on_command(client, event, context),
            )
