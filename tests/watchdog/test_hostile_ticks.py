"""Unit: hostile or odd watchdog ticks (review): logged with a reason and acknowledged, never
looping on redelivery, never acting, never moving the state so later real ticks skip usage."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.alerts import cloud_event
from tests.watchdog.test_rules_unit import ESTIMATE, RATE, T0, Usage, lines, make


def _tick(publish_time: Any, **extra: Any) -> Any:
    message = {"data": "dGljaw==", "messageId": "t-1", **extra}
    if publish_time is not None:
        message["publishTime"] = publish_time
    return cloud_event(message)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (cloud_event({"data": "dGljaw==", "publishTime": "2026-11-30T10:05:00Z"}, "x.y"), "type"),
        (_tick(None), "no publishTime"),
        (_tick("yesterday"), "RFC 3339"),
        (_tick(12345), "string"),
        (_tick("0001-01-01T00:00:00Z"), "publishTime"),
        (_tick("9999-12-31T23:59:59Z"), "publishTime"),
    ],
)
def test_a_malformed_tick_is_logged_with_its_reason_and_acknowledged(
    event: Any, reason: str
) -> None:
    usage = Usage()
    dog, ledger, out = make(RATE, usage)
    assert dog.handle(event) == {}
    (line,) = lines(out)
    assert line["severity"] == "WARNING" and reason in line["message"], line
    assert usage.reads == [] and ledger.records() == []


def _at(moment: Any) -> Any:
    return _tick(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def test_a_tick_from_the_future_is_refused_and_later_ticks_still_catch_up() -> None:
    """Pub/Sub sets publishTime: one ahead of the instance's clock is forged. Accepted, it moved
    ``last_tick`` a month ahead, so after missed ticks the real ones no longer caught up."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    usage = Usage()
    dog, ledger, out = make(RATE, usage)
    dog.handle(_at(now - timedelta(hours=2)))  # a real tick, then an hour of missed ones
    assert dog.handle(_at(now + timedelta(days=30))) == {}
    warning = lines(out)[-1]
    assert warning["severity"] == "WARNING" and "ahead of" in warning["message"], warning
    assert dog._client("state").state().last_tick == now - timedelta(hours=2)
    report = dog.handle(_at(now))
    assert report["minutes_read"] == 2 * 60 + 15  # from the last real tick's window
    assert ledger.records() == []


def test_a_simulated_clock_accepts_future_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDGET_GUARD_SIMULATED_TIME", "1")
    dog, _, _ = make(RATE, Usage())
    later = datetime.now(UTC) + timedelta(days=30)
    assert dog.handle(_at(later))["tick"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")


BRAKE = [{**ESTIMATE[0], "actions": ["disable_billing"]}]


THROTTLE = {"quotas": [{"family": "requests_per_minute", "value": 1}]}


@pytest.mark.parametrize("brake", ["disable_billing", "throttle"])
@pytest.mark.parametrize(
    ("changes", "status"),
    [({"dry_run": True}, "would_run"), ({"protected_projects": ["gemini-prod"]}, "skipped")],
)
def test_a_watchdog_firing_in_dry_run_or_on_a_protected_project_changes_nothing(
    brake: str, changes: dict[str, Any], status: str
) -> None:
    usage = Usage()
    usage.burn(T0, 10, 100)
    rules = [{**BRAKE[0], "actions": [brake]}]
    # No GCP endpoint nor credentials: a brake that ran would fail, not answer done.
    dog, ledger, _ = make(rules, usage, throttle=THROTTLE, **changes)
    report = dog.tick(T0 + timedelta(minutes=9))
    (record,) = ledger.records()
    assert record["source"] == "watchdog"
    assert record["actions"][brake]["status"] == status, record
    assert [r["actions"][brake]["status"] for r in report["results"]] == [status]


def test_a_redelivered_tick_and_two_ticks_at_once_act_once() -> None:
    usage = Usage()
    usage.burn(T0, 10, 100)
    dog, ledger, _ = make(RATE, usage)
    tick = T0 + timedelta(minutes=9)
    with ThreadPoolExecutor(2) as pool:  # two instances, the same minute
        list(pool.map(dog.tick, [tick, tick + timedelta(seconds=30)]))
    dog.tick(tick)  # Pub/Sub redelivers it
    dog.tick(tick + timedelta(minutes=5))  # the same burst, still hot
    (record,) = ledger.records()
    assert record["rule"] == "burst" and record["actions"]["notify"]["status"] == "done"


def test_a_restore_is_not_undone_by_the_spend_that_tripped_it_a_tick_later() -> None:
    """After a restore the window counts only the spend since it, on every tick until the
    window has passed, not just the first (a quiet first tick dropped the burst, and the next
    tick's window counted the pre-restore spend again: a new burst, the brake again)."""
    hourly = [{**RATE[0], "window_minutes": 60}]
    usage = Usage()
    usage.burn(T0, 10, 100)  # the leak, stopped at 10:10
    dog, ledger, _ = make(hourly, usage)
    for minutes in (5, 10):
        dog.tick(T0 + timedelta(minutes=minutes))
    (first,) = ledger.records()
    restore = (T0 + timedelta(minutes=12)).isoformat()
    ledger.annotate(first["crossing"], lambda r: r.update(restored_at=restore))
    for minutes in range(15, 76, 5):  # quiet after the restore, the hour's window still holds it
        dog.tick(T0 + timedelta(minutes=minutes))
    assert len(ledger.records()) == 1, [r["period"] for r in ledger.records()]
    usage.burn(T0 + timedelta(minutes=80), 10, 100)  # a new leak after the restore: acts again
    dog.tick(T0 + timedelta(minutes=85))
    assert len(ledger.records()) == 2


def test_a_permanent_read_failure_is_one_error_with_its_remedy_and_acknowledged() -> None:
    """Monitoring refusing for good (403, no such metric) is ActionFailed: it escaped the tick,
    so the function answered 500 with no ERROR line naming the fix, and Pub/Sub redelivered
    the tick for as long as the topic kept it. The next tick catches up from the last one."""
    from functions.errors import ActionFailed

    usage = Usage()

    def refused(start: Any, end: Any) -> Any:
        raise ActionFailed("Monitoring answered 403", "grant monitoring.timeSeries.list")

    usage.tokens = refused  # type: ignore[method-assign]
    dog, ledger, out = make(RATE, usage)
    now = datetime.now(UTC)
    assert dog.handle(_at(now)) == {}
    (line,) = [x for x in lines(out) if x["severity"] == "ERROR"]
    assert "Monitoring answered 403" in line["message"]
    assert line["remedy"] == "grant monitoring.timeSeries.list"
    assert ledger.records() == [] and dog._client("state").state().last_tick is None


def test_a_tick_redelivered_after_a_newer_one_does_not_split_the_burst() -> None:
    """A redelivered tick is older than the last one: it moved the burst's ``last_hot`` back,
    so the next tick found a window of quiet that never was and braked a second time."""
    usage = Usage()
    usage.burn(T0, 60, 5)  # one steady leak: $50 per 10 minutes, over the $20 bar
    dog, ledger, _ = make(RATE, usage)
    for minutes in (5, 10):
        dog.tick(T0 + timedelta(minutes=minutes))
    dog.tick(T0 + timedelta(minutes=5))  # Pub/Sub redelivers the 10:05 tick
    dog.tick(T0 + timedelta(minutes=15))
    assert [r["period"] for r in ledger.records()] == ["2026-11-30T10:05:00Z"]


def test_a_tick_within_the_clock_skew_is_taken() -> None:
    dog, _, _ = make(RATE, Usage())
    soon = datetime.now(UTC) + timedelta(minutes=2)
    assert dog.handle(_at(soon))["tick"] == soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    dog, _, out = make(RATE, Usage())
    assert dog.handle(_at(soon + timedelta(minutes=10))) == {}
    assert "ahead of" in lines(out)[-1]["message"]
