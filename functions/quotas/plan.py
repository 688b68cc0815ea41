"""Which quota preferences a brake sets: (quota id, model, value) rows from config and quota infos.

Pure: the quota infos are read by the caller (``functions.quotas.api.infos``). A row is only made
for a value lower than the one in force (a brake never raises a quota); two entries naming the
same quota and model keep the lower value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from functions.policy import ThrottleConfig
from functions.quotas.api import Info
from functions.quotas.ids import FAMILIES, family_of, resolve

__all__ = ["Target", "lock_targets", "throttle_targets"]


@dataclass(frozen=True)
class Target:
    """Set ``quota_id`` for ``model`` to ``value``; ``current`` is the value in force now."""

    quota_id: str
    model: str
    value: int
    current: int | None

    @property
    def key(self) -> str:
        """The row's name in the ledger's progress: ``QUOTA_ID/model``."""
        return f"{self.quota_id}/{self.model}"

    @property
    def family(self) -> str:
        found = family_of(self.quota_id)
        return found[0] if found else self.quota_id


def _lowers(current: int | None, value: int) -> bool:
    return current is None or current < 0 or current > value


def _merge(rows: Iterable[Target]) -> list[Target]:
    best: dict[str, Target] = {}
    for row in rows:
        if row.key not in best or row.value < best[row.key].value:
            best[row.key] = row
    return sorted(best.values(), key=lambda t: (t.model, t.quota_id))


def throttle_targets(
    config: ThrottleConfig, infos: Mapping[str, Info]
) -> tuple[list[Target], list[str]]:
    """(rows that lower a quota, notes on what the policy names but the project lacks)."""
    rows, notes = [], []
    for entry in config.quotas:
        ids = resolve(entry.family, config.tier, infos)
        if not ids:
            notes.append(f"no {entry.family} quota for tier {config.tier} in the project")
        for quota_id in ids:
            listed = infos[quota_id].values
            models = list(listed) if "*" in entry.models else list(entry.models)
            for model in models:
                if model not in listed:
                    notes.append(f"{quota_id} lists no model {model}")
                elif _lowers(listed[model], entry.value):
                    rows.append(Target(quota_id, model, entry.value, listed[model]))
    return _merge(rows), notes


def lock_targets(
    infos: Mapping[str, Info], allow: Iterable[str], extra_models: Iterable[str], tier: str = "auto"
) -> list[Target]:
    """Every quota family of every model but ``allow``, to 0 (``extra_models``: the price table's
    models, locked too where the quota infos do not list them)."""
    allowed = set(allow)
    rows = []
    for family in FAMILIES:
        for quota_id in resolve(family, tier, infos):
            listed = infos[quota_id].values
            for model in dict.fromkeys([*listed, *extra_models]):
                if model not in allowed and _lowers(listed.get(model), 0):
                    rows.append(Target(quota_id, model, 0, listed.get(model)))
    return _merge(rows)
