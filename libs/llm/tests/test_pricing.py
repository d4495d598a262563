"""Prices from the pinned genai-prices database at the request's time, every token kind, no network,
and a configured fallback (never $0) for a model the database lacks."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import genai_prices
import pytest
from genai_prices import data_snapshot

from paid_llm import FallbackPrice, Usage, cost_usd, database_cost_usd

AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def listed(model: str, provider: str) -> genai_prices.types.ModelPrice:
    calculation = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1), model, provider_id=provider, genai_request_timestamp=AT
    )
    return calculation.model_price


def per_token(price: object) -> Decimal:
    assert isinstance(price, Decimal), f"expected a flat price, got {price!r}"
    return price / 1_000_000


def test_every_token_kind_is_priced_at_its_own_rate() -> None:
    # claude-haiku-4-5 has flat prices for input, cache reads, cache writes and output.
    rates = listed("claude-haiku-4-5", "anthropic")
    usage = Usage(input_tokens=10_000, cache_read_tokens=6_000, cache_write_tokens=3_000, output_tokens=700)
    expected = (
        1_000 * per_token(rates.input_mtok)
        + 6_000 * per_token(rates.cache_read_mtok)
        + 3_000 * per_token(rates.cache_write_mtok)
        + 700 * per_token(rates.output_mtok)
    )
    cost = cost_usd(usage, model="claude-haiku-4-5", provider="anthropic", at=AT)
    assert cost == pytest.approx(float(expected))
    # Cache reads are cheaper than input, writes dearer: pricing them as input would be wrong both ways.
    as_plain_input = float(10_000 * per_token(rates.input_mtok) + 700 * per_token(rates.output_mtok))
    assert cost != pytest.approx(as_plain_input)


def test_reasoning_is_priced_as_output_once() -> None:
    rates = listed("gpt-4o-mini", "openai")
    with_reasoning = Usage(input_tokens=1_000, output_tokens=2_000, reasoning_tokens=1_500)
    expected = 1_000 * per_token(rates.input_mtok) + 2_000 * per_token(rates.output_mtok)
    assert cost_usd(with_reasoning, model="gpt-4o-mini", provider="openai", at=AT) == pytest.approx(
        float(expected)
    )


def test_a_dated_snapshot_name_finds_its_model() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=100)
    dated = database_cost_usd(usage, model="claude-sonnet-4-5-20250929", provider="anthropic", at=AT)
    assert dated is not None
    assert dated == database_cost_usd(usage, model="claude-sonnet-4-5", provider="anthropic", at=AT)


def test_gemini_is_priced_under_google() -> None:
    usage = Usage(input_tokens=4_200, cache_read_tokens=4_000, output_tokens=1_250, reasoning_tokens=1_000)
    cost = cost_usd(usage, model="gemini-2.5-flash", provider="gemini", at=AT)
    rates = listed("gemini-2.5-flash", "google")
    expected = (
        200 * per_token(rates.input_mtok)
        + 4_000 * per_token(rates.cache_read_mtok)
        + 1_250 * per_token(rates.output_mtok)
    )
    assert cost == pytest.approx(float(expected))


def test_an_unlisted_model_costs_the_fallback_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    usage = Usage(input_tokens=3_000_000, cache_read_tokens=1_000_000, output_tokens=1_000_000)
    fallback = FallbackPrice(input_per_mtok=2.0, cache_read_per_mtok=0.5, output_per_mtok=8.0)
    assert database_cost_usd(usage, model="paid-unlisted-model", provider="openai", at=AT) is None
    with caplog.at_level(logging.WARNING, logger="paid_llm.pricing"):
        cost = cost_usd(usage, model="paid-unlisted-model", provider="openai", at=AT, fallback=fallback)
    assert cost == pytest.approx(2 * 2.0 + 1 * 0.5 + 1 * 8.0)
    assert "'paid-unlisted-model' (provider openai) is not in the price database" in caplog.text


def test_the_default_fallback_is_never_free() -> None:
    usage = Usage(input_tokens=1, output_tokens=1)
    assert cost_usd(usage, model="paid-unlisted-default", provider=None, at=AT) > 0


def test_pricing_reads_the_bundled_database_and_never_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pricing tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    usage = Usage(input_tokens=1_000, output_tokens=100)
    assert cost_usd(usage, model="gpt-4o", provider="openai", at=datetime.now(UTC)) > 0
    assert data_snapshot.get_snapshot().from_auto_update is False


def test_the_price_is_looked_up_at_the_requests_time(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[datetime | None] = []
    real = genai_prices.calc_price

    def recording(*args: Any, **kwargs: Any) -> genai_prices.types.PriceCalculation:
        asked.append(kwargs.get("genai_request_timestamp"))
        return real(*args, **kwargs)

    monkeypatch.setattr(genai_prices, "calc_price", recording)
    cost_usd(Usage(input_tokens=10, output_tokens=1), model="gpt-4o", provider="openai", at=AT)
    assert asked == [AT]


def test_hostile_model_names_are_priced_at_the_fallback_and_logged_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    usage = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3)
    names = ["", "x" * 100_000, "claude-\x00", "(", "[a-", "gpt-4o" + "/" * 50, "claude-sonnet-4-5" * 1000]
    with caplog.at_level(logging.WARNING, logger="paid_llm.pricing"):
        costs = [cost_usd(usage, model=n, provider=p, at=AT) for n in names for p in ("openai", "x", None)]
    assert costs == [pytest.approx(FallbackPrice().cost_usd(usage))] * len(costs)
    assert caplog.records
    assert max(len(record.getMessage()) for record in caplog.records) < 600
