"""The spend ceiling: per-model quotas whose worst-case cost for one day stays under an amount.

Pure arithmetic on the price table (``functions.prices``); no I/O. For one model, with
    R = requests per day (quota), T = input tokens per minute (quota),
    L = max output tokens per request (outputTokenLimit), I, O = input, output price per 1M:
  - one request carries at most T input tokens (a prompt larger than the per-minute quota is
    refused) and at most L output tokens (thinking tokens included: they count as output);
  - one day has at most R requests and at most 1440 x T input tokens;
so the most one day can cost is
    worst(R, T) = (min(R, 1440) x T x I + R x L x O) / 1,000,000
with I and O the long-context rates when T exceeds the long-context threshold (a prompt above
200k tokens is only possible then), the standard rates otherwise. Cached input is priced as
uncached, the safe side.

``plan`` gives each model an equal share of the amount, fixes T (the caller's per-minute input
allowance) and takes the largest R whose worst case fits the share. The ceiling holds only for
the models and the two quota families it sets, at the prices of the table's date: see the README
(what it does not cover: other models, grounding and tool fees, Priority pricing, per-image or
per-second media prices, the price table going stale).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from functions.prices import MILLION, Price, Prices

__all__ = ["MINUTES_PER_DAY", "Ceiling", "Row", "plan", "rates", "worst_case"]

MINUTES_PER_DAY = 1440
DEFAULT_OUTPUT_LIMIT = 65_536  # when neither models.get nor the table knows the model


@dataclass(frozen=True)
class Row:
    """One model's quotas and the worst case they allow in a day."""

    model: str
    known: bool  # priced from the table (else at the table's dearest rate)
    input_rate: Decimal
    output_rate: Decimal
    long_context: bool
    output_token_limit: int
    share: Decimal
    requests_per_day: int
    input_tokens_per_minute: int
    worst_case: Decimal


@dataclass(frozen=True)
class Ceiling:
    """The plan for every model, and the sum of their worst cases (at most ``daily``)."""

    daily: Decimal
    currency: str
    rows: tuple[Row, ...]

    @property
    def total(self) -> Decimal:
        return sum((row.worst_case for row in self.rows), Decimal(0))


def rates(
    price: Price, input_tokens_per_minute: int, long_tokens: int
) -> tuple[Decimal, Decimal, bool]:
    """(input rate, output rate, long context?) that apply to prompts up to the quota's size."""
    if input_tokens_per_minute > long_tokens:
        return price.top_input, price.top_output, True
    return price.input, price.output, False


def worst_case(
    requests_per_day: int,
    input_tokens_per_minute: int,
    output_token_limit: int,
    input_rate: Decimal,
    output_rate: Decimal,
) -> Decimal:
    """The most one day can cost under these two quotas (module docstring)."""
    inputs = Decimal(min(requests_per_day, MINUTES_PER_DAY) * input_tokens_per_minute) * input_rate
    outputs = Decimal(requests_per_day * output_token_limit) * output_rate
    return (inputs + outputs) / MILLION


def _requests(share: Decimal, tpm: int, limit: int, rate_in: Decimal, rate_out: Decimal) -> int:
    """The largest R with worst_case(R, tpm) <= share."""
    budget = share * MILLION
    per_request = tpm * rate_in + limit * rate_out
    if per_request <= 0:
        return 0
    r = int((budget / per_request).to_integral_value(ROUND_FLOOR))
    if r > MINUTES_PER_DAY:  # past 1440 requests the input side is bounded by the minutes
        rest = budget - MINUTES_PER_DAY * tpm * rate_in
        r = int((rest / (limit * rate_out)).to_integral_value(ROUND_FLOOR)) if rate_out else r
    while r > 0 and worst_case(r, tpm, limit, rate_in, rate_out) > share:
        r -= 1  # guard the rounding
    return max(r, 0)


def plan(
    daily: Decimal,
    models: Iterable[str],
    prices: Prices,
    input_tokens_per_minute: int,
    output_limits: Mapping[str, int] | None = None,
    on: date | None = None,
) -> Ceiling:
    """Quotas for each of ``models`` so that the sum of their worst cases is at most ``daily``.

    ``output_limits``: outputTokenLimit per model from models.get (else the table's, else 65,536).
    """
    names = list(dict.fromkeys(models))
    if not names:
        return Ceiling(daily, prices.currency, ())
    share = daily / len(names)
    rows = []
    for model in names:
        price, known = prices.lookup(model, on)
        limit = max(
            (output_limits or {}).get(model, 0),
            price.output_token_limit or DEFAULT_OUTPUT_LIMIT,
        )
        rate_in, rate_out, long = rates(price, input_tokens_per_minute, prices.long_context_tokens)
        r = _requests(share, input_tokens_per_minute, limit, rate_in, rate_out)
        worst = worst_case(r, input_tokens_per_minute, limit, rate_in, rate_out)
        rows.append(
            Row(
                model,
                known,
                rate_in,
                rate_out,
                long,
                limit,
                share,
                r,
                input_tokens_per_minute,
                worst,
            )
        )
    return Ceiling(daily, prices.currency, tuple(rows))
