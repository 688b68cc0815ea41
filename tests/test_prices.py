"""The price table: every row parses, lookups take the safe side, dated rows switch on their day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from functions.prices import PriceTableError, load_prices, parse_prices


def test_shipped_table_parses_with_a_source_and_date_per_row() -> None:
    prices = load_prices()
    assert "gemini-2.5-flash" in prices.models
    for model in prices.models:
        price, known = prices.lookup(model, date(2026, 12, 1))
        assert known
        assert price.source and price.as_of, model
        assert price.output_token_limit, model


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"),
        ("gemini-2.5-pro-001", "gemini-2.5-pro"),
        ("gemini-3.1-pro-preview", "gemini-3.1-pro-preview"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("gemini-2.5-flash-image", None),  # a different, dearer model: never the text price
        ("veo-3.1-generate-preview", None),
    ],
)
def test_resolve_is_exact_or_version_suffix_only(model: str, expected: str | None) -> None:
    assert load_prices().resolve(model) == expected


def test_unknown_model_is_priced_at_the_dearest_rates_never_zero() -> None:
    prices = load_prices()
    price, known = prices.lookup("gemini-9-ultra-image")
    assert not known
    assert price.input == max(prices.lookup(m)[0].top_input for m in prices.models)
    assert price.output == Decimal("120.00")
    assert price.cost(1_000_000, 1_000_000) > 0


def test_dated_row_applies_from_its_day() -> None:
    prices = load_prices()
    assert prices.lookup("gemini-3.8-flash", date(2026, 12, 31))[0].input == Decimal("0.75")
    assert prices.lookup("gemini-3.8-flash", date(2027, 1, 1))[0].input == Decimal("1.50")


def test_cost_arithmetic_and_long_context_tier() -> None:
    pro = load_prices().lookup("gemini-2.5-pro")[0]
    assert pro.cost(1_000_000, 0) == Decimal("1.25")
    assert pro.cost(1_000_000, 1_000_000, long_context=True) == Decimal("17.50")


def test_policy_unknown_rate_replaces_the_default() -> None:
    prices = load_prices().with_unknown(Decimal("5"), Decimal("200"))
    assert prices.lookup("mystery")[0].output == Decimal("200")


@pytest.mark.parametrize(
    "row",
    [
        {"model": "m", "input": 1, "output": "1"},
        {"model": "m", "input": "-1", "output": "1"},
        {"model": "m", "input": "NaN", "output": "1"},
        {"model": "", "input": "1", "output": "1"},
        {"model": "m", "input": "1"},
        {"model": "m", "input": "1", "output": "1", "effective_from": "soon"},
    ],
)
def test_malformed_rows_are_refused_naming_the_field(row: dict[str, object]) -> None:
    with pytest.raises(PriceTableError, match=r"models\[0\]"):
        parse_prices({"models": [row]})
