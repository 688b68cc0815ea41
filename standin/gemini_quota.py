"""Which Gemini quota limits a project has, per quota id and model (the stand-in's defaults).

Paid projects (billing linked) get the Tier-1 ids of ``../shared/USAGE.md`` §5; a project without
billing is on the free tier, where only the free models have a non-zero limit (a paid-only model
answers 429 with ``quotaValue`` 0, as Google does for the free tier). Limits are per project and
model, never per key (ai.google.dev/gemini-api/docs/rate-limits).

The values a project actually has come from, in order: a ``source`` callable (the Cloud Quotas
stand-in once it is wired in: it answers the effective value after quota preferences), the
overrides set with :meth:`QuotaBook.set`, then :data:`PAID_DEFAULTS` / :data:`FREE_DEFAULTS`.
``-1`` means unlimited.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "FREE_DEFAULTS",
    "FREE_LIMITS",
    "FREE_MODELS",
    "PAID_DEFAULTS",
    "PAID_LIMITS",
    "Limit",
    "QuotaBook",
    "QuotaSource",
    "limits_for",
]


@dataclass(frozen=True)
class Limit:
    """One per-minute limit: what it counts ("requests" or "input_tokens") and its ids."""

    quota_id: str
    metric: str
    counts: str


PAID_LIMITS = (
    Limit(
        "GenerateRequestsPerMinutePerProjectPerModel",
        "generativelanguage.googleapis.com/generate_requests_per_model",
        "requests",
    ),
    Limit(
        "GenerateContentPaidTierInputTokensPerModelPerMinute",
        "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count",
        "input_tokens",
    ),
)
FREE_LIMITS = (
    Limit(
        "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
        "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        "requests",
    ),
    Limit(
        "GenerateContentInputTokensPerModelPerMinute-FreeTier",
        "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
        "input_tokens",
    ),
)
#: Tier 1 as seen in public 429s and rate-limit pages (USAGE.md §5); scenarios override them.
PAID_DEFAULTS = {PAID_LIMITS[0].quota_id: 2_000, PAID_LIMITS[1].quota_id: 2_000_000}
#: Free models only; everything else has a free-tier limit of 0.
FREE_MODELS = frozenset({"gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash"})
FREE_DEFAULTS = {FREE_LIMITS[0].quota_id: 10, FREE_LIMITS[1].quota_id: 250_000}

#: (project id, quota id, model) -> effective value, or None when it does not know.
QuotaSource = Callable[[str, str, str], "int | None"]


def limits_for(paid: bool) -> tuple[Limit, ...]:
    return PAID_LIMITS if paid else FREE_LIMITS


class QuotaBook:
    """Per-project overrides and the optional external source."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str, str], int] = {}
        self.source: QuotaSource | None = None

    def set(self, project_id: str, quota_id: str, model: str, value: int) -> None:
        """Override one limit; ``model`` ``"*"`` applies to every model of the project."""
        with self._lock:
            self._values[(project_id, quota_id, model)] = value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def value(self, project_id: str, limit: Limit, model: str, paid: bool) -> int:
        """The limit's effective value (``-1``: unlimited)."""
        if self.source is not None:
            found = self.source(project_id, limit.quota_id, model)
            if found is not None:
                return found
        with self._lock:
            for key in ((project_id, limit.quota_id, model), (project_id, limit.quota_id, "*")):
                if key in self._values:
                    return self._values[key]
        if paid:
            return PAID_DEFAULTS[limit.quota_id]
        return FREE_DEFAULTS[limit.quota_id] if model in FREE_MODELS else 0
