"""The Cloud Billing Catalog's world: services and their SKUs, and currency rates.

Seed section ``"catalog"`` (default: ``standin/catalog.json``, the Gemini API's SKUs)::

    {"services": {"AEFD-7695-64FA": {"displayName": "Gemini API", "skus": [Sku JSON, ...]}},
     "rates": {"USD": 1, "EUR": 0.92}}      # units of the currency per USD
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from standin.model import SeedError

__all__ = ["DEFAULT_CATALOG_PATH", "parse_catalog"]

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.json")


def parse_catalog(data: Any) -> dict[str, Any]:
    """A validated catalog section (``None``: the packaged one); SeedError names a bad field."""
    if data is None:
        data = json.loads(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SeedError("catalog: expected an object")
    services, rates = data.get("services") or {}, data.get("rates") or {"USD": 1}
    if not isinstance(services, dict) or not all(
        isinstance(s, dict) and isinstance(s.get("skus", []), list) for s in services.values()
    ):
        raise SeedError('catalog.services: expected {ID: {"skus": [...]}}')
    if not isinstance(rates, dict) or not all(
        isinstance(v, (int, float)) and v > 0 for v in rates.values()
    ):
        raise SeedError("catalog.rates: expected {CURRENCY: rate > 0}")
    return {"services": copy.deepcopy(services), "rates": dict(rates)}
