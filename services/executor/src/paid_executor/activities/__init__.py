"""The workflow's activities, grouped by what they touch; each group is a class holding its clients."""

from paid_executor.activities.agent import AgentActivities
from paid_executor.activities.deps import ExecutorDeps, github_client, make_deps
from paid_executor.activities.github import GitHubActivities
from paid_executor.activities.runs import RunActivities

__all__ = [
    "AgentActivities",
    "ExecutorDeps",
    "GitHubActivities",
    "RunActivities",
    "github_client",
    "make_deps",
]
