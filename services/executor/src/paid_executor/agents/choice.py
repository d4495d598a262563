"""Which agent and model a run uses, and who may choose them.

Precedence, lowest first; each level that names an agent replaces the agent *and* its model (a model
belongs to the agent it was chosen for), a level that names only a model changes the model:

1. the project's setting: the run's agent (PAID_EXECUTOR_AGENT when the run was requested) with
   PAID_EXECUTOR_AGENT_MODEL;
2. the repository's `.paid.yml` (`agent:`, `model:`), read from the base commit.

`.paid.yml` is repository content, written by whoever can push, so it is untrusted: it may name only
an agent the project allows (its own, or one in PAID_EXECUTOR_ALLOWED_AGENTS), never `command` (whose
command line is the operator's), and a model only in the plain spelling of a model name. Anything else
is a clear error and no agent runs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

AGENTS = ("demo", "claude", "aider", "opencode", "codex", "gemini", "command")
OPERATOR_ONLY = frozenset({"command"})
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")


class AgentChoiceError(ValueError):
    """The chosen agent or model cannot be used; the message is meant for the issue's author."""


@dataclass(frozen=True)
class AgentChoice:
    agent: str
    model: str | None  # None: the adapter's default model
    source: str  # which level chose the agent


@dataclass(frozen=True)
class AgentPolicy:
    """The project's setting: its agent and model, and the other agents a repository may choose."""

    agent: str
    model: str | None = None
    allowed: Collection[str] = ()

    def allows(self, agent: str) -> bool:
        return agent == self.agent or (agent in self.allowed and agent not in OPERATOR_ONLY)


def choose_agent(
    policy: AgentPolicy, *, repository_agent: str | None, repository_model: str | None
) -> AgentChoice:
    choice = AgentChoice(policy.agent, policy.model, "project")
    if repository_agent is not None:
        if repository_agent not in AGENTS:
            raise AgentChoiceError(f".paid.yml names an unknown agent; Paid knows {', '.join(AGENTS)}")
        if not policy.allows(repository_agent):
            raise AgentChoiceError(
                f".paid.yml chooses the agent `{repository_agent}`, which this project does not allow "
                f"(allowed: {', '.join(allowed_agents(policy))})"
            )
        model = policy.model if repository_agent == policy.agent else None
        choice = AgentChoice(repository_agent, model, ".paid.yml")
    if repository_model is not None:
        if not MODEL_NAME.fullmatch(repository_model):
            raise AgentChoiceError(".paid.yml names a model that is not a plain model name")
        choice = AgentChoice(choice.agent, repository_model, choice.source)
    return choice


def allowed_agents(policy: AgentPolicy) -> list[str]:
    return [agent for agent in AGENTS if policy.allows(agent)]
