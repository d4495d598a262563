"""Review mode's activities: the agent's reading of the pinned head, the one review, the explanation.

The head is fetched from the base repository (`refs/pull/{n}/head`, where GitHub keeps a fork's
commits too) with the repository's read-only token; the review and the explanation are written with
a token of the review's own job. Neither token goes further than this process: the agent's sandbox
gets the exported files, an output directory and the metering proxy, nothing else."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_contracts.markers import paid_marker
from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.launch import Launcher
from paid_executor.activities.worktrees import heartbeating
from paid_executor.agents.choice import AgentChoiceError, AgentPolicy, kept_policy
from paid_executor.agents.registry import adapter_for
from paid_executor.project_agents import kept_now
from paid_executor.proxy import Budget
from paid_executor.review_mode import FINDINGS_FILE, ReviewFindingsError, defused, parse_findings
from paid_executor.review_posting import post_review
from paid_executor.review_prompt import review_prompt
from paid_executor.review_session import (
    HeadMovedError,
    ReviewDirectories,
    export_pinned_head,
    read_findings_file,
)
from paid_executor.review_workflow import (
    EXPLAIN_REVIEW,
    POST_MODE_REVIEW,
    REVIEW_PINNED_HEAD,
    ExplainReviewInput,
    PostedModeReview,
    PostModeReviewInput,
    ReviewFindingsOutput,
    ReviewModeInput,
)
from paid_executor.run_workspace import RunPaths
from paid_executor.sandbox import SandboxError
from paid_executor.workspace import GitError, sanitise
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredential
from paid_runtime.github_trust import GitHubUnavailableError, comment_once, github_client

PAGE = 100


def review_job(request: ReviewModeInput) -> str:
    return f"review:{request.repo.full_name}#{request.number}@{request.head_sha}"


class ReviewActivities:
    def __init__(self, deps: ExecutorDeps, launcher: Launcher) -> None:
        """`launcher`: the process's one (its metering proxy is shared with the runs)."""
        self.deps = deps
        self.launcher = launcher

    async def _credential(self, request: ReviewModeInput, *, write: bool) -> GitHubCredential:
        if write:
            return await self.deps.job_credential(request.repo.full_name, review_job(request))
        try:
            return await self.deps.credentials.for_repository(request.repo.full_name, "trust")
        except CredentialUnavailable as error:
            raise ApplicationError(
                error.reason, type="GitHubCredentialUnavailable", non_retryable=error.permanent
            ) from None

    def _client(self, token: str) -> httpx.AsyncClient:
        return github_client(self.deps.settings.github_api_url, token, timeout=30.0)

    @activity.defn(name=REVIEW_PINNED_HEAD)
    async def review_pinned_head(self, request: ReviewModeInput) -> ReviewFindingsOutput:
        settings, repo = self.deps.settings, request.repo
        read = await self._credential(request, write=False)
        async with self._client(read.token) as github:
            pull = await _json(github, f"/repos/{repo.owner}/{repo.name}/pulls/{request.number}")
            files = await _pages(github, f"/repos/{repo.owner}/{repo.name}/pulls/{request.number}/files")
        if pull.get("state") != "open":
            raise ApplicationError(
                f"#{request.number} is {pull.get('state')}", type="ReviewPullClosed", non_retryable=True
            )
        clone_url = repo.clone_url or str(pull["base"]["repo"]["clone_url"])
        attempt = activity.info().attempt
        root = settings.workspace_root / sanitise(f"{review_job(request)}-{attempt}")
        await asyncio.to_thread(shutil.rmtree, root, True)
        directories = ReviewDirectories.under(root)
        try:
            try:
                async with heartbeating({"step": "export"}):
                    await export_pinned_head(
                        directories,
                        clone_url=clone_url,
                        ref=f"refs/pull/{request.number}/head",
                        pinned_sha=request.head_sha,
                        token=read.token,
                    )
            except HeadMovedError as moved:
                raise ApplicationError(str(moved), type="ReviewHeadMoved", non_retryable=True) from None
            except GitError as failure:
                raise ApplicationError(str(failure), type="CloneFailed") from None
            await self._run_agent(request, directories, review_prompt(files))
            try:
                findings = parse_findings(read_findings_file(directories))
            except ReviewFindingsError as refused:
                raise ApplicationError(
                    str(refused), type="ReviewFindingsRefused", non_retryable=True
                ) from None
            return ReviewFindingsOutput(findings_json=findings.model_dump_json())
        finally:
            await asyncio.to_thread(shutil.rmtree, root, True)

    async def _project_policy(self, request: ReviewModeInput) -> AgentPolicy:
        """The project's agent and model as kept now (project_agents.py), held to this executor's allowed
        agents; else review mode's own agent."""
        kept = await kept_now(self.deps.sessions, request.repo.full_name)
        return kept_policy(
            self.deps.settings,
            run_agent=request.agent,
            project_agent=kept.agent if kept else None,
            project_model=kept.agent_model if kept else None,
        )

    async def _run_agent(self, request: ReviewModeInput, directories: ReviewDirectories, prompt: str) -> None:
        settings = self.deps.settings
        try:
            sandbox = self.launcher.sandbox(request.sandbox)
            policy = await self._project_policy(request)
            adapter = adapter_for(policy.agent, settings, model=policy.model)
        except (SandboxError, ValueError, AgentChoiceError) as error:
            raise ApplicationError(str(error), type="NotConfigured", non_retryable=True) from error
        root = directories.root
        prompt_file = root / "prompt.md"
        prompt_file.write_text(prompt)
        paths = RunPaths(
            run_dir=root,
            worktree=directories.output,
            overlay_upper=root / "unused.upper",
            overlay_work=root / "unused.work",
            host_git=directories.host_git,
            prompt_file=prompt_file,
            pgid_file=root / "agent.pgid",
        )
        async with self.launcher.metered(
            sandbox,
            request.sandbox,
            run_id=review_job(request),
            run_key=sanitise(f"review-{request.number}-{request.head_sha[:12]}-{activity.info().attempt}"),
            paths=paths,
            budget=Budget(max_tokens=request.max_tokens, max_cost_usd=request.max_cost_usd),
            policy=settings.spend_policy(request.repo.full_name),
            timeout=request.agent_timeout_seconds,
        ) as launch:
            review_env = {
                "PAID_REVIEW_TREE": str(directories.tree),
                "PAID_FINDINGS_FILE": str(directories.output / FINDINGS_FILE),
                "PAID_PROMPT_FILE": str(prompt_file),
            }
            launch = replace(
                launch,
                request=replace(
                    launch.request,
                    env=launch.request.env | review_env,
                    read_only=(*launch.request.read_only, directories.tree),
                ),
            )
            invocation = adapter.invocation(prompt, prompt_file)
            try:
                process = await self.launcher.agent(
                    launch, invocation, request.agent_timeout_seconds, {"step": "review"}, lambda _line: None
                )
            except FileNotFoundError as error:
                raise ApplicationError(
                    f"the {adapter.name} agent could not be started: {error}",
                    type="AgentNotFound",
                    non_retryable=True,
                ) from error
        if process is None:
            raise ApplicationError(
                "the review's token or cost budget ran out before the agent finished",
                type="ReviewBudgetExceeded",
                non_retryable=True,
            )
        if process.exit_code != 0:
            raise ApplicationError(
                f"the {adapter.name} agent failed (exit code {process.exit_code}): "
                f"{process.last_line[-500:]}",
                type="AgentFailed",
            )

    @activity.defn(name=POST_MODE_REVIEW)
    async def post_mode_review(self, request: PostModeReviewInput) -> PostedModeReview:
        review = request.request
        findings = parse_findings(request.findings_json.encode())
        credential = await self._credential(review, write=True)
        async with self._client(credential.token) as github:
            posted = await post_review(
                github,
                owner=review.repo.owner,
                name=review.repo.name,
                number=review.number,
                head_sha=review.head_sha,
                findings=findings,
                credential=credential,
            )
        return PostedModeReview(
            review_id=posted.review_id,
            posted=posted.posted,
            inline_comments=posted.inline_comments,
            moved_to_body=posted.moved_to_body,
        )

    @activity.defn(name=EXPLAIN_REVIEW)
    async def explain_review(self, request: ExplainReviewInput) -> bool:
        """One comment saying why no review was posted; True when it wrote it (not a retry's second)."""
        review = request.request
        marker = paid_marker(f"review-mode-explained={review.trigger_id}")
        body = (
            f"Paid did not review {review.head_sha[:12]}, as {review.requested_by} asked: "
            f"{defused(request.reason)}\n\n{marker}"
        )
        credential = await self._credential(review, write=True)
        try:
            async with self._client(credential.token) as github:
                return await comment_once(
                    github,
                    owner=review.repo.owner,
                    name=review.repo.name,
                    number=review.number,
                    marker=marker,
                    body=body,
                )
        except GitHubUnavailableError as error:
            raise ApplicationError(str(error), type="GitHubUnavailable") from None


async def _json(github: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await github.get(url)
    except httpx.HTTPError as error:
        raise ApplicationError(f"{url}: {error!r}", type="GitHubUnavailable") from error
    if response.status_code == 404:
        raise ApplicationError(f"{url}: not found", type="ReviewPullClosed", non_retryable=True)
    if response.status_code != 200:
        raise ApplicationError(f"{url}: HTTP {response.status_code}", type="GitHubUnavailable")
    found = response.json()
    return found if isinstance(found, dict) else {}


async def _pages(github: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        try:
            response = await github.get(url, params={"per_page": PAGE, "page": page})
        except httpx.HTTPError as error:
            raise ApplicationError(f"{url}: {error!r}", type="GitHubUnavailable") from error
        if response.status_code != 200:
            raise ApplicationError(f"{url}: HTTP {response.status_code}", type="GitHubUnavailable")
        items = response.json()
        found += items
        if len(items) < PAGE:
            return found
        page += 1
