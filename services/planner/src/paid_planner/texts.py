"""What the planner writes on GitHub, and the hidden markers that make every write idempotent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from paid_contracts import IssueRef
from paid_contracts.markers import paid_marker, written_by_paid
from paid_planner.params import SubIssue, TaskStatus
from paid_planner.plan_schema import PlanDraft, TaskDraft


def comment_marker(plan_id: str, key: str) -> str:
    return paid_marker(f"plan={plan_id}:{key}")


def task_marker(plan_id: str, task_id: str) -> str:
    return paid_marker(f"plan={plan_id}:task={task_id}")


def is_paid_text(body: str) -> bool:
    """Whether Paid wrote it (so the planner never takes its own comment for an answer)."""
    return written_by_paid(body)


def questions_text(questions: Sequence[str], *, label: str) -> str:
    lines = ["Paid needs a few answers before it can plan this issue:", ""]
    lines += [f"{n}. {question}" for n, question in enumerate(questions, start=1)]
    lines += [
        "",
        f"Answer in a comment on this issue (or apply the plan label again after editing the issue); "
        f"Paid then plans again. Until then the issue carries `{label}`.",
    ]
    return "\n".join(lines)


def failure_text(reason: str) -> str:
    return "\n".join(
        [
            "Paid did not plan this issue, and created nothing:",
            "",
            f"> {reason}",
            "",
            "Apply the plan label again to retry.",
        ]
    )


STATUS_MARK = {
    TaskStatus.PENDING: "waiting",
    TaskStatus.READY: "ready to build",
    TaskStatus.BUILT: "pull request open",
    TaskStatus.FAILED: "build failed",
    TaskStatus.DONE: "merged",
}
ORDER_NOTE = "Tasks are built in order."
AUTO_NOTE = (
    "Auto mode: each task is built as soon as the tasks it depends on have pull requests open, with no "
    "step of yours in between; merging stays yours."
)


def plan_text(
    plan: PlanDraft,
    issues: Mapping[str, SubIssue],
    statuses: Mapping[str, TaskStatus],
    *,
    prompt_version: str,
    model: str,
    cost_usd: float | None,
    auto: bool = False,
) -> str:
    lines = [
        "## Plan",
        "",
        plan.summary,
        "",
        "| # | task | sub-issue | depends on | status |",
        "|---|---|---|---|---|",
    ]
    numbers = {task_id: issue.number for task_id, issue in issues.items()}
    for position, task in enumerate(plan.tasks, start=1):
        depends = ", ".join(f"#{numbers[d]}" for d in task.depends_on if d in numbers) or "-"
        sub_issue = f"#{numbers[task.id]}" if task.id in numbers else "(creating)"
        status = STATUS_MARK[statuses.get(task.id, TaskStatus.PENDING)]
        lines.append(f"| {position} | {task.title} | {sub_issue} | {depends} | {status} |")
    cost = f", ${cost_usd:.4f}" if cost_usd is not None else ""
    note = AUTO_NOTE if auto else ORDER_NOTE
    lines += ["", f"Planned with prompt `{prompt_version}` on `{model}`{cost}. {note}"]
    return "\n".join(lines)


def auto_stopped_text(title: str, number: int, outcome: str) -> str:
    return "\n".join(
        [
            f"Auto mode stopped: the build of #{number} ({title}) ended `{outcome}` without a pull request.",
            "",
            "Paid releases no more tasks by itself. The rest are released as the tasks they depend on "
            f"merge, as in a plan without auto mode; `/paid retry` on #{number} builds it again.",
        ]
    )


def done_text(count: int) -> str:
    return f"Every task of the plan ({count}) is merged: this issue is done."


def sub_issue_body(
    task: TaskDraft, *, plan_id: str, parent: IssueRef, dependency_numbers: Sequence[int]
) -> str:
    lines = [task.description.strip(), "", "### Acceptance criteria", ""]
    lines += [f"- [ ] {criterion}" for criterion in task.acceptance_criteria]
    lines.append("")
    if dependency_numbers:
        lines.append("Depends on " + ", ".join(f"#{n}" for n in dependency_numbers) + ".")
    lines += [f"Part of #{parent.number} (task `{task.id}` of its plan).", "", task_marker(plan_id, task.id)]
    return "\n".join(lines)
