"""The key audit: what each API key of a project is, what is wrong with it, and the fix. Pure.

Input: an API Keys v2 ``Key`` resource (REST JSON; its ``keyString`` is never read: the audit
never fetches key strings), the policy's Gemini ``services``, the key's requests in the last
``LOOKBACK_DAYS`` days per API from Monitoring (``None`` when that read failed: "unknown",
never 0), and the audit's clock. Output: a ``KeyReport`` (facts and findings) and, for
``audit --fix``, a ``Fix`` per key (restrict its API targets to what it called, or delete it).

Facts:
  - Gemini: ``functions.keyclass.classify`` decides (the one classifier);
  - application restriction: none, browser referrers, server IPs, Android apps, iOS apps
    (``_APP_RESTRICTIONS``): only IP addresses bind a server-side caller; referrer, Android
    package/certificate and iOS bundle checks read headers the caller sets;
  - kind: ``auth`` when the key is bound to a service account (``serviceAccountEmail``; Google
    gives those the ``AQ.`` prefix), else ``standard`` (``AIza``). Google's migration
    (``MIGRATION``): unrestricted standard keys refused by the Gemini API since 2026-06-19,
    every standard key from September 2026;
  - age (``createTime``), requests per API in the look-back, dormant (no request in the
    look-back and older than it), created for another API but able to reach Gemini (it called
    APIs in the look-back, none of them a Gemini service).

Findings come from ``_FINDINGS``, a table of (code, severity, holds, message, fix), in order.
Severities: ``high`` (exit 1: a key a leak turns into a Gemini bill), ``medium``, ``low``.

Fix (never adds an API, never acts on unknown usage, never leaves an empty target list, which
would mean "every API"):
  - a key that can reach Gemini and is dormant: soft-delete (undeletable for 30 days);
  - a key that called APIs in the look-back and can reach more than those: restrict its
    ``apiTargets`` to the APIs it called that it may call now (for an unrestricted key, every
    API it called).

Errors: none; a malformed resource is read as "no such restriction/field".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.keyclass import classify, gemini_services

__all__ = [
    "LOOKBACK_DAYS",
    "MIGRATION",
    "SEVERITIES",
    "Finding",
    "Fix",
    "KeyReport",
    "audit_key",
    "fix_for",
    "restricted",
    "worst",
]

LOOKBACK_DAYS = 30
OLD_DAYS = 365
SEVERITIES = ("high", "medium", "low")

# Restriction field -> (kind, binds a server-side caller?, why)
_APP_RESTRICTIONS: tuple[tuple[str, str, bool, str], ...] = (
    (
        "browserKeyRestrictions",
        "browser referrers",
        False,
        "the referrer check reads the Referer header, which any caller off a browser sets to "
        "whatever it likes",
    ),
    (
        "serverKeyRestrictions",
        "server IPs",
        True,
        "the IP check binds: a caller from another address is refused",
    ),
    (
        "androidKeyRestrictions",
        "Android apps",
        False,
        "the package name and certificate fingerprint are headers the caller sends; anyone "
        "who unpacks the app can send them",
    ),
    (
        "iosKeyRestrictions",
        "iOS apps",
        False,
        "the bundle id is a header the caller sends; anyone who unpacks the app can send it",
    ),
)

MIGRATION = {
    "standard": (
        "a standard key (AIza): the Gemini API refuses unrestricted standard keys since "
        "2026-06-19 and every standard key since September 2026; it still reaches the other "
        "APIs it allows"
    ),
    "auth": "an auth key (AQ.), bound to a service account: the kind the Gemini API accepts",
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    fix: str


@dataclass(frozen=True)
class KeyReport:
    """What the audit knows about one key, and what it found."""

    name: str
    uid: str
    display_name: str
    gemini: bool
    gemini_reason: str
    targets: tuple[str, ...]
    application: str
    application_binds: bool
    application_note: str
    kind: str
    service_account: str | None
    created: str | None
    age_days: int | None
    usage: Mapping[str, int] | None  # requests per API in the look-back; None: unknown
    usage_error: str | None
    dormant: bool | None
    foreign: bool | None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def requests(self) -> int | None:
        return None if self.usage is None else sum(self.usage.values())

    def data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uid": self.uid,
            "display_name": self.display_name,
            "can_call_gemini": self.gemini,
            "gemini_reason": self.gemini_reason,
            "api_targets": list(self.targets),
            "application_restriction": self.application,
            "application_restriction_binds": self.application_binds,
            "application_restriction_note": self.application_note,
            "kind": self.kind,
            "migration": MIGRATION[self.kind],
            "service_account": self.service_account,
            "created": self.created,
            "age_days": self.age_days,
            "requests_30d": None if self.usage is None else dict(sorted(self.usage.items())),
            "usage_error": self.usage_error,
            "dormant": self.dormant,
            "created_for_another_api": self.foreign,
            "findings": [f.__dict__ for f in self.findings],
        }


@dataclass(frozen=True)
class Fix:
    """What ``audit --fix`` does to one key: ``restrict`` to ``targets``, or ``delete``."""

    name: str
    action: str
    targets: tuple[str, ...]
    previous: Mapping[str, Any]  # the key's restrictions before the fix (restore puts them back)
    why: str


def _targets(key: Mapping[str, Any]) -> tuple[str, ...]:
    restrictions = key.get("restrictions")
    targets = restrictions.get("apiTargets") if isinstance(restrictions, Mapping) else None
    if not isinstance(targets, list):
        return ()
    return tuple(
        t["service"]
        for t in targets
        if isinstance(t, Mapping) and isinstance(t.get("service"), str)
    )


def _application(key: Mapping[str, Any]) -> tuple[str, bool, str]:
    restrictions = key.get("restrictions")
    if isinstance(restrictions, Mapping):
        for field_name, kind, binds, why in _APP_RESTRICTIONS:
            if isinstance(restrictions.get(field_name), Mapping):
                return kind, binds, why
    return "none", False, "any caller anywhere can use it"


def _age_days(created: Any, now: datetime) -> int | None:
    if not isinstance(created, str):
        return None
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, (now - moment).days)


Holds = Callable[[KeyReport], bool]

# (code, severity, holds, message template, fix). Templates see the report's fields.
_FINDINGS: tuple[tuple[str, str, Holds, str, str], ...] = (
    (
        "unrestricted",
        "high",
        lambda r: r.gemini and not r.targets,
        "no API restriction: it can call every API enabled in the project, Gemini included",
        "restrict its API targets to the APIs it calls (audit --fix uses its last 30 days)",
    ),
    (
        "dormant-gemini",
        "high",
        lambda r: r.gemini and bool(r.dormant),
        "can reach Gemini but made no request in 30 days: a leak would be the only user",
        "delete it (audit --fix soft-deletes it; undelete within 30 days)",
    ),
    (
        "created-for-another-api",
        "high",
        lambda r: r.gemini and bool(r.foreign),
        "called only {called} in 30 days, yet it can reach Gemini",
        "restrict its API targets to {called} (audit --fix)",
    ),
    (
        "caller-restriction-only",
        "medium",
        lambda r: r.gemini and r.application != "none" and not r.application_binds,
        "its {application} restriction does not stop a server-side caller: {application_note}",
        "keep Gemini calls on a server with an auth key restricted to the Gemini API; "
        "restrict this key's API targets to what the app needs",
    ),
    (
        "standard-key-gemini",
        "medium",
        lambda r: r.gemini and r.kind == "standard",
        "a standard key (AIza) that can reach Gemini: Google's migration to auth keys refuses "
        "standard keys on the Gemini API since September 2026",
        "move its Gemini callers to an auth key (AQ.) bound to a service account, then remove "
        "the Gemini targets from this one",
    ),
    (
        "unused-targets",
        "medium",
        lambda r: (
            bool(r.targets)
            and r.usage is not None
            and bool(r.usage)
            and not set(r.targets) <= set(r.usage)
        ),
        "allowed APIs it did not call in 30 days: {unused}",
        "restrict its API targets to {called} (audit --fix)",
    ),
    (
        "usage-unknown",
        "medium",
        lambda r: r.usage is None,
        "its requests in the last 30 days are unknown ({usage_error}): no fix is planned",
        "grant monitoring.timeSeries.list on the project (roles/monitoring.viewer) and re-run",
    ),
    (
        "dormant",
        "low",
        lambda r: not r.gemini and bool(r.dormant),
        "made no request in 30 days",
        "delete it if nothing needs it",
    ),
    (
        "old",
        "low",
        lambda r: r.age_days is not None and r.age_days >= OLD_DAYS,
        "created {age_days} days ago",
        "rotate it (rotate_keys makes a replacement with the same restrictions)",
    ),
)


def _fields(r: KeyReport) -> dict[str, Any]:
    called = ", ".join(sorted(r.usage or {})) or "nothing"
    unused = ", ".join(t for t in r.targets if t not in (r.usage or {}))
    return {**r.__dict__, "called": called, "unused": unused}


def audit_key(
    key: Mapping[str, Any],
    services: Collection[str],
    usage: Mapping[str, int] | None,
    now: datetime,
    usage_error: str | None = None,
) -> KeyReport:
    """Classify ``key`` and list its findings, most severe first."""
    verdict = classify(key, services)
    application, binds, note = _application(key)
    age = _age_days(key.get("createTime"), now)
    used = {api: n for api, n in (usage or {}).items() if n > 0}
    dormant = None if usage is None else (not used and (age is None or age >= LOOKBACK_DAYS))
    gemini = gemini_services(services)
    foreign = None if usage is None else (bool(used) and not gemini.intersection(used))
    account = key.get("serviceAccountEmail")
    report = KeyReport(
        name=str(key.get("name", "")),
        uid=str(key.get("uid", "")),
        display_name=str(key.get("displayName") or ""),
        gemini=verdict.selected,
        gemini_reason=verdict.reason,
        targets=_targets(key),
        application=application,
        application_binds=binds,
        application_note=note,
        kind="auth" if isinstance(account, str) and account else "standard",
        service_account=account if isinstance(account, str) and account else None,
        created=key.get("createTime") if isinstance(key.get("createTime"), str) else None,
        age_days=age,
        usage=None if usage is None else used,
        usage_error=usage_error if usage is None else None,
        dormant=dormant,
        foreign=foreign,
    )
    values = _fields(report)
    findings = [
        Finding(code, severity, message.format(**values), fix.format(**values))
        for code, severity, holds, message, fix in _FINDINGS
        if holds(report)
    ]
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))
    return KeyReport(**{**report.__dict__, "findings": tuple(findings)})


def worst(reports: Collection[KeyReport]) -> str | None:
    """The most severe finding's severity among ``reports``, or None."""
    found = {f.severity for r in reports for f in r.findings}
    return next((s for s in SEVERITIES if s in found), None)


def fix_for(report: KeyReport, key: Mapping[str, Any]) -> Fix | None:
    """What ``audit --fix`` does to this key (module docstring), or None."""
    if report.usage is None:
        return None  # unknown usage: never guess
    previous = key.get("restrictions") if isinstance(key.get("restrictions"), Mapping) else {}
    assert isinstance(previous, Mapping)
    if report.gemini and report.dormant:
        return Fix(report.name, "delete", (), previous, "can reach Gemini, no request in 30 days")
    called = sorted(report.usage)
    if not called:
        return None
    allowed = [api for api in called if not report.targets or api in report.targets]
    if not allowed or (report.targets and set(allowed) == set(report.targets)):
        return None
    why = (
        f"no API restriction; called {', '.join(called)} in 30 days"
        if not report.targets
        else f"allowed {', '.join(report.targets)}; called {', '.join(called)} in 30 days"
    )
    return Fix(report.name, "restrict", tuple(allowed), previous, why)


def restricted(previous: Mapping[str, Any], targets: Collection[str]) -> dict[str, Any]:
    """``previous`` restrictions narrowed to ``targets``: their own entries (methods kept) when
    the key was restricted, ``{"service": s}`` for an unrestricted one; the rest unchanged."""
    old = previous.get("apiTargets") if isinstance(previous.get("apiTargets"), list) else []
    assert isinstance(old, list)
    kept = [t for t in old if isinstance(t, Mapping) and t.get("service") in targets]
    if not kept:
        kept = [{"service": service} for service in sorted(targets)]
    return {**previous, "apiTargets": kept}
