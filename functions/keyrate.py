"""A ``rate`` rule evaluated per API key: which keys spent past the rule's amount. Pure.

Monitoring has no cost or token count per key: ``request_count`` per ``credential_id`` gives each
key's requests in the window, and the project's token metrics give its estimated spend in the
same window. A key's estimated spend is its share of the requests times the project's spend per
request (``spend / requests``: the project's tokens per request, priced)::

    key spend = key requests * project spend / project requests

A key whose estimated spend in the window is >= the rule's ``amount`` has crossed: the rule's
``revoke_offending_keys`` revokes it and no other. Requests that no key made (OAuth callers,
service accounts) count in the project's total, so they dilute no key's share upwards.

Errors: none. A window with no request, or no spend, crosses for no key; negative counts are
read as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from functions.decision import Firing

__all__ = ["PER_KEY_ACTION", "KeyRate", "evaluate", "is_per_key", "offending", "per_key_firings"]

PER_KEY_ACTION = "revoke_offending_keys"


def is_per_key(firing: Firing) -> bool:
    """A rate rule with ``revoke_offending_keys`` is evaluated per key."""
    return firing.rule.basis == "rate" and PER_KEY_ACTION in firing.rule.actions


@dataclass(frozen=True)
class KeyRate:
    """One key's estimated spend in the window, and whether it crossed the rule's amount."""

    key: str  # the key's uid (credential_id "apikey:<uid>")
    requests: int
    spend: Decimal
    crossed: bool

    def why(self, amount: Decimal, window_minutes: int, currency: str = "USD") -> str:
        return (
            f"API key {self.key}: {self.requests} request(s) in {window_minutes} min, an "
            f"estimated {self.spend:.2f} {currency} >= {amount} {currency}"
            if self.crossed
            else f"API key {self.key}: an estimated {self.spend:.2f} {currency} < {amount}"
        )


def evaluate(
    requests_by_key: Mapping[str, int],
    project_requests: int,
    project_spend: Decimal,
    amount: Decimal,
) -> list[KeyRate]:
    """Every key's estimated spend in the window, most first (module docstring)."""
    counts = {key: max(0, int(n)) for key, n in requests_by_key.items()}
    total = max(project_requests, sum(counts.values()))
    per_request = project_spend / total if total and project_spend > 0 else Decimal(0)
    rates = [
        KeyRate(key, n, (n * per_request).quantize(Decimal("0.0001")), n * per_request >= amount)
        for key, n in counts.items()
    ]
    return sorted(rates, key=lambda r: (-r.spend, r.key))


def offending(rates: list[KeyRate]) -> list[KeyRate]:
    """The keys that crossed."""
    return [r for r in rates if r.crossed and r.requests > 0]


def per_key_firings(
    firing: Firing, requests_by_key: Mapping[str, int], window_spend: Decimal
) -> list[Firing]:
    """A project's rate firing made per key: one firing per key whose share crossed.

    Each has the crossing of ``firing`` with subject ``key:<uid>`` (once per key and burst), the
    key's uid as its only target (``revoke_offending_keys`` resolves it) and why in its reason.
    The project's requests are those of its API keys (Monitoring's per-key series): requests
    made with other credentials are not in it, so a key's share is, if anything, too high
    (the safe side). No key crossed: no firing.
    """
    rule = firing.rule
    assert rule.amount is not None and rule.window_minutes is not None
    total = sum(max(0, n) for n in requests_by_key.values())
    return [
        replace(
            firing,
            crossing=replace(firing.crossing, subject=f"key:{rate.key}"),
            reason=f"{rate.why(rule.amount, rule.window_minutes)} (its share of {firing.reason})",
            targets=(rate.key,),
        )
        for rate in offending(evaluate(requests_by_key, total, window_spend, rule.amount))
    ]
