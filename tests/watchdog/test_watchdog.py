"""Integration: the watchdog against the stand-in's Monitoring (the real gRPC client), the
Firestore emulator (buckets, state, ledger) and the real executor and actions (API Keys)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from functions.alerts import cloud_event
from functions.cli import main
from functions.prices import load_prices
from standin import StandIn
from tests.sample import BUDGET, alert
from tests.watchdog.world import PRO, T0, TOKENS_PER_DOLLAR, World, policy_doc

GEMINI_KEYS = {"3f9c2b1e-7a4d-4e8b-9c61-2d5f8a0b7e13", "b7e41d08-52c3-4f96-a1d7-6e0c9f3a8b25"}
INTERVAL = timedelta(minutes=5)
DELAY = timedelta(seconds=150)  # the stand-in's ingestion delay of Gemini metrics
ESTIMATE = {"name": "early", "basis": "estimate", "threshold": 0.5, "actions": ["notify"]}
RATE = {
    "name": "leak",
    "basis": "rate",
    "window_minutes": 10,
    "amount": 100,
    "actions": ["notify", "revoke_keys"],
}


@pytest.fixture
def world(
    monitoring_env: StandIn, firestore_emulator: object, unique_name: Callable[[str], str]
) -> Callable[..., World]:
    def make(rules: list[dict[str, Any]], **changes: Any) -> World:
        return World(monitoring_env, policy_doc(rules, unique_name("wd"), **changes))

    return make


def ticks(w: World, first: int, last: int, step: int = 5) -> list[dict[str, Any]]:
    return [w.tick(T0 + timedelta(minutes=m, seconds=2)) for m in range(first, last + 1, step)]


def test_a_150_dollar_a_minute_leak_is_acted_on_within_two_ticks_plus_the_delay(
    world: Callable[..., World],
) -> None:
    w = world([RATE])
    leak = T0 + timedelta(minutes=3)  # starts between two ticks
    w.burn(leak, 60, 150, key="b7e41d08-52c3-4f96-a1d7-6e0c9f3a8b25")
    acted_at = None
    for report in ticks(w, 5, 30):
        if report["results"] and acted_at is None:
            acted_at = report["tick"]
    assert acted_at is not None
    assert acted_at <= (leak + 2 * INTERVAL + DELAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert GEMINI_KEYS.isdisjoint(w.live_keys()), "revoke_keys deleted the Gemini keys"
    (record,) = w.records()  # one burst: acted on once however long the leak ran
    assert record["source"] == "watchdog" and record["rule"] == "leak"
    assert record["actions"]["revoke_keys"]["status"] == "done"
    assert "in the last 10 minutes >= 100" in record["reason"]
    # The key's requests (request_count, 180 s delay): 4 visible minutes x 60 requests.
    assert "busiest API key b7e41d08-52c3-4f96-a1d7-6e0c9f3a8b25: 240 requests" in record["reason"]
    (crossed,) = w.crossed()
    assert crossed["event"]["source"] == "watchdog" and crossed["project"] == "gemini-prod"
    # shared-infra is in the budget but protected and idle: nothing fires for it.
    assert all(r["project"] == "gemini-prod" for r in w.records())


def test_overlapping_and_repeated_reads_never_double_count(world: Callable[..., World]) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 40, 2)  # $2 a minute for 40 minutes: $80
    for m in (5, 5, 6, 10, 13, 13, 20, 25, 30, 31, 40, 45, 50, 55, 60):
        report = w.tick(T0 + timedelta(minutes=m))
    assert w.estimate(report) == Decimal(80)
    assert report["estimates"][BUDGET]["shared-infra"] == 0


def test_a_missed_hour_is_caught_up_from_the_last_bucket(world: Callable[..., World]) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 120, 1)
    w.tick(T0 + timedelta(minutes=5))
    late = w.tick(T0 + timedelta(minutes=95))  # the Scheduler missed 17 ticks
    assert late["minutes_read"] > 90
    # Every minute visible by then (the delay hides the last few) is counted exactly once.
    assert w.estimate(late) == Decimal(92)
    final = w.tick(T0 + timedelta(minutes=140))
    assert w.estimate(final) == Decimal(120)


def test_an_unknown_model_is_priced_at_the_dearest_rate_and_named(
    world: Callable[..., World],
) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 5, 1, model="gemini-9-ultra-image")  # 100,000 output tokens a minute
    report = w.tick(T0 + timedelta(minutes=10))
    dearest = max(load_prices().lookup(m)[0].top_output for m in load_prices().models)
    assert dearest > 10
    assert w.estimate(report) == 5 * TOKENS_PER_DOLLAR * dearest / 1_000_000
    assert report["unknown_models"] == ["gemini-9-ultra-image"]
    (warning,) = [r for r in w.lines() if r["severity"] == "WARNING"]
    assert "gemini-9-ultra-image" in warning["message"]


def test_an_estimate_rule_fires_once_per_period(world: Callable[..., World]) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 30, 30)  # $900 in half an hour: past 50 % of $1,000 after ~17 minutes
    ticks(w, 5, 50)
    assert len(w.crossed()) == 2  # gemini-prod and (protected: notify only) shared-infra
    assert {r["period"] for r in w.records()} == {"2026-11-01T07:00:00Z"}
    assert all("watchdog estimate" in r["reason"] for r in w.records())


def test_a_rate_rule_fires_on_a_burst_and_not_on_steady_use_below_it(
    world: Callable[..., World],
) -> None:
    w = world([RATE])
    w.burn(T0, 90, 8)  # $80 per 10 minutes, all day long: under the $100 bar
    ticks(w, 5, 60)
    assert w.records() == [] and set(w.live_keys()) >= GEMINI_KEYS
    w.burn(T0 + timedelta(minutes=60), 10, 30)  # a burst on top
    ticks(w, 65, 85)
    (record,) = w.records()
    assert record["rule"] == "leak" and record["period"] >= "2026-11-30T11:05:00Z"


def test_reconciliation_logs_the_ratio_and_raises_the_error_when_short(
    world: Callable[..., World],
) -> None:
    w = world([ESTIMATE])
    w.tick(datetime(2026, 11, 1, 7, 5, tzinfo=UTC))  # counting since the period began
    w.burn(T0, 20, 10)  # $200
    ticks(w, 5, 30)
    # The bill agrees within 20 %: INFO with the ratio.
    w.guard.handle(cloud_event(alert(220).message("bill-1")))
    (ok,) = [r for r in w.lines() if r["message"] == "watchdog reconciliation"]
    assert ok["severity"] == "INFO" and ok["ratio"] == "0.9091" and ok["estimate"] == "200"
    # The bill is far above the estimate: the watchdog under-estimates, an ERROR.
    w.guard.handle(cloud_event(alert(400).message("bill-2")))
    (short,) = [r for r in w.lines() if r["severity"] == "ERROR"]
    assert "below the billed cost 400" in short["message"] and short["ratio"] == "0.5"
    stored = w.watchdog._client("state").reconciliation(BUDGET)
    assert stored["ratio"] == "0.5" and stored["short"] is True and stored["message_id"] == "bill-2"


def test_reconciliation_does_not_page_when_the_watchdog_started_mid_period(
    world: Callable[..., World],
) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 20, 10)
    ticks(w, 5, 30)  # first tick on the 30th: the month's first four weeks were never seen
    w.guard.handle(cloud_event(alert(900).message("bill-1")))
    (line,) = [r for r in w.lines() if r["message"] == "watchdog reconciliation"]
    assert line["ratio"] == "0.2222" and line["complete"] is False
    assert not [r for r in w.lines() if r["severity"] == "ERROR"]


def test_prices_follow_the_usage_date(world: Callable[..., World]) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 1, 1, model=PRO)
    report = w.tick(T0 + timedelta(minutes=10))
    price, known = load_prices().lookup(PRO, T0.date())
    assert known and w.estimate(report) == TOKENS_PER_DOLLAR * price.output / 1_000_000


def test_status_shows_the_last_tick_the_estimates_and_the_last_reconciliation(
    world: Callable[..., World], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 10, 10)  # $100
    ticks(w, 5, 20)
    w.guard.handle(cloud_event(alert(125).message("bill-1")))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(w.doc))
    assert main(["status", "--policy", str(path)]) == 0
    out = capsys.readouterr().out
    assert "usage watchdog: last tick 2026-11-30T10:20:00Z" in out and "STALE" in out
    assert f"budget {BUDGET}: estimate 100.00 of 1000 USD" in out
    assert re.search(r"gemini-prod +100\.00\n", out) and re.search(r"shared-infra +0\.00\n", out)
    assert "billed 125, estimate 100.00, ratio 0.8" in out
    assert main(["status", "--policy", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)["watchdog"]
    assert doc["budgets"][BUDGET]["projects"]["gemini-prod"] == "100.00"
    assert doc["reconciliation"][BUDGET]["ratio"] == "0.8"


def test_a_budget_in_euros_is_estimated_in_euros_at_the_catalogs_rate(
    world: Callable[..., World],
) -> None:
    budgets = {BUDGET: {"projects": ["gemini-prod"], "currency": "EUR", "amount": 1000}}
    w = world([ESTIMATE], budgets=budgets, protected_projects=[])
    w.burn(T0, 10, 10)  # $100 of gemini-2.5-pro output
    report = ticks(w, 5, 20)[-1]
    assert w.estimate(report) == Decimal("92.00")  # the stand-in's Catalog: 0.92 EUR per USD
    (line,) = [r for r in w.lines() if r["message"] == "watchdog estimate"][-1:]
    assert line["currency"] == "EUR" and line["estimate"] == 92.0
    # The daily drift check (USD), then the EUR table: once each for all four ticks.
    assert [c["status"] for c in w.standin.calls("cloudbilling.services.skus.list")] == [200, 200]
    assert not [r for r in w.lines() if r["severity"] == "WARNING"]


def test_after_budget_guard_restore_a_new_burst_acts_again(
    world: Callable[..., World], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = world([RATE])
    w.burn(T0, 15, 150)  # a leak...
    ticks(w, 5, 20)
    (first,) = w.records()
    assert GEMINI_KEYS.isdisjoint(w.live_keys())
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(w.doc))
    code = main(["restore", "--policy", str(path), "--project", "gemini-prod", "--yes"])
    assert code == 0, capsys.readouterr()
    assert set(w.live_keys()) >= GEMINI_KEYS, "restore undeleted the revoked keys"
    # The restore is at real time: put the simulated ticks after it.
    restored_at = datetime.fromisoformat(w.ledger.get(first["crossing"])["restored_at"])
    later = restored_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    quiet = w.tick(later + timedelta(minutes=2))  # the old spend is not counted again
    assert quiet["results"] == [] and len(w.records()) == 1
    w.burn(later, 15, 150)  # the same key leaks again after the restore
    for m in (5, 10):
        w.tick(later + timedelta(minutes=m))
    second = [r for r in w.records() if r["crossing"] != first["crossing"]]
    assert len(second) == 1 and second[0]["actions"]["revoke_keys"]["status"] == "done"
    assert GEMINI_KEYS.isdisjoint(w.live_keys())


def test_check_tests_the_watchdogs_read_permissions_on_the_metrics_scope(
    world: Callable[..., World], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = world([ESTIMATE], watchdog={"scope_project": "demo-budget-guard"})
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(w.doc))
    main(["check", "--policy", str(path), "--json"])
    checks = {c["check"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["iam watchdog"]["status"] == "PASS"
    state = w.standin.state
    state["projects"]["demo-budget-guard"]["granted_permissions"] = ["monitoring.timeSeries.list"]
    w.standin.set_state(state)
    main(["check", "--policy", str(path)])
    out = capsys.readouterr().out
    assert (
        "FAIL  iam watchdog: missing monitoring.metricDescriptors.list (needed by watchdog)" in out
    )


def test_a_read_monitoring_refuses_is_one_error_and_the_next_tick_catches_up(
    world: Callable[..., World],
) -> None:
    w = world([ESTIMATE])
    w.burn(T0, 20, 1)
    w.tick(T0 + timedelta(minutes=5))
    w.standin.add_fault("monitoring.projects.timeSeries.list", "403", calls=[1])
    refused = T0 + timedelta(minutes=10)
    w.standin.set_clock(refused)
    event = {"data": "", "messageId": "tick-1", "publishTime": "2026-11-30T10:10:00Z"}
    assert w.watchdog.handle(cloud_event(event)) == {}  # acknowledged: a retry fails the same
    (error,) = [r for r in w.lines() if r["severity"] == "ERROR"]
    assert error["message"].startswith("watchdog tick failed: Monitoring")
    assert "roles/monitoring.viewer" in error["remedy"] and error["tick"] == "2026-11-30T10:10:00Z"
    assert len([r for r in w.lines() if r["message"] == "watchdog tick"]) == 1  # the good one
    w.standin.clear_faults()
    report = w.tick(T0 + timedelta(minutes=35))  # 20 minutes after the last good tick
    assert report["minutes_read"] > 15  # from the last good tick's window: nothing lost
    assert w.estimate(report) == Decimal(20)
