"""Set planned quota rows, one preference each, resumable from a progress record.

``progress`` (the ledger's, for ``throttle``; a plain dict for the CLI) holds:
  ``replaced``  {row key: {"quota_id", "model", "value", "before", "preference"}}: every row
                planned, with the value in force before (``restore`` puts it back), recorded
                once, before the first write;
  ``lowered``   [row keys] whose preference is set.
A resumed run works on the recorded rows: a row whose preference already holds its value (an
earlier write whose answer was lost) counts as set without a second write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.errors import ActionFailed, TransientError
from functions.quotas import api
from functions.quotas.plan import Target

__all__ = ["Result", "apply_targets", "record_plan"]


@dataclass
class Result:
    """What one run set, and what failed (permanently or for now)."""

    lowered: list[str] = field(default_factory=list)
    failures: list[ActionFailed] = field(default_factory=list)
    transient: list[TransientError] = field(default_factory=list)


def record_plan(progress: dict[str, Any], targets: list[Target]) -> None:
    """Record each row and the value it replaces (kept from an earlier attempt if there)."""
    replaced: dict[str, Any] = progress.setdefault("replaced", {})
    for t in targets:
        replaced.setdefault(
            t.key,
            {
                "quota_id": t.quota_id,
                "model": t.model,
                "value": t.value,
                "before": t.current,
                "preference": None,
            },
        )


def apply_targets(
    project: str,
    purpose: str,
    progress: dict[str, Any],
    checkpoint: Callable[[], None],
    say: Callable[[str], object] = lambda _: None,
) -> Result:
    """Set every recorded row not set yet; checkpoint after each."""
    replaced: dict[str, Any] = progress.get("replaced", {})
    lowered: list[str] = progress.setdefault("lowered", [])
    result = Result()
    todo = [key for key in replaced if key not in lowered]
    if not todo:
        return result
    held = {(p.quota_id, p.model): p for p in api.preferences(project)}
    for key in todo:
        row = replaced[key]
        quota_id, model, value = row["quota_id"], row["model"], int(row["value"])
        own = api.preference_id(purpose, quota_id, model)
        existing = held.get((quota_id, model))
        try:
            if existing is not None and existing.preferred == value and existing.granted == value:
                pref = existing  # set by an earlier attempt whose answer was lost
            else:
                pref = api.set_value(project, own, quota_id, model, value, existing)
        except ActionFailed as exc:
            result.failures.append(exc)
            continue
        except TransientError as exc:
            result.transient.append(exc)
            continue
        row["preference"] = pref.name
        lowered.append(key)
        result.lowered.append(key)
        checkpoint()
        say(f"set {quota_id} for {model} to {value} (was {_show(row['before'])})")
    return result


def _show(value: Any) -> str:
    return "unlimited" if value is None or int(value) < 0 else str(value)
