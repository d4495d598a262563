"""What happens on a pull request after it is opened (reviews, pushes to its head, finished checks),
whichever way Paid heard of it; the same change gets the same id on both paths."""

from __future__ import annotations

from typing import Literal

from paid_contracts import (
    BaseBranchPushed,
    CheckRunCompleted,
    CheckSuiteCompleted,
    CommitStatusChanged,
    Correlation,
    PullRequestHeadMoved,
    PullRequestReviewed,
    RepoRef,
)
from paid_contracts.identity import (
    base_pushed_event_id,
    check_run_completed_event_id,
    check_suite_completed_event_id,
    commit_status_event_id,
    head_moved_event_id,
    review_event_id,
)
from paid_contracts.markers import written_by_paid
from paid_github_events.rules import Ignored, Origin, is_bot

ReviewState = Literal["approved", "changes_requested", "commented"]
REVIEW_STATES: dict[str, ReviewState] = {
    "approved": "approved",
    "changes_requested": "changes_requested",
    "commented": "commented",
}


def pull_request_reviewed(
    repo: RepoRef,
    *,
    number: int,
    review_id: int,
    reviewer: str,
    reviewer_type: str | None,
    state: str,
    body: str | None,
    commit_id: str,
    author_association: str,
    origin: Origin,
) -> PullRequestReviewed | Ignored:
    """A submitted review by a person. GitHub's REST API spells states in capitals, webhooks in lower case."""
    found = REVIEW_STATES.get(state.lower())
    if found is None:
        return Ignored(f"a {state.lower()} review is not a submitted review")
    if is_bot(reviewer, reviewer_type) or written_by_paid(body):
        return Ignored("reviews by Paid and other bots are ignored")
    return PullRequestReviewed(
        event_id=review_event_id(repo.owner, repo.name, number, review_id),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=number),
        repo=repo,
        number=number,
        review_id=review_id,
        reviewer=reviewer,
        state=found,
        body=body or "",
        commit_id=commit_id,
        author_association=author_association,
        source=origin.source,
        source_id=origin.source_id,
    )


def head_moved(
    repo: RepoRef, *, number: int, head_ref: str, head_sha: str, origin: Origin
) -> PullRequestHeadMoved:
    return PullRequestHeadMoved(
        event_id=head_moved_event_id(repo.owner, repo.name, number, head_sha),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=number),
        repo=repo,
        number=number,
        head_ref=head_ref,
        head_sha=head_sha,
        source=origin.source,
        source_id=origin.source_id,
    )


def check_run_completed(
    repo: RepoRef,
    *,
    check_run_id: int,
    name: str,
    head_sha: str,
    conclusion: str | None,
    pull_numbers: list[int],
    origin: Origin,
    app_slug: str | None = None,
) -> CheckRunCompleted | Ignored:
    if conclusion is None:
        return Ignored("the check run has not completed")
    return CheckRunCompleted(
        event_id=check_run_completed_event_id(repo.owner, repo.name, check_run_id),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=pull_numbers[0] if pull_numbers else None),
        repo=repo,
        check_run_id=check_run_id,
        name=name,
        head_sha=head_sha,
        conclusion=conclusion,
        pull_numbers=tuple(sorted(pull_numbers)),
        source=origin.source,
        source_id=origin.source_id,
        app_slug=app_slug,
    )


def base_branch_pushed(
    repo: RepoRef,
    *,
    ref: str,
    default_branch: str,
    before: str,
    after: str,
    deleted: bool,
    pusher: str,
    origin: Origin,
) -> BaseBranchPushed | Ignored:
    """A push to the repository's default branch, the base of Paid's pull requests; pushes to other
    branches (a pull request's head arrives as `pull_request.synchronize`), tags and deletions are not."""
    branch = ref.removeprefix("refs/heads/")
    if branch == ref or branch != default_branch:
        return Ignored(f"a push to {ref} does not move the default branch")
    if deleted or set(after) == {"0"}:
        return Ignored("the default branch was deleted")
    return BaseBranchPushed(
        event_id=base_pushed_event_id(repo.owner, repo.name, branch, after),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name),
        repo=repo,
        branch=branch,
        before=before,
        after=after,
        pusher=pusher,
        source=origin.source,
        source_id=origin.source_id,
    )


def commit_status_changed(
    repo: RepoRef,
    *,
    status_id: int,
    sha: str,
    state: str,
    context: str,
    description: str | None,
    target_url: str | None,
    creator: str,
    origin: Origin,
) -> CommitStatusChanged:
    return CommitStatusChanged(
        event_id=commit_status_event_id(repo.owner, repo.name, status_id),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name),
        repo=repo,
        status_id=status_id,
        sha=sha,
        state=state,
        context=context,
        description=description or "",
        target_url=target_url,
        creator=creator,
        source=origin.source,
        source_id=origin.source_id,
    )


def check_suite_completed(
    repo: RepoRef,
    *,
    check_suite_id: int,
    head_sha: str,
    conclusion: str | None,
    pull_numbers: list[int],
    app_slug: str | None,
    origin: Origin,
) -> CheckSuiteCompleted | Ignored:
    if conclusion is None:
        return Ignored("the check suite has not completed")
    return CheckSuiteCompleted(
        event_id=check_suite_completed_event_id(repo.owner, repo.name, check_suite_id),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=pull_numbers[0] if pull_numbers else None),
        repo=repo,
        check_suite_id=check_suite_id,
        head_sha=head_sha,
        conclusion=conclusion,
        pull_numbers=tuple(sorted(pull_numbers)),
        app_slug=app_slug,
        source=origin.source,
        source_id=origin.source_id,
    )
