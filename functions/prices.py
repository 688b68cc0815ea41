"""The dated price table: what a Gemini token costs, per model, as data shipped with the function.

Owns ``functions/data/prices.json`` and the arithmetic on it; used by the usage watchdog (an
estimate of spend from token counts) and the quota ceiling planner (the worst case a quota allows).
Pure: no I/O beyond reading the packaged file once, no Google client.

Lookup rules, chosen for the safe side:
  - a model id is matched exactly, then again with its version suffix stripped
    (``models/`` prefix, ``-001``, ``-latest``, ``-preview-05-20``, ``-exp-0827``...), never by a
    looser prefix: ``gemini-2.5-flash-image`` is *not* ``gemini-2.5-flash``;
  - a model the table does not know is priced at the ``unknown`` price (default: the most expensive
    known rate on each axis), never at 0; ``Prices.lookup`` says whether it was known so the caller
    can name it in a WARNING;
  - the row in force is the latest whose ``effective_from`` is not after the usage date.

Errors: ``PriceTableError`` (a malformed table) is a ``GuardError``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from functions.errors import GuardError

__all__ = [
    "MILLION",
    "Price",
    "PriceTableError",
    "Prices",
    "canonical_model",
    "load_prices",
]

MILLION = Decimal(1_000_000)
TABLE = Path(__file__).with_name("data") / "prices.json"
_SUFFIXES = (
    re.compile(r"-preview-\d{2}-\d{2,4}$"),
    re.compile(r"-exp-\d{4}$"),
    re.compile(r"-\d{3}$"),
    re.compile(r"-latest$"),
)


class PriceTableError(GuardError):
    """The price table (shipped or refreshed) is malformed."""


@dataclass(frozen=True)
class Price:
    """USD (or the table's currency) per 1M tokens for one model; ``*_long`` above the tier."""

    model: str
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    input_long: Decimal | None = None
    output_long: Decimal | None = None
    cached_input_long: Decimal | None = None
    output_token_limit: int | None = None
    effective_from: date | None = None
    source: str = ""
    as_of: str = ""

    def cost(self, input_tokens: int, output_tokens: int, long_context: bool = False) -> Decimal:
        """The cost of the tokens; cached input tokens are priced as uncached (the safe side)."""
        rate_in = (self.input_long if long_context else None) or self.input
        rate_out = (self.output_long if long_context else None) or self.output
        return (Decimal(input_tokens) * rate_in + Decimal(output_tokens) * rate_out) / MILLION

    @property
    def top_input(self) -> Decimal:
        return max(self.input, self.input_long or self.input)

    @property
    def top_output(self) -> Decimal:
        return max(self.output, self.output_long or self.output)


def canonical_model(model: str) -> str:
    """``models/gemini-2.5-flash`` -> ``gemini-2.5-flash`` (lower case, no resource prefix)."""
    name = model.strip().lower()
    return name.removeprefix("publishers/google/models/").removeprefix("models/")


def _decimal(row: dict[str, Any], key: str, where: str) -> Decimal | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PriceTableError(f"{where}.{key}: a decimal string, got {value!r}")
    try:
        result = Decimal(value)
    except ArithmeticError as exc:
        raise PriceTableError(f"{where}.{key}: not a decimal: {value!r}") from exc
    if not result.is_finite() or result < 0:
        raise PriceTableError(f"{where}.{key}: must be a finite decimal >= 0, got {value!r}")
    return result


def _price(row: dict[str, Any], where: str) -> Price:
    model = row.get("model")
    if not isinstance(model, str) or not model:
        raise PriceTableError(f"{where}.model: a model id string is required")
    inp, out = _decimal(row, "input", where), _decimal(row, "output", where)
    if inp is None or out is None:
        raise PriceTableError(f"{where}: input and output prices are required")
    limit = row.get("output_token_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise PriceTableError(f"{where}.output_token_limit: a positive integer, got {limit!r}")
    start = row.get("effective_from")
    try:
        effective = date.fromisoformat(start) if start is not None else None
    except (TypeError, ValueError) as exc:
        raise PriceTableError(f"{where}.effective_from: a YYYY-MM-DD date, got {start!r}") from exc
    return Price(
        model=canonical_model(model),
        input=inp,
        output=out,
        cached_input=_decimal(row, "cached_input", where),
        input_long=_decimal(row, "input_long", where),
        output_long=_decimal(row, "output_long", where),
        cached_input_long=_decimal(row, "cached_input_long", where),
        output_token_limit=limit,
        effective_from=effective,
        source=str(row.get("source", "")),
        as_of=str(row.get("as_of", "")),
    )


class Prices:
    """A parsed price table with the safe-side lookup rules of the module docstring."""

    def __init__(
        self,
        rows: list[Price],
        currency: str = "USD",
        long_context_tokens: int = 200_000,
        unknown: Price | None = None,
    ) -> None:
        if not rows:
            raise PriceTableError("models: the price table has no rows")
        self.currency = currency
        self.long_context_tokens = long_context_tokens
        self._rows: dict[str, list[Price]] = {}
        for row in rows:
            self._rows.setdefault(row.model, []).append(row)
        for versions in self._rows.values():
            versions.sort(key=lambda p: p.effective_from or date.min)
        self.unknown = unknown or Price(
            model="(unknown model)",
            input=max(p.top_input for p in rows),
            output=max(p.top_output for p in rows),
            output_token_limit=max((p.output_token_limit or 0) for p in rows) or None,
            source="the most expensive known rate on each axis",
        )

    @property
    def models(self) -> list[str]:
        """Every model the table knows, sorted."""
        return sorted(self._rows)

    def resolve(self, model: str) -> str | None:
        """The table's id for ``model`` (exact, then version suffixes stripped), or None."""
        name = canonical_model(model)
        while True:
            if name in self._rows:
                return name
            for suffix in _SUFFIXES:
                stripped = suffix.sub("", name)
                if stripped != name:
                    name = stripped
                    break
            else:
                stripped = name.removesuffix("-preview")
                if stripped == name or stripped not in self._rows:
                    return None
                return stripped

    def lookup(self, model: str, on: date | None = None) -> tuple[Price, bool]:
        """(price in force on ``on``, known?). An unknown model gets ``self.unknown``."""
        key = self.resolve(model)
        if key is None:
            return self.unknown, False
        versions = self._rows[key]
        if on is None:
            on = date.today()
        chosen = versions[0]
        for version in versions:
            if version.effective_from is None or version.effective_from <= on:
                chosen = version
        return chosen, True

    def with_unknown(self, unknown_input: Decimal, unknown_output: Decimal) -> Prices:
        """A copy whose unknown-model price is the policy's own rate."""
        rows = [p for versions in self._rows.values() for p in versions]
        unknown = Price(
            "(unknown model)", unknown_input, unknown_output, source="policy unknown-model rate"
        )
        return Prices(rows, self.currency, self.long_context_tokens, unknown)


def parse_prices(document: dict[str, Any]) -> Prices:
    """Parse a price table document (the shipped file's shape)."""
    rows = document.get("models")
    if not isinstance(rows, list):
        raise PriceTableError("models: a list of price rows is required")
    parsed = [_price(row, f"models[{i}]") for i, row in enumerate(rows) if isinstance(row, dict)]
    if len(parsed) != len(rows):
        raise PriceTableError("models: every row must be an object")
    currency = document.get("currency", "USD")
    tokens = document.get("long_context_tokens", 200_000)
    if not isinstance(currency, str) or not isinstance(tokens, int):
        raise PriceTableError("currency (string) and long_context_tokens (integer) are required")
    return Prices(parsed, currency, tokens)


@cache
def load_prices(path: str | None = None) -> Prices:
    """The shipped table (or the one at ``path``), parsed once per process."""
    with open(path or TABLE, encoding="utf-8") as fh:
        return parse_prices(json.load(fh))
