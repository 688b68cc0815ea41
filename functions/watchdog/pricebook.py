"""The price tables one tick prices with: the shipped table per budget currency, per day.

Owns how the watchdog uses the Cloud Billing Catalog (functions/watchdog/catalog.py, the other
half of the data plane): prices always come from the shipped table (functions/data/prices.json);
for a budget in another currency the table is converted with the Catalog's
``currencyConversionRate`` (what Google bills with), once per currency and day; and once a day
the Catalog is compared with the table, each drifting price one WARNING. The policy's
``unknown_model_rate`` is read in each budget's own currency. A Catalog failure is one WARNING
per currency and day: the estimate then stays in the table's currency (said in the WARNING),
never missing. Errors: none raised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from functions.errors import GuardError
from functions.log import Logger
from functions.prices import Prices
from functions.watchdog.config import UnknownRate
from functions.watchdog.pricing import prices_for

__all__ = ["PriceBook", "Refresh", "catalog_refresh"]

Refresh = Callable[[Prices, str, date], Any]  # -> catalog.CatalogReport


def catalog_refresh(prices: Prices, currency: str, on: date) -> Any:
    from functions.watchdog.catalog import refresh

    return refresh(prices, currency, on)


class PriceBook:
    """``table(currency, on)``; ``refresh`` None: no Catalog (the shipped table only)."""

    def __init__(
        self,
        base: Prices,
        unknown: UnknownRate | None,
        log: Logger,
        refresh: Refresh | None = catalog_refresh,
    ) -> None:
        self.base = base
        self.unknown = unknown
        self.log = log
        self.refresh = refresh
        self._tables: dict[tuple[str, date], Prices] = {}
        self._checked: date | None = None

    @property
    def currency(self) -> str:
        return self.base.currency

    def table(self, currency: str, on: date) -> Prices:
        """The table in ``currency`` for ``on`` (the shipped one when it is the same)."""
        if currency == self.base.currency or self.refresh is None:
            return prices_for(self.base, self.unknown)
        key = (currency, on)
        if key not in self._tables:
            try:
                converted = self.refresh(self.base, currency, on).table
            except (GuardError, OSError) as exc:
                self.log.warning(
                    f"watchdog: no {currency} prices from the Cloud Billing Catalog ({exc}): "
                    f"estimates for {currency} budgets are in {self.base.currency} today",
                    currency=currency,
                )
                converted = self.base
            self._tables[key] = prices_for(converted, self.unknown)
        return self._tables[key]

    def check_drift(self, on: date) -> None:
        """Once a day: compare the Catalog with the table (a WARNING per drifting price)."""
        if self.refresh is None or self._checked == on:
            return
        self._checked = on
        try:
            report = self.refresh(self.base, self.base.currency, on)
        except (GuardError, OSError) as exc:
            self.log.warning(f"watchdog: price drift check skipped: {exc}")
            return
        from functions.watchdog.catalog import log_drift

        log_drift(report, self.log)
