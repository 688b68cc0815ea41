"""Price drift check against the Cloud Billing Catalog, and the table in the budget's currency.

Owns reading the Gemini API's SKUs (service ``AEFD-7695-64FA``) through google-cloud-billing's
``CloudCatalogClient`` (REST, the ``functions.gcp`` seam: ``BUDGET_GUARD_GCP_ENDPOINT`` points it
at the stand-in) and comparing them with the shipped price table (``functions.prices``).

How the guard uses it (USAGE.md §4: the hand-kept table stays the source of truth):
  - **prices** always come from the shipped table; the Catalog never replaces a row;
  - **currency**: for a budget not in the table's currency (USD), ``CatalogReport.table`` is the
    table converted with the Catalog's ``currencyConversionRate`` (what Google bills with), so
    an estimate compares with the budget's amount in its own currency;
  - **drift**: every (model, price) where the Catalog differs from the table by more than
    ``TOLERANCE`` is a WARNING naming model, field, table and Catalog price
    (:func:`log_drift`), so an operator updates ``functions/data/prices.json``.

SKU descriptions are matched by :func:`parse_description`: ``[Batch ]Generate|Embed content
[cached ]input|output[ …] token count <Model>[ short|long input text]``; the model name becomes
a table id (``Gemini 2.5 Pro`` -> ``gemini-2.5-pro``) and is resolved with the table's own rules.
Batch SKUs, storage, grounding and names the table does not know are listed as unmatched,
never guessed (the Catalog names some models differently, e.g. ``Gemini Embedding 1.0``).
A SKU with several tiers is read at its dearest rate (the safe side).

Errors: a transient Catalog failure is retried then ``TransientError``; a permanent one
``ActionFailed``; an unusable rate (no SKU priced in the currency) ``PriceTableError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from functions import gcp
from functions.log import Logger
from functions.prices import MILLION, Price, Prices, PriceTableError

__all__ = [
    "GEMINI_API_SERVICE",
    "TOLERANCE",
    "CatalogPrice",
    "CatalogReport",
    "Drift",
    "fetch_skus",
    "log_drift",
    "parse_description",
    "refresh",
    "report_from_skus",
]

GEMINI_API_SERVICE = "services/AEFD-7695-64FA"
#: Relative difference below which a Catalog price is the table's (rounding to nanos included).
TOLERANCE = Decimal("0.005")
_NANOS = Decimal(10**9)
_DESCRIPTION = re.compile(
    r"^(?P<batch>batch )?(?:generate|embed) content (?P<kind>cached input|input|output(?: \w+)?)"
    r" token count (?P<model>.+?)(?: (?P<tier>short|long) input text)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CatalogPrice:
    """One SKU read as a table price: per 1M tokens, in the Catalog's currency."""

    model: str  # the table's id
    field: str  # a Price field: input, output, cached_input, *_long
    price: Decimal
    sku: str
    description: str


@dataclass(frozen=True)
class Drift:
    """A table price the Catalog disagrees with (both in the report's currency, per 1M)."""

    model: str
    field: str
    table: Decimal
    catalog: Decimal


@dataclass
class CatalogReport:
    """What a refresh found; ``table`` is the shipped table in ``currency``."""

    currency: str
    rate: Decimal  # units of ``currency`` per unit of the table's currency
    table: Prices
    prices: list[CatalogPrice] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # SKU descriptions


def parse_description(description: str, prices: Prices) -> tuple[str, str] | None:
    """(table model id, Price field) for a standard token SKU, or None."""
    found = _DESCRIPTION.match(description.strip())
    if found is None or found["batch"]:
        return None
    kind = found["kind"].lower()
    base = "cached_input" if kind == "cached input" else "input" if kind == "input" else "output"
    name = re.sub(r"\s+", "-", found["model"].strip().lower())
    model = prices.resolve(name)
    if model is None:
        return None
    return model, f"{base}_long" if (found["tier"] or "").lower() == "long" else base


def _unit_price(money: Any) -> Decimal:
    return Decimal(int(money.units or 0)) + Decimal(int(money.nanos or 0)) / _NANOS


def _sku_price(sku: Any) -> tuple[Decimal, Decimal] | None:
    """(per-1M price at the dearest tier, currencyConversionRate) of a SKU's latest pricing."""
    if not sku.pricing_info:
        return None
    info = sku.pricing_info[-1]
    rates = [_unit_price(t.unit_price) for t in info.pricing_expression.tiered_rates]
    if not rates:
        return None
    per_million = (max(rates) * MILLION).quantize(Decimal("0.000001")).normalize()
    return per_million, Decimal(str(info.currency_conversion_rate or 1))


def fetch_skus(currency: str, service: str = GEMINI_API_SERVICE) -> list[Any]:
    """Every SKU of ``service`` priced in ``currency`` (all pages), through the guard's seam."""
    from google.cloud import billing_v1

    client = gcp.client(billing_v1.CloudCatalogClient)
    request = {"parent": service, "currency_code": currency, "page_size": 5000}
    return gcp.call(
        f"list the Cloud Billing Catalog SKUs of {service} in {currency}",
        lambda: list(client.list_skus(request=request, retry=None, timeout=gcp.TIMEOUT)),
    )


def _table_value(price: Price, name: str) -> Decimal | None:
    value: Decimal | None = getattr(price, name)
    return value


def _scaled(price: Price, rate: Decimal) -> Price:
    """``price`` in another currency, ``rate`` units of it per unit of the table's currency."""

    def scale(value: Decimal) -> Decimal:
        return (value * rate).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)

    def maybe(value: Decimal | None) -> Decimal | None:
        return None if value is None else scale(value)

    return replace(
        price,
        input=scale(price.input),
        output=scale(price.output),
        cached_input=maybe(price.cached_input),
        input_long=maybe(price.input_long),
        output_long=maybe(price.output_long),
        cached_input_long=maybe(price.cached_input_long),
    )


def _converted(prices: Prices, rate: Decimal, currency: str, on: date) -> Prices:
    """The rows in force on ``on``, in ``currency`` (the table itself when already in it)."""
    if currency == prices.currency:
        return prices
    rows = [_scaled(prices.lookup(model, on)[0], rate) for model in prices.models]
    return Prices(rows, currency, prices.long_context_tokens, _scaled(prices.unknown, rate))


def report_from_skus(skus: Iterable[Any], prices: Prices, currency: str, on: date) -> CatalogReport:
    """Compare SKUs (``billing_v1.Sku``) with ``prices`` on date ``on``; pure."""
    found: list[CatalogPrice] = []
    unmatched: list[str] = []
    rates: set[Decimal] = set()
    for sku in skus:
        parsed = parse_description(sku.description, prices)
        priced = _sku_price(sku)
        if parsed is None or priced is None:
            unmatched.append(sku.description)
            continue
        value, rate = priced
        rates.add(rate)
        found.append(CatalogPrice(parsed[0], parsed[1], value, sku.sku_id, sku.description))
    if currency != prices.currency and not rates:
        raise PriceTableError(f"the Catalog priced no Gemini SKU in {currency}: no rate")
    rate = max(rates) if rates else Decimal(1)  # one rate per answer; the dearer if several
    table = _converted(prices, rate, currency, on)
    drift = []
    for item in found:
        expected = _table_value(table.lookup(item.model, on)[0], item.field)
        if expected is None or abs(item.price - expected) > max(
            expected * TOLERANCE, Decimal("0.001")
        ):
            drift.append(Drift(item.model, item.field, expected or Decimal(0), item.price))
    return CatalogReport(currency, rate, table, found, drift, unmatched)


def refresh(prices: Prices, currency: str, on: date | None = None) -> CatalogReport:
    """Read the Catalog in ``currency`` and compare it with ``prices`` (today by default)."""
    return report_from_skus(fetch_skus(currency), prices, currency, on or date.today())


def log_drift(report: CatalogReport, log: Logger) -> None:
    """One WARNING per drifting price, one INFO line for the refresh."""
    for item in report.drift:
        log.warning(
            f"price drift: {item.model} {item.field}: table {item.table} vs Catalog "
            f"{item.catalog} {report.currency} per 1M tokens; update functions/data/prices.json",
            model=item.model,
            field=item.field,
            table_price=str(item.table),
            catalog_price=str(item.catalog),
            currency=report.currency,
        )
    log.info(
        f"catalog refresh: {len(report.prices)} prices matched, {len(report.drift)} drifting, "
        f"{len(report.unmatched)} SKUs not in the table",
        currency=report.currency,
        rate=str(report.rate),
    )
