"""Which agent and model a run uses, and who may choose them.

Precedence, lowest first; each level that names an agent replaces the agent *and* its model (a model
belongs to the agent it was chosen for), a level that names only a model changes the model:

1. the project's setting: the agent and model an admin chose for the project through the gateway
   (project_agents.py), else the run's agent (PAID_EXECUTOR_AGENT when the run was requested) with
   PAID_EXECUTOR_AGENT_MODEL; held to PAID_EXECUTOR_ALLOWED_AGENTS (run_workspace.agent_policy);
2. the repository's `.paid.yml` (`agent:`, `model:`), read from the base commit;
3. the run's evolution experiment arm, when the arm is an agent or a model (assigned when the run was
   requested): an experiment compares agents for the project, so it beats the repository's habit;
4. the trigger: `/paid build agent=<agent> model=<model>` by a trusted user (write access, or the
   executor's trusted reviewers), checked before the run starts.

An experiment's arm is held to the project's allowed agents like every other level, but it is no
error when it names one the project does not allow (or one Paid does not know, or a model that is not a
plain name): the run falls back to the levels below and is not counted in the experiment. Nor is a run
whose trigger chose its agent or model: a person's choice is not a random sample.

`.paid.yml` is repository content, written by whoever can push, so it is untrusted: it may name only
an agent the project allows (its own, or one in PAID_EXECUTOR_ALLOWED_AGENTS), never `command` (whose
command line is the operator's), and a model only in the plain spelling of a model name. Anything else
is a clear error and no agent runs. A trusted user's trigger is held to the same list: trust lets one
choose among the agents the operator allowed, never past them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from paid_contracts.agents import AGENTS, MODEL_NAME, OPERATOR_ONLY
from paid_executor.config import ExecutorSettings


class AgentChoiceError(ValueError):
    """The chosen agent or model cannot be used; the message is meant for the issue's author."""


@dataclass(frozen=True)
class AgentChoice:
    agent: str
    model: str | None  # None: the adapter's default model
    source: str  # which level chose the agent
    experiment_used: bool = False  # the run used its experiment arm: evolution may count it


@dataclass(frozen=True)
class ExperimentArmChoice:
    """The agent and model of the run's experiment arm (None: the arm leaves that to the run)."""

    agent: str | None = None
    model: str | None = None


def evolution_choice(
    experiment_id: str | None, arm: str | None, agent: str | None, model: str | None
) -> ExperimentArmChoice | None:
    """What evolution's answer asks of the run: its arm in an experiment (a prompt-only arm too, so the
    run is counted); outside one, the agent and model promoted with the active prompt, if any. Either
    is held to the same rules (`choose_agent`)."""
    in_experiment = experiment_id is not None and arm is not None
    if not in_experiment and agent is None and model is None:
        return None
    return ExperimentArmChoice(agent, model)


@dataclass(frozen=True)
class AgentPolicy:
    """The project's setting: its agent and model, and the other agents a repository may choose."""

    agent: str
    model: str | None = None
    allowed: Collection[str] = ()

    def allows(self, agent: str) -> bool:
        return agent == self.agent or (agent in self.allowed and agent not in OPERATOR_ONLY)


@dataclass(frozen=True)
class TriggerChoice:
    """What a trusted user's `/paid build` named, if anything."""

    agent: str | None = None
    model: str | None = None


def parse_trigger_choice(argument: str, policy: AgentPolicy) -> TriggerChoice:
    """`agent=<agent>` and `model=<model>` from a command's argument, checked against the policy;
    AgentChoiceError for anything else."""
    found: dict[str, str] = {}
    for option in argument.split():
        key, equals, value = option.partition("=")
        if not equals or key not in ("agent", "model") or key in found or not value:
            raise AgentChoiceError(
                "`/paid build` takes only `agent=<agent>` and `model=<model>` "
                f"(allowed agents: {', '.join(allowed_agents(policy))})"
            )
        found[key] = value
    agent, model = found.get("agent"), found.get("model")
    if agent is not None and agent not in AGENTS:
        raise AgentChoiceError(f"`/paid build` names an unknown agent; Paid knows {', '.join(AGENTS)}")
    if agent is not None and not policy.allows(agent):
        raise AgentChoiceError(
            f"`/paid build` chooses the agent `{agent}`, which this project does not allow "
            f"(allowed: {', '.join(allowed_agents(policy))})"
        )
    if model is not None and not MODEL_NAME.fullmatch(model):
        raise AgentChoiceError("`/paid build` names a model that is not a plain model name")
    return TriggerChoice(agent, model)


def label_choice(agent: str, policy: AgentPolicy) -> TriggerChoice:
    """The agent a trusted user's `paid-agent:<agent>` label names, checked as `/paid build agent=` is;
    AgentChoiceError otherwise (a name Paid does not know is not echoed: the label's text is anyone's)."""
    if agent not in AGENTS:
        known = ", ".join(AGENTS)
        raise AgentChoiceError(f"the `paid-agent:` label names an unknown agent; Paid knows {known}")
    if not policy.allows(agent):
        raise AgentChoiceError(
            f"the label `paid-agent:{agent}` chooses an agent this project does not allow "
            f"(allowed: {', '.join(allowed_agents(policy))})"
        )
    return TriggerChoice(agent)


def choose_agent(
    policy: AgentPolicy,
    *,
    repository_agent: str | None,
    repository_model: str | None,
    trigger: TriggerChoice | None = None,
    experiment: ExperimentArmChoice | None = None,
) -> AgentChoice:
    """`experiment`: the run's arm when it is in an experiment (agents or prompts alike), else None."""
    choice = _project_and_repository(policy, repository_agent, repository_model)
    triggered = trigger is not None and (trigger.agent is not None or trigger.model is not None)
    if experiment is not None and not triggered:
        choice = _with_experiment(choice, policy, experiment)
    if trigger is not None and trigger.agent is not None:
        if not policy.allows(trigger.agent):  # checked when it was parsed; the policy may have moved
            raise AgentChoiceError(f"the trigger's agent `{trigger.agent}` is not allowed any more")
        model = choice.model if trigger.agent == choice.agent else None
        choice = AgentChoice(trigger.agent, model, "trigger")
    if trigger is not None and trigger.model is not None:
        choice = AgentChoice(choice.agent, trigger.model, "trigger")
    return choice


def _with_experiment(
    choice: AgentChoice, policy: AgentPolicy, experiment: ExperimentArmChoice
) -> AgentChoice:
    agent, model = experiment.agent, experiment.model
    if agent is not None and (agent not in AGENTS or not policy.allows(agent)):
        return choice
    if model is not None and not MODEL_NAME.fullmatch(model):
        return choice
    if agent is not None and agent != choice.agent:
        choice = AgentChoice(agent, policy.model if agent == policy.agent else None, "experiment")
    if model is not None:
        choice = AgentChoice(choice.agent, model, "experiment")
    return AgentChoice(choice.agent, choice.model, choice.source, experiment_used=True)


def _project_and_repository(
    policy: AgentPolicy, repository_agent: str | None, repository_model: str | None
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


def project_policy(settings: ExecutorSettings) -> AgentPolicy:
    """The project's setting as the executor is configured now (a run fixes its agent when requested)."""
    return kept_policy(settings, run_agent=settings.agent, project_agent=None, project_model=None)


def kept_policy(
    settings: ExecutorSettings, *, run_agent: str, project_agent: str | None, project_model: str | None
) -> AgentPolicy:
    """The project's setting as kept for a run (project_agents.py): the agent and model chosen for the
    project through the API, held to this executor's allowed agents; else the run's agent, with the
    configured model when that agent is the configured one."""
    allowed = frozenset(settings.allowed_agents)
    if project_agent is not None:
        if project_agent != settings.agent and project_agent not in allowed:
            choosable = ", ".join(sorted({settings.agent, *allowed} - OPERATOR_ONLY))
            raise AgentChoiceError(
                f"this project's agent `{project_agent}` is not one this Paid allows "
                f"(PAID_EXECUTOR_ALLOWED_AGENTS: {choosable}); an admin can choose another"
            )
        return AgentPolicy(agent=project_agent, model=project_model, allowed=allowed)
    model = settings.agent_model if run_agent == settings.agent else None
    return AgentPolicy(agent=run_agent, model=project_model or model, allowed=allowed)


def allowed_agents(policy: AgentPolicy) -> list[str]:
    return [agent for agent in AGENTS if policy.allows(agent)]
