"""The Catalog drift check, through the real CloudCatalogClient (REST) against the stand-in."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest

from functions.errors import ActionFailed, TransientError
from functions.log import Logger
from functions.prices import load_prices
from functions.watchdog.catalog import Drift, log_drift, parse_description, refresh
from standin import StandIn

ON = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Generate content input token count Gemini 2.5 Pro short input text",
            ("gemini-2.5-pro", "input"),
        ),
        (
            "Generate content output token count Gemini 2.5 Pro long input text",
            ("gemini-2.5-pro", "output_long"),
        ),
        (
            "Generate content cached input token count Gemini 2.5 Flash",
            ("gemini-2.5-flash", "cached_input"),
        ),
        (
            "Generate content output token count Gemini 3 Pro Image Preview",
            ("gemini-3-pro-image-preview", "output"),
        ),
        ("Embed content input token count Gemini Embedding 2", ("gemini-embedding-2", "input")),
        ("Batch generate content input token count Gemini 2.5 Flash", None),
        ("Context cache storage Gemini 2.5 Pro", None),
        ("Generate content input token count Gemini 2.5 Flash Image", None),  # never the prefix
        ("Embed content input token count Gemini Embedding 1.0", None),
    ],
)
def test_sku_descriptions_map_to_table_models(
    description: str, expected: tuple[str, str] | None
) -> None:
    assert parse_description(description, load_prices()) == expected


def test_the_seeded_catalog_agrees_with_the_table(guard_env: StandIn) -> None:
    report = refresh(load_prices(), "USD", ON)
    assert report.drift == []
    assert report.rate == 1 and report.table is load_prices()
    matched = {(p.model, p.field) for p in report.prices}
    assert {("gemini-2.5-pro", "input_long"), ("gemini-3.8-flash", "cached_input")} <= matched
    assert "Embed content input token count Gemini Embedding 1.0" in report.unmatched
    assert "Batch generate content input token count Gemini 2.5 Flash" in report.unmatched
    assert guard_env.calls("cloudbilling.services.skus.list")[0]["status"] == 200


def test_drift_is_reported_and_logged(guard_env: StandIn) -> None:
    seed = guard_env.state
    for sku in seed["catalog"]["services"]["AEFD-7695-64FA"]["skus"]:
        if (
            sku["description"]
            == "Generate content output token count Gemini 2.5 Pro short input text"
        ):
            sku["pricingInfo"][0]["pricingExpression"]["tieredRates"][0]["unitPrice"] = {
                "currencyCode": "USD",
                "units": "0",
                "nanos": 12000,
            }
    guard_env.set_state(seed)
    report = refresh(load_prices(), "USD", ON)
    assert report.drift == [Drift("gemini-2.5-pro", "output", Decimal("10.00"), Decimal("12.000"))]
    stream = io.StringIO()
    log_drift(report, Logger(stream=stream))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["severity"] == "WARNING" and "gemini-2.5-pro output" in lines[0]["message"]
    assert (lines[0]["table_price"], lines[0]["catalog_price"]) == ("10.00", "12")
    assert lines[-1]["severity"] == "INFO"


def test_a_euro_budget_gets_the_table_in_euros(guard_env: StandIn) -> None:
    report = refresh(load_prices(), "EUR", ON)
    assert report.currency == "EUR" and report.rate == Decimal("0.92")
    assert report.drift == []
    price, known = report.table.lookup("gemini-2.5-pro", ON)
    assert known and (price.input, price.output, price.input_long) == (
        Decimal("1.150000"),
        Decimal("9.200000"),
        Decimal("2.300000"),
    )
    assert report.table.unknown.output == load_prices().unknown.output * Decimal("0.92")
    assert report.table.currency == "EUR"


def test_catalog_failures(guard_env: StandIn) -> None:
    with pytest.raises(ActionFailed, match="XYZ"):
        refresh(load_prices(), "XYZ", ON)
    guard_env.add_fault("cloudbilling.services.skus.list", "503", calls=[1])
    assert refresh(load_prices(), "USD", ON).drift == []  # retried
    guard_env.add_fault("cloudbilling.services.skus.list", "503")
    with pytest.raises(TransientError):
        refresh(load_prices(), "USD", ON)
