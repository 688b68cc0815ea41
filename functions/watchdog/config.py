"""The policy's ``watchdog`` section and the watchdog rule bases: types and strict validation.

Owns what the usage watchdog reads from the policy (``functions/policy.py`` calls in here, so the
field paths and error style are the policy's own):

    {"watchdog": {"interval_minutes": 5, "scope_project": "guard-host",
                  "unknown_model_rate": {"input": 120, "output": 120},
                  "reconcile_tolerance": 0.2}}

and the extra keys of the rule bases the watchdog evaluates (``estimate``, ``rate``,
``baseline``). Pure: no I/O. Errors: ``PolicyError`` (a ``GuardError``) naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from functions.errors import PolicyError

__all__ = [
    "BUDGET_BASES",
    "READ_PERMISSIONS",
    "RULE_KEYS",
    "WATCHDOG_BASES",
    "UnknownRate",
    "WatchdogConfig",
    "parse_watchdog",
    "rule_extras",
]

BUDGET_BASES = ("actual", "forecast")
WATCHDOG_BASES = ("estimate", "rate", "baseline")
# basis -> (required keys besides name/basis/actions, optional keys)
RULE_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "actual": (frozenset({"threshold"}), frozenset()),
    "forecast": (frozenset({"threshold"}), frozenset()),
    "estimate": (frozenset({"threshold"}), frozenset()),
    "rate": (frozenset({"window_minutes", "amount"}), frozenset()),
    "baseline": (frozenset({"window_minutes", "amount", "multiple"}), frozenset()),
}
# IAM permissions the watchdog needs on the metrics scope (host) project: infra/watchdog.tf grants
# exactly these (tests/infra compares them both ways).
READ_PERMISSIONS = frozenset({"monitoring.timeSeries.list", "monitoring.metricDescriptors.list"})
MAX_WINDOW_MINUTES = 1440
DEFAULT_INTERVAL = 5
DEFAULT_TOLERANCE = Decimal("0.2")


@dataclass(frozen=True)
class UnknownRate:
    """The price per 1M tokens of a model the price table does not know."""

    input: Decimal
    output: Decimal


@dataclass(frozen=True)
class WatchdogConfig:
    """The ``watchdog`` section. ``unknown_model_rate`` None: the dearest known rate."""

    scope_project: str
    interval_minutes: int = DEFAULT_INTERVAL
    unknown_model_rate: UnknownRate | None = None
    reconcile_tolerance: Decimal = DEFAULT_TOLERANCE


def _positive(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise PolicyError(path, f"must be a number, got {type(value).__name__}")
    number = Decimal(str(value))
    if not number.is_finite() or number <= 0:
        raise PolicyError(path, "must be a finite number > 0")
    return number


def _minutes(value: Any, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(path, f"must be a whole number of minutes from {low} to {high}")
    return value


def rule_extras(obj: Mapping[str, Any], path: str, basis: str) -> dict[str, Any]:
    """The typed basis-specific keys of one rule (``window_minutes``, ``amount``, ``multiple``)."""
    extras: dict[str, Any] = {}
    if "window_minutes" in obj:
        extras["window_minutes"] = _minutes(
            obj["window_minutes"], f"{path}.window_minutes", 1, MAX_WINDOW_MINUTES
        )
    if "amount" in obj:
        extras["amount"] = _positive(obj["amount"], f"{path}.amount")
    if "multiple" in obj:
        multiple = _positive(obj["multiple"], f"{path}.multiple")
        if multiple < 1:
            raise PolicyError(f"{path}.multiple", "must be >= 1 (times the trailing average)")
        extras["multiple"] = multiple
    return extras


def parse_watchdog(
    value: Any, path: str, default_scope: str, project: Callable[[Any, str], str]
) -> WatchdogConfig:
    """Validate the ``watchdog`` section; ``default_scope``: the ledger's (host) project;
    ``project``: the policy's project-ID validator."""
    known = {"interval_minutes", "scope_project", "unknown_model_rate", "reconcile_tolerance"}
    if not isinstance(value, Mapping):
        raise PolicyError(path, "must be an object")
    for key in sorted(value.keys() - known):
        raise PolicyError(
            f"{path}.{key}", f"is not a known key (known: {', '.join(sorted(known))})"
        )
    scope = project(value.get("scope_project", default_scope), f"{path}.scope_project")
    rate = None
    if "unknown_model_rate" in value:
        raw = value["unknown_model_rate"]
        p = f"{path}.unknown_model_rate"
        if not isinstance(raw, Mapping) or set(raw) != {"input", "output"}:
            raise PolicyError(p, 'must be {"input": N, "output": N} (per 1M tokens)')
        rate = UnknownRate(
            _positive(raw["input"], f"{p}.input"), _positive(raw["output"], f"{p}.output")
        )
    tolerance = DEFAULT_TOLERANCE
    if "reconcile_tolerance" in value:
        tolerance = _positive(value["reconcile_tolerance"], f"{path}.reconcile_tolerance")
        if tolerance >= 1:
            raise PolicyError(
                f"{path}.reconcile_tolerance",
                "must be < 1 (a share of the billed cost: 0.2 = 20 %)",
            )
    interval = _minutes(
        value.get("interval_minutes", DEFAULT_INTERVAL), f"{path}.interval_minutes", 1, 60
    )
    return WatchdogConfig(scope, interval, rate, tolerance)
