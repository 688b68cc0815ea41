"""The ceiling planner's arithmetic, checked against an independent recomputation from the raw
price table file (functions/data/prices.json), not through functions.prices or the planner."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from functions.prices import load_prices
from functions.quotas import ceiling

TABLE = Path(__file__).parent.parent / "functions" / "data" / "prices.json"
RAW: dict[str, Any] = json.loads(TABLE.read_text())
TODAY = date(2026, 12, 1)


def raw_row(model: str, on: date) -> dict[str, Any]:
    """The table row in force on ``on`` (the latest effective_from not after it)."""
    rows = [r for r in RAW["models"] if r["model"] == model]
    rows = [r for r in rows if date.fromisoformat(r.get("effective_from", "2000-01-01")) <= on]
    return max(rows, key=lambda r: r.get("effective_from", ""))


def independent_worst(model: str, rpd: int, tpm: int, on: date) -> Decimal:
    """Most one day can cost: every request with a full-minute prompt and max output tokens."""
    row = raw_row(model, on)
    long = tpm > RAW["long_context_tokens"]
    rate_in = Decimal(row.get("input_long") or row["input"]) if long else Decimal(row["input"])
    rate_out = Decimal(row.get("output_long") or row["output"]) if long else Decimal(row["output"])
    prompts = min(rpd, 24 * 60)  # at most one full-quota prompt per minute
    tokens_in = prompts * tpm
    tokens_out = rpd * row["output_token_limit"]
    return (tokens_in * rate_in + tokens_out * rate_out) / Decimal(1_000_000)


MODELS = sorted({r["model"] for r in RAW["models"]})


@pytest.mark.parametrize("daily", ["1", "50", "1000", "250000"])
@pytest.mark.parametrize("tpm", [8_000, 100_000, 1_000_000])
def test_worst_case_is_at_most_the_amount_for_every_model(daily: str, tpm: int) -> None:
    amount = Decimal(daily)
    result = ceiling.plan(amount, MODELS, load_prices(), tpm, on=TODAY)

    share = amount / len(MODELS)
    total = Decimal(0)
    for row in result.rows:
        worst = independent_worst(row.model, row.requests_per_day, tpm, TODAY)
        assert worst == row.worst_case, row.model
        assert worst <= share, (row.model, worst, share)
        # The largest such value: one more request per day would break the share (unless the
        # output is free and the minutes already bound the input: embeddings past 1440 a day).
        if raw_row(row.model, TODAY)["output"] != "0" or row.requests_per_day < 24 * 60:
            assert independent_worst(row.model, row.requests_per_day + 1, tpm, TODAY) > share
        total += worst
    assert total <= amount
    assert result.total == total


def test_long_context_rates_apply_only_when_a_prompt_can_exceed_200k() -> None:
    prices = load_prices()
    short = ceiling.plan(Decimal(100), ["gemini-2.5-pro"], prices, 200_000, on=TODAY).rows[0]
    long = ceiling.plan(Decimal(100), ["gemini-2.5-pro"], prices, 200_001, on=TODAY).rows[0]
    assert (short.input_rate, short.output_rate, short.long_context) == (
        Decimal("1.25"),
        Decimal("10.00"),
        False,
    )
    assert (long.input_rate, long.output_rate, long.long_context) == (
        Decimal("2.50"),
        Decimal("15.00"),
        True,
    )


def test_a_dated_price_change_is_planned_at_the_new_rate() -> None:
    prices = load_prices()
    before = ceiling.plan(Decimal(50), ["gemini-3.8-flash"], prices, 10_000, on=TODAY).rows[0]
    after = ceiling.plan(Decimal(50), ["gemini-3.8-flash"], prices, 10_000, on=date(2027, 1, 1))
    assert after.rows[0].output_rate == 2 * before.output_rate
    assert after.rows[0].requests_per_day < before.requests_per_day


def test_unknown_model_is_priced_at_the_dearest_rate_and_output_limit_from_models_get() -> None:
    prices = load_prices()
    result = ceiling.plan(
        Decimal(50), ["veo-9-ultra"], prices, 10_000, {"veo-9-ultra": 100_000}, on=TODAY
    )
    (row,) = result.rows
    assert not row.known and row.output_rate == Decimal("120.00")
    assert row.output_token_limit == 100_000  # models.get's value, larger than the table's
    assert row.worst_case <= Decimal(50)


def test_too_small_an_amount_locks_the_model() -> None:
    (row,) = ceiling.plan(Decimal("0.10"), ["gemini-3-pro-image-preview"], load_prices(), 1000).rows
    assert row.requests_per_day == 0 and row.worst_case == 0
