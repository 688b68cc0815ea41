"""Gemini quota ids: which Cloud Quotas id holds each quota family in each usage tier. Pure data.

The policy names a quota by its family; the tier decides the id (USAGE.md §5): tier 1 ids have no
suffix, tier 2 and 3 add ``-PaidTier2`` / ``-PaidTier3``, the free tier ``-FreeTier`` (and its
input-token id has another stem). ``resolve`` finds, among the quota ids a project's
``quotaInfos.list`` answers, those of one family: the given tier's, or every tier's present when
the tier is ``auto`` (lowering a tier's quota the project does not use costs nothing, and the
project's tier can change under the guard: Google upgrades it automatically).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["FAMILIES", "SERVICE", "TIERS", "family_of", "quota_id", "resolve"]

SERVICE = "generativelanguage.googleapis.com"
TIERS = ("free", "tier1", "tier2", "tier3")
FAMILIES = ("requests_per_minute", "requests_per_day", "input_tokens_per_minute")

_STEMS = {
    "requests_per_minute": "GenerateRequestsPerMinutePerProjectPerModel",
    "requests_per_day": "GenerateRequestsPerDayPerProjectPerModel",
    "input_tokens_per_minute": "GenerateContentPaidTierInputTokensPerModelPerMinute",
}
_FREE_INPUT_STEM = "GenerateContentInputTokensPerModelPerMinute"
_SUFFIX = {"free": "-FreeTier", "tier1": "", "tier2": "-PaidTier2", "tier3": "-PaidTier3"}


def quota_id(family: str, tier: str) -> str:
    """The quota id of ``family`` in ``tier`` (requests_per_minute, tier2 -> ...-PaidTier2)."""
    stem = _FREE_INPUT_STEM if (tier, family) == ("free", "input_tokens_per_minute") else None
    return (stem or _STEMS[family]) + _SUFFIX[tier]


_BY_ID = {quota_id(f, t): (f, t) for f in FAMILIES for t in TIERS}


def family_of(quota: str) -> tuple[str, str] | None:
    """(family, tier) of a Gemini quota id, or None for any other quota."""
    return _BY_ID.get(quota)


def resolve(family: str, tier: str, known: Iterable[str]) -> list[str]:
    """The ids of ``family`` among ``known`` (a project's quota ids) for ``tier`` or ``auto``."""
    present = set(known)
    tiers = TIERS if tier == "auto" else (tier,)
    return [quota_id(family, t) for t in tiers if quota_id(family, t) in present]
