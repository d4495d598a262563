"""What one run has spent through the proxy, against its budget."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from paid_executor.proxy.budgets import SpendPolicy
from paid_llm import Usage


@dataclass(frozen=True)
class Budget:
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass
class Ledger:
    run_id: str
    budget: Budget
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    calls: int = 0
    refused: int = 0
    exceeded: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str | None = None
    policy: SpendPolicy | None = None  # the shared budgets (project, global) its calls count against

    @property
    def tokens(self) -> int:
        return self.usage.total_tokens

    def record(self, usage: Usage, cost_usd: float) -> None:
        self.calls += 1
        self.usage = self.usage + usage
        self.cost_usd += cost_usd
        self._check()

    def _check(self) -> None:
        budget = self.budget
        if budget.max_tokens is not None and self.tokens >= budget.max_tokens:
            self.reason = f"the run used {self.tokens} tokens of its budget of {budget.max_tokens}"
        elif budget.max_cost_usd is not None and self.cost_usd >= budget.max_cost_usd:
            self.reason = f"the run spent ${self.cost_usd:.4f} of its budget of ${budget.max_cost_usd:.2f}"
        if self.reason is not None:
            self.exceeded.set()

    def stop(self, reason: str) -> None:
        self.reason = reason
        self.exceeded.set()
