"""What one run has spent through the proxy, against its budget."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

# USD per million tokens (input, output); the first prefix that matches the model wins.
PRICES: tuple[tuple[str, float, float], ...] = (
    ("claude-opus", 15.0, 75.0),
    ("claude-sonnet", 3.0, 15.0),
    ("claude-3-5-haiku", 0.8, 4.0),
    ("claude-haiku", 1.0, 5.0),
    ("gpt-4o-mini", 0.15, 0.6),
    ("gpt-4o", 2.5, 10.0),
    ("gpt-5", 1.25, 10.0),
    ("", 3.0, 15.0),
)


def price(model: str, input_tokens: int, output_tokens: int) -> float:
    per_in, per_out = next((i, o) for prefix, i, o in PRICES if model.startswith(prefix))
    return (input_tokens * per_in + output_tokens * per_out) / 1_000_000


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Budget:
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass
class Ledger:
    run_id: str
    budget: Budget
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    refused: int = 0
    exceeded: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def record(self, model: str, usage: Usage) -> None:
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cost_usd += price(model, usage.input_tokens, usage.output_tokens)
        self._check()

    def _check(self) -> None:
        budget = self.budget
        if budget.max_tokens is not None and self.tokens >= budget.max_tokens:
            self.reason = f"the run used {self.tokens} tokens of its budget of {budget.max_tokens}"
        elif budget.max_cost_usd is not None and self.cost_usd >= budget.max_cost_usd:
            self.reason = f"the run spent ${self.cost_usd:.4f} of its budget of ${budget.max_cost_usd:.2f}"
        if self.reason is not None:
            self.exceeded.set()
