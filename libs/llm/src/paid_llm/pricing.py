"""Cost of a call from the price table kept as data (`prices.json`, dollars per million tokens)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, TypeAdapter

from paid_llm.types import Usage


class Price(BaseModel):
    model_config = ConfigDict(frozen=True)

    input: float
    output: float


PriceTable = dict[str, dict[str, Price]]
_TABLE = TypeAdapter(PriceTable)


def load_prices(path: Path | None = None) -> PriceTable:
    """The packaged table, or the one at `path`; entries whose name starts with `_` are comments."""
    raw = path.read_text() if path else resources.files("paid_llm").joinpath("prices.json").read_text()
    data = {key: value for key, value in json.loads(raw).items() if not key.startswith("_")}
    return _TABLE.validate_python(data)


@cache
def default_prices() -> PriceTable:
    return load_prices()


def find_price(table: PriceTable, provider: str, model: str) -> Price | None:
    """Exact model name first, then the longest listed name that prefixes it (dated snapshots)."""
    models = {**table.get("emulator", {}), **table.get(provider, {})}
    if model in models:
        return models[model]
    prefixes = sorted((name for name in models if model.startswith(name)), key=len, reverse=True)
    return models[prefixes[0]] if prefixes else None


def cost_usd(usage: Usage, *, provider: str, model: str, table: PriceTable | None = None) -> float | None:
    price = find_price(table if table is not None else default_prices(), provider, model)
    if price is None:
        return None
    return round((usage.input_tokens * price.input + usage.output_tokens * price.output) / 1_000_000, 8)
