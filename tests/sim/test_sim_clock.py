"""One simulated clock: the stand-in's (set by the drivers) dates Gemini's quota minutes and
usage records, and Monitoring shows a minute's points only after its ingestion delay on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sim.monitoring_feed import MonitoringFeed
from standin import StandIn
from standin.gemini import Shape

KEY = "AIzaSyFAKE-sim-clock-key-0000000000001"
T0 = datetime(2026, 11, 12, 1, 0, tzinfo=UTC)
TOKENS = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"
WORLD = {
    "projects": {
        "gemini-prod": {
            "number": "123456789012",
            "billing_account": "billingAccounts/01D4EE-079462-DFD6EC",
            "services": {"generativelanguage.googleapis.com": "ENABLED"},
            "keys": [{"uid": "u-1", "keyString": KEY}],
        }
    }
}


def _visible(standin: StandIn, at: datetime) -> list[int]:
    series = standin.world.monitoring.series(TOKENS, "gemini-prod", at, lambda p: p)
    return [value for s in series for _end, value in s.points]


def test_usage_lands_on_the_simulated_minute_and_shows_after_the_ingestion_delay() -> None:
    with StandIn(WORLD) as standin:
        standin.world.gemini.sinks.append(MonitoringFeed(standin.world.monitoring))
        standin.set_clock(T0 + timedelta(seconds=30))  # mid-minute: the bucket is 01:00
        assert standin.now() == T0 + timedelta(seconds=30)
        standin.traffic(KEY, Shape("gemini-2.5-flash", 100, 40), 10)
        standin.traffic(KEY, Shape("gemini-2.5-flash", 100, 40), 5)  # added to the same minute
        delay = standin.world.monitoring.delay(TOKENS)
        assert delay == timedelta(seconds=150)
        end = T0 + timedelta(minutes=1)
        assert _visible(standin, end + delay - timedelta(seconds=1)) == []
        assert _visible(standin, end + delay) == [600]


def test_a_new_minute_of_the_clock_opens_a_new_quota_window() -> None:
    with StandIn(WORLD) as standin:
        standin.world.gemini.quotas.set(
            "gemini-prod", "GenerateRequestsPerMinutePerProjectPerModel", "*", 10
        )
        shape = Shape("gemini-2.5-flash", 1, 1)
        standin.set_clock(T0)
        assert standin.traffic(KEY, shape, 15).accepted == 10
        standin.set_clock(T0 + timedelta(seconds=59))
        assert standin.traffic(KEY, shape, 1).accepted == 0
        standin.set_clock(T0 + timedelta(minutes=1))
        assert standin.traffic(KEY, shape, 15).accepted == 10
