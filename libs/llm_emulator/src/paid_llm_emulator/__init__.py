"""paid-llm-emulator: a local Anthropic Messages + OpenAI chat completions server for tests and the demo."""

from paid_llm_emulator.rules import EmulatedToolCall, Match, RecordedRequest, Reply, Rule, RuleBook
from paid_llm_emulator.server import LLMEmulator

__all__ = ["EmulatedToolCall", "LLMEmulator", "Match", "RecordedRequest", "Reply", "Rule", "RuleBook"]
