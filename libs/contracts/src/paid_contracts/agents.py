"""The agents Paid knows and the spelling of a model name: one list for the gateway, which checks a
project's setting when it is made, and the executor, which checks every level again when a run starts."""

from __future__ import annotations

import re
from typing import Literal, get_args

AgentName = Literal["demo", "claude", "aider", "opencode", "codex", "gemini", "command"]
# `command` runs the operator's own command line: only the executor's settings may choose it.
ChoosableAgentName = Literal["demo", "claude", "aider", "opencode", "codex", "gemini"]

AGENTS: tuple[str, ...] = get_args(AgentName)
OPERATOR_ONLY = frozenset(set(AGENTS) - set(get_args(ChoosableAgentName)))
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
MODEL_NAME_PATTERN = MODEL_NAME.pattern
