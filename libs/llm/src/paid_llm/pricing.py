"""Cost of a call from the `genai-prices` database (a pinned package; its updater is never started, so
pricing reads only the bundled snapshot and never the network), at the time the call was made.

A model the database does not know is priced at the configured `FallbackPrice`, with a warning: a
call is never silently free.
"""

from __future__ import annotations

import logging
from datetime import datetime

import genai_prices
from pydantic import BaseModel, ConfigDict, Field

from paid_llm.types import Usage

log = logging.getLogger(__name__)

# Paid's provider names to the database's provider ids.
PROVIDER_IDS = {"anthropic": "anthropic", "openai": "openai", "gemini": "google", "google": "google"}


class FallbackPrice(BaseModel):
    """Dollars per million tokens for a model the price database does not list."""

    model_config = ConfigDict(frozen=True)

    input_per_mtok: float = Field(default=3.0, ge=0, description="uncached input")
    output_per_mtok: float = Field(default=15.0, ge=0, description="output, reasoning included")
    cache_read_per_mtok: float = Field(default=0.3, ge=0)
    cache_write_per_mtok: float = Field(default=3.75, ge=0)

    def cost_usd(self, usage: Usage) -> float:
        micro_dollars = (
            usage.uncached_input_tokens * self.input_per_mtok
            + usage.cache_read_tokens * self.cache_read_per_mtok
            + usage.cache_write_tokens * self.cache_write_per_mtok
            + usage.output_tokens * self.output_per_mtok
        )
        return micro_dollars / 1_000_000


# Models already warned about; bounded, since a model name can come from an untrusted agent's request.
_warned: set[tuple[str | None, str]] = set()
WARNED_LIMIT = 1024


def database_cost_usd(usage: Usage, *, model: str, provider: str | None, at: datetime) -> float | None:
    """The database's price of `usage` on `model` at `at`; None if it does not list the model."""
    provider_id = PROVIDER_IDS.get(provider) if provider else None
    try:
        calculation = genai_prices.calc_price(
            genai_prices.Usage(
                input_tokens=usage.input_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                output_tokens=usage.output_tokens,
            ),
            model,
            provider_id=provider_id,
            genai_request_timestamp=at,
        )
    except LookupError:
        return None
    return float(calculation.total_price)


def cost_usd(
    usage: Usage,
    *,
    model: str,
    provider: str | None,
    at: datetime,
    fallback: FallbackPrice | None = None,
) -> float:
    """What the call cost: the database's price at `at`, else `fallback`'s (warned once per model)."""
    cost = database_cost_usd(usage, model=model, provider=provider, at=at)
    if cost is not None:
        return cost
    price = fallback or FallbackPrice()
    if (provider, model) not in _warned:
        if len(_warned) < WARNED_LIMIT:
            _warned.add((provider, model))
        log.warning(
            "model %r (provider %s) is not in the price database; priced at the configured fallback %s",
            model[:200],
            (provider or "unknown")[:50],
            price.model_dump(),
        )
    return price.cost_usd(usage)
