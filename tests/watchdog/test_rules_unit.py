"""Unit: the watchdog's policy keys, pricing, settling and rules, with in-memory usage (no I/O).

The integration tests (test_watchdog.py) drive the same code through the stand-in's Monitoring
and the Firestore emulator; these pin the arithmetic and the validation messages.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.errors import PolicyError
from functions.executor import Executor
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from functions.prices import load_prices
from functions.watchdog import spend
from functions.watchdog.pricing import price
from functions.watchdog.state import MemoryWatchdogStore
from functions.watchdog.tick import Watchdog
from functions.watchdog.usage import TokenUsage
from tests.sample import BUDGET, policy_doc

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PRO = "gemini-2.5-pro"  # $1.25 in / $10 out per 1M tokens


def watchdog_policy(rules: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    budgets = {BUDGET: {"projects": ["gemini-prod"], "amount": 1000, "currency": "USD"}}
    return policy_doc(**{"budgets": budgets, "rules": rules, "watchdog": {}, **changes})


class Usage:
    """Monitoring and the bucket store in one dict: (project, model, minute) -> tokens."""

    def __init__(self) -> None:
        self.points: dict[tuple[str, str, datetime], tuple[int, int]] = {}
        self.buckets: dict[tuple[str, str, datetime], TokenUsage] = {}
        self.reads: list[tuple[datetime, datetime]] = []

    def burn(
        self, start: datetime, minutes: int, dollars_per_minute: int, model: str = PRO
    ) -> None:
        for i in range(minutes):
            # $10 per 1M output tokens: 100,000 tokens a dollar.
            self.points[("gemini-prod", model, start + timedelta(minutes=i))] = (
                0,
                dollars_per_minute * 100_000,
            )

    # Reader
    def tokens(self, start: datetime, end: datetime) -> list[TokenUsage]:
        self.reads.append((start, end))
        return [
            TokenUsage(p, m, minute, i, o)
            for (p, m, minute), (i, o) in self.points.items()
            if start <= minute < end
        ]

    def key_requests(self, start: datetime, end: datetime) -> list[Any]:
        return []

    def keys_between(self, projects: Any, start: datetime, end: datetime) -> list[Any]:
        return []

    # Buckets
    def write_tokens(self, rows: list[TokenUsage]) -> None:
        for r in rows:
            self.buckets[(r.project, r.model, r.minute)] = r

    def write_keys(self, rows: list[Any]) -> None:
        pass

    def tokens_between(self, projects: Any, start: datetime, end: datetime) -> list[TokenUsage]:
        return [r for r in self.buckets.values() if start <= r.minute < end]

    def last_minute(self) -> datetime | None:
        return max((r[1] for r in self.reads), default=None)


def make(
    rules: list[dict[str, Any]], usage: Usage, **changes: Any
) -> tuple[Watchdog, MemoryLedger, io.StringIO]:
    policy = parse_policy(json.loads(json.dumps(watchdog_policy(rules, **changes))))
    out = io.StringIO()
    log = Logger(stream=out)
    ledger = MemoryLedger()
    executor = Executor(policy, lambda: ledger, log)
    store = MemoryWatchdogStore()
    dog = Watchdog(
        policy, executor, lambda: usage, lambda: usage, lambda: store, log=log, catalog=None
    )
    return dog, ledger, out


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.getvalue().splitlines()]


ESTIMATE = [{"name": "est", "basis": "estimate", "threshold": 0.5, "actions": ["notify"]}]
RATE = [
    {"name": "burst", "basis": "rate", "window_minutes": 10, "amount": 20, "actions": ["notify"]}
]


def test_policy_rejects_watchdog_rules_without_the_keys_they_need() -> None:
    cases = [
        (
            watchdog_policy([{"name": "r", "basis": "rate", "amount": 5, "actions": ["notify"]}]),
            "rules[0].window_minutes",
        ),
        (watchdog_policy([{**RATE[0], "threshold": 1}]), "rules[0].threshold"),
        (watchdog_policy([{**RATE[0], "window_minutes": 0}]), "rules[0].window_minutes"),
        (policy_doc(rules=ESTIMATE, watchdog={}), f"budgets.{BUDGET}.amount"),
        (
            policy_doc(
                budgets={BUDGET: {"projects": ["gemini-prod"], "amount": 10}}, rules=ESTIMATE
            ),
            "rules[0].basis",
        ),
        (
            watchdog_policy(ESTIMATE, watchdog={"reconcile_tolerance": 1.5}),
            "watchdog.reconcile_tolerance",
        ),
        (
            watchdog_policy(ESTIMATE, watchdog={"unknown_model_rate": {"input": 1}}),
            "watchdog.unknown_model_rate",
        ),
        (watchdog_policy(ESTIMATE, watchdog={"interval": 5}), "watchdog.interval"),
        (watchdog_policy([{**RATE[0], "basis": "baseline"}]), "rules[0].multiple"),
    ]
    for doc, path in cases:
        with pytest.raises(PolicyError) as err:
            parse_policy(doc)
        assert err.value.path == path, (path, str(err.value))


def test_pricing_uses_the_uncached_rate_and_never_prices_an_unknown_model_at_zero() -> None:
    prices = load_prices()
    rows = [
        TokenUsage("gemini-prod", PRO, T0, 1_000_000, 1_000_000),
        TokenUsage("gemini-prod", "gemini-9-ultra", T0, 0, 1_000_000),
    ]
    priced = price(rows, prices)
    assert priced.unknown == {"gemini-9-ultra"}
    dearest = max(prices.lookup(m)[0].top_output for m in prices.models)
    assert priced.cost[("gemini-prod", T0)] == Decimal("1.25") + Decimal("10") + dearest


def test_repeated_and_overlapping_ticks_never_double_count() -> None:
    usage = Usage()
    usage.burn(T0, 60, 1)  # $1 a minute for an hour
    dog, _, _ = make(ESTIMATE, usage)
    for minutes in range(5, 61, 5):
        for _ in range(2):  # every tick delivered twice
            report = dog.tick(T0 + timedelta(minutes=minutes, seconds=7))
        assert report["estimates"][BUDGET]["gemini-prod"] == Decimal(min(minutes + 1, 60))


def test_a_missed_hour_is_caught_up_from_the_last_bucket() -> None:
    usage = Usage()
    usage.burn(T0, 120, 1)
    dog, _, _ = make(ESTIMATE, usage)
    dog.tick(T0 + timedelta(minutes=5))
    report = dog.tick(T0 + timedelta(minutes=90))  # 85 minutes without a tick
    assert report["minutes_read"] > 80
    assert report["estimates"][BUDGET]["gemini-prod"] == Decimal(91)


def test_estimate_rule_fires_once_per_period_and_again_in_the_next() -> None:
    usage = Usage()
    usage.burn(T0, 30, 100)  # $100 a minute: past $500 in the first ticks
    dog, ledger, out = make(ESTIMATE, usage)
    for minutes in (5, 10, 15, 20):
        dog.tick(T0 + timedelta(minutes=minutes))
    crossed = [r for r in lines(out) if r["message"].startswith("budget threshold crossed")]
    assert len(crossed) == 1 and "watchdog estimate 600 USD of budget 1000" in crossed[0]["message"]
    (record,) = ledger.records()
    assert record["source"] == "watchdog" and record["period"] == "2026-11-01T07:00:00Z"
    usage.burn(datetime(2026, 12, 2, tzinfo=UTC), 10, 100)
    dog.tick(datetime(2026, 12, 2, 0, 9, tzinfo=UTC))
    assert sorted(r["period"] for r in ledger.records()) == [
        "2026-11-01T07:00:00Z",
        "2026-12-01T08:00:00Z",
    ]


def test_rate_fires_on_a_burst_once_and_not_on_steady_use_below_it() -> None:
    usage = Usage()
    usage.burn(T0, 120, 1)  # $1/min: $10 per 10 minutes, under the $20 bar
    dog, ledger, _ = make(RATE, usage)
    for minutes in range(5, 121, 5):
        dog.tick(T0 + timedelta(minutes=minutes))
    assert ledger.records() == []
    usage.burn(T0 + timedelta(minutes=120), 30, 5)  # a burst: $50 per 10 minutes
    for minutes in range(125, 151, 5):
        dog.tick(T0 + timedelta(minutes=minutes))
    (record,) = ledger.records()
    assert record["rule"] == "burst" and record["period"] == "2026-11-30T12:05:00Z"
    usage.burn(T0 + timedelta(minutes=200), 10, 5)  # a second burst after an hour of quiet
    for minutes in range(160, 216, 5):
        dog.tick(T0 + timedelta(minutes=minutes))
    assert len(ledger.records()) == 2


def test_after_a_restore_a_new_burst_fires_but_not_on_the_spend_that_tripped_it() -> None:
    usage = Usage()
    usage.burn(T0, 60, 5)  # a steady leak: one burst however long it lasts
    dog, ledger, _ = make(RATE, usage)
    for minutes in range(5, 31, 5):
        dog.tick(T0 + timedelta(minutes=minutes))
    (first,) = ledger.records()
    ledger.annotate(
        first["crossing"], lambda r: r.update(restored_at=(T0 + timedelta(minutes=30)).isoformat())
    )
    dog.tick(T0 + timedelta(minutes=32))  # 1 minute of spend since the restore: under the bar
    assert len(ledger.records()) == 1
    dog.tick(T0 + timedelta(minutes=40))  # the leak goes on after the restore: a new burst
    assert len(ledger.records()) == 2


def test_logs_the_tick_and_one_estimate_line_per_budget_and_project() -> None:
    usage = Usage()
    usage.burn(T0, 10, 2, model="gemini-9-ultra")
    dog, _, out = make(ESTIMATE, usage)
    dog.tick(T0 + timedelta(minutes=5, seconds=30))
    records = lines(out)
    (tick,) = [r for r in records if r["message"] == "watchdog tick"]
    assert tick["tick"] == "2026-11-30T10:05:30Z" and tick["projects"] == 1
    assert tick["minutes_read"] == 15
    (estimate,) = [r for r in records if r["message"] == "watchdog estimate"]
    assert isinstance(estimate["estimate"], float) and estimate["budget_amount"] == 1000.0
    assert estimate["currency"] == "USD" and estimate["budget"] == BUDGET
    (warning,) = [r for r in records if r["severity"] == "WARNING"]
    assert "gemini-9-ultra" in warning["message"]


def test_budget_notifications_ignore_watchdog_rules() -> None:
    from functions.decision import decide
    from functions.notification import parse
    from tests.sample import alert

    policy = parse_policy(watchdog_policy([*ESTIMATE, *RATE]))
    n = parse(
        alert(99999, alert_threshold=1.0).message("m"), policy.billing_account, policy.budgets
    )
    assert decide(n, policy) == []
    assert spend.period_start(T0).isoformat() == "2026-11-01T07:00:00+00:00"


def test_the_watchdog_imports_no_google_client_before_its_first_tick() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = (
        "import json, sys\n"
        "import functions_framework\n"
        "before = set(sys.modules)\n"
        "import main\n"
        "from functions.watchdog import tick, rules, pricing, spend, state, reconcile\n"
        "w = tick.Watchdog(main._guard.policy, main._guard.executor)\n"
        "roots = ('google', 'grpc', 'requests', 'urllib3', 'proto')\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in roots)))\n"
    )
    doc = json.dumps(watchdog_policy([*ESTIMATE, *RATE]))
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        env={"BUDGET_GUARD_POLICY": doc, "PYTHONPATH": str(root), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_baseline_fires_on_a_spike_over_the_trailing_week_and_not_on_normal_use() -> None:
    usage = Usage()
    now = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # noon Pacific
    today = spend.day_start(now)
    for i in range(7 * 24):  # the week before today, $0.50 a minute (hour rows, as the store)
        hour = today - timedelta(hours=i + 1)
        usage.buckets[("gemini-prod", PRO, hour)] = TokenUsage(
            "gemini-prod", PRO, hour, 0, 60 * 50_000
        )
    rule = {
        "name": "spike",
        "basis": "baseline",
        "window_minutes": 10,
        "amount": 10,
        "multiple": 3,
        "actions": ["notify"],
    }
    dog, ledger, _ = make([rule], usage)
    usage.burn(now - timedelta(minutes=60), 30, 1)  # $10 per 10 minutes: >= amount, < 3 x $5
    for m in range(-55, -25, 5):
        dog.tick(now + timedelta(minutes=m))
    assert ledger.records() == []
    usage.burn(now - timedelta(minutes=20), 20, 2)  # $20 per 10 minutes: 4 x the average
    for m in range(-15, 5, 5):
        dog.tick(now + timedelta(minutes=m))
    (record,) = ledger.records()
    assert "3 x the trailing 7-day average 5" in record["reason"], record["reason"]


def test_a_quarterly_budget_counts_from_its_quarter_start() -> None:
    usage = Usage()
    october = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
    usage.buckets[("gemini-prod", PRO, october)] = TokenUsage(
        "gemini-prod", PRO, october, 0, 400 * 100_000
    )  # $400 in October
    usage.burn(T0, 10, 20)  # $200 on November 30th
    budgets = {
        BUDGET: {
            "projects": ["gemini-prod"],
            "amount": 1000,
            "currency": "USD",
            "calendar_period": "QUARTER",
        }
    }
    dog, ledger, _ = make(ESTIMATE, usage, budgets=budgets)
    report = dog.tick(T0 + timedelta(minutes=14))
    assert report["estimates"][BUDGET]["gemini-prod"] == Decimal(600)
    (record,) = ledger.records()
    assert record["period"] == "2026-10-01T07:00:00Z"


def test_a_tick_without_a_publish_time_is_logged_and_acknowledged() -> None:
    from functions.alerts import cloud_event

    usage = Usage()
    dog, ledger, out = make(RATE, usage)
    message = {"data": "dGljaw==", "messageId": "t-1"}
    assert dog.handle(cloud_event(message)) == {}
    (line,) = lines(out)
    assert line["severity"] == "WARNING" and "no publishTime" in line["message"]
    assert usage.reads == [] and ledger.records() == []
    report = dog.handle(cloud_event({**message, "publishTime": "2026-11-30T10:05:00.123456789Z"}))
    assert report["tick"] == "2026-11-30T10:05:00Z"


def test_the_firings_get_what_the_tick_left_of_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions import deadline

    monkeypatch.setenv(deadline.ENV, "90")
    budgets: list[float | None] = []

    class Spy(Executor):
        def run(self, n: Any, firings: Any, budget: float | None = None) -> Any:
            budgets.append(budget)
            return super().run(n, firings, budget)

    usage = Usage()
    usage.burn(T0, 10, 100)
    dog, _, _ = make(ESTIMATE, usage)
    dog.executor = Spy(dog.policy, dog.executor._ledger_factory, dog.log)
    dog.tick(T0 + timedelta(minutes=8))
    (budget,) = budgets
    assert budget is not None and 0 < budget < 90
