"""Coding agents as declarative adapters: how each is invoked and how its output is read."""

from paid_executor.agents.base import AgentAdapter, AgentResult, Invocation, PromptVia
from paid_executor.agents.registry import adapter_for

__all__ = ["AgentAdapter", "AgentResult", "Invocation", "PromptVia", "adapter_for"]
