"""The key audit's classification and fixes, on the key zoo (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions import keyaudit
from tests import keyzoo

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SERVICES = ("generativelanguage.googleapis.com",)


def _report(n: int, usage: dict[str, int] | None = None) -> keyaudit.KeyReport:
    key = keyzoo.key(n)
    return keyaudit.audit_key(
        key, SERVICES, keyzoo.USAGE.get(n, {}) if usage is None else usage, NOW
    )


@pytest.mark.parametrize("n", sorted(keyzoo.EXPECTED))
def test_each_zoo_key_is_classified_as_expected(n: int) -> None:
    gemini, application, kind, codes = keyzoo.EXPECTED[n]
    report = _report(n)
    assert (report.gemini, report.application, report.kind) == (gemini, application, kind)
    assert {f.code for f in report.findings} == codes
    assert [f.severity for f in report.findings] == sorted(
        (f.severity for f in report.findings), key=keyaudit.SEVERITIES.index
    )


@pytest.mark.parametrize("n", sorted(keyzoo.EXPECTED))
def test_each_zoo_key_gets_the_planned_fix(n: int) -> None:
    key = keyzoo.key(n)
    fix = keyaudit.fix_for(_report(n), key)
    want = keyzoo.FIXES.get(n)
    assert (None if fix is None else (fix.action, fix.targets)) == want
    if fix is not None:
        assert fix.previous == key.get("restrictions", {})


def test_only_ip_restrictions_bind_a_server_side_caller() -> None:
    binds = {_report(n).application: _report(n).application_binds for n in (2, 3, 4, 5)}
    assert binds == {
        "browser referrers": False,
        "server IPs": True,
        "Android apps": False,
        "iOS apps": False,
    }


def test_unknown_usage_is_never_zero_and_gets_no_fix() -> None:
    key = keyzoo.key(6)
    report = keyaudit.audit_key(key, SERVICES, None, NOW, "Monitoring read failed: 503")
    assert report.dormant is None and report.requests is None
    assert "usage-unknown" in {f.code for f in report.findings}
    assert "dormant-gemini" not in {f.code for f in report.findings}
    assert keyaudit.fix_for(report, key) is None


def test_a_key_younger_than_the_lookback_is_not_dormant() -> None:
    assert _report(8).dormant is False
    assert _report(6).dormant is True


def test_a_fix_never_adds_an_api_and_keeps_method_restrictions() -> None:
    previous = {
        "iosKeyRestrictions": {"allowedBundleIds": ["x"]},
        "apiTargets": [
            {"service": "a.googleapis.com", "methods": ["M"]},
            {"service": "b.googleapis.com"},
        ],
    }
    narrowed = keyaudit.restricted(previous, ("a.googleapis.com",))
    assert narrowed == {
        "iosKeyRestrictions": {"allowedBundleIds": ["x"]},
        "apiTargets": [{"service": "a.googleapis.com", "methods": ["M"]}],
    }
    key = {"name": "k", "uid": "u", "restrictions": previous, "createTime": "2026-01-01T00:00:00Z"}
    report = keyaudit.audit_key(key, SERVICES, {"c.googleapis.com": 5}, NOW)
    assert keyaudit.fix_for(report, key) is None  # it called only an API it may not call


def test_worst_severity_decides_the_exit_status() -> None:
    assert keyaudit.worst([_report(7), _report(3)]) == "medium"
    assert keyaudit.worst([_report(7), _report(1)]) == "high"
    assert keyaudit.worst([_report(7)]) is None


def test_a_report_never_holds_a_key_string() -> None:
    seed = keyzoo.world()["projects"][keyzoo.PROJECT]["keys"]
    for n in keyzoo.EXPECTED:
        key = {**keyzoo.key(n)}
        key["keyString"] = seed[n - 1]["keyString"]  # even if a caller passed one in
        report = keyaudit.audit_key(key, SERVICES, keyzoo.USAGE.get(n, {}), NOW)
        assert seed[n - 1]["keyString"] not in str(report.data())
