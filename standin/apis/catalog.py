"""Cloud Billing Catalog v1: ``services.skus.list`` (``GET /v1/services/{service}/skus``).

SKUs are served as Google sends them: ``pricingInfo[].pricingExpression.tieredRates[].unitPrice``
``{currencyCode, units (int64 string), nanos}`` per usage unit (per token for Gemini). Seeded
from ``standin/catalog.json`` (Gemini API, service ``AEFD-7695-64FA``) unless the seed has a
``"catalog"`` section of the same shape: ``{"services": {ID: {"displayName", "skus": [...]}},
"rates": {CURRENCY: units of it per USD}}``. ``currencyCode`` (default USD) converts every price
with its rate and sets ``currencyConversionRate``; an unknown currency is 400 INVALID_ARGUMENT,
an unknown service 404. ``pageSize`` (default and maximum 5000) and ``pageToken`` page the list.
The Catalog is public: no IAM permission is checked.
"""

from __future__ import annotations

import base64
import copy
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from standin.call import Call
from standin.errors import invalid_argument, not_found
from standin.routing import route

__all__ = ["ROUTES"]

MAX_PAGE = 5000
NANOS = Decimal(10**9)


def _convert(price: dict[str, Any], currency: str, rate: Decimal) -> dict[str, Any]:
    amount = Decimal(str(price.get("units", "0"))) + Decimal(int(price.get("nanos", 0))) / NANOS
    converted = (amount * rate).quantize(Decimal(1) / NANOS, rounding=ROUND_HALF_EVEN)
    units = int(converted)
    nanos = int((converted - units) * NANOS)
    out: dict[str, Any] = {"currencyCode": currency, "units": str(units)}
    if nanos:
        out["nanos"] = nanos
    return out


def _sku(sku: dict[str, Any], currency: str, rate: Decimal) -> dict[str, Any]:
    sku = copy.deepcopy(sku)
    for info in sku.get("pricingInfo", []):
        info["currencyConversionRate"] = float(rate)
        for tier in info.get("pricingExpression", {}).get("tieredRates", []):
            tier["unitPrice"] = _convert(tier.get("unitPrice", {}), currency, rate)
    return sku


def list_skus(call: Call) -> dict[str, Any]:
    catalog = call.world.catalog
    service = catalog["services"].get(call.params["service"])
    if service is None:
        raise not_found(f"Service services/{call.params['service']} not found.")
    currency = call.query.get("currencyCode") or "USD"
    if currency not in catalog["rates"]:
        raise invalid_argument(f"Currency code {currency} is not supported.")
    rate = Decimal(str(catalog["rates"][currency]))
    skus = service.get("skus", [])
    size = call.integer("pageSize", MAX_PAGE) or MAX_PAGE
    size = min(size, MAX_PAGE)
    offset = 0
    token = call.query.get("pageToken") or ""
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise invalid_argument("Invalid page token.") from None
    page = [_sku(s, currency, rate) for s in skus[offset : offset + size]]
    answer: dict[str, Any] = {"skus": page}
    if offset + size < len(skus):
        answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return answer


ROUTES = [
    route(
        "GET",
        "/v1/services/{service}/skus",
        "cloudbilling.services.skus.list",
        list_skus,
        resource="services/{service}",
        project_required=False,
    ),
]
