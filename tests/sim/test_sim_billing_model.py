"""The billing model: cost reported only after Cloud Billing's lag, notifications at its cadence,
in the exact format the guard parses, the same every run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from functions.alerts import cloud_event
from functions.notification import from_cloud_event, parse
from functions.policy import Budget
from standin.billing_model import BillingModel, BillingSettings, BudgetSpec
from standin.gemini import Usage

START = datetime(2026, 11, 12, 1, 0, tzinfo=UTC)
ACCOUNT = "01D4EE-079462-DFD6EC"
BUDGET = "de72f49d-779b-4945-a127-4d6ce8def0bb"
SPEC = BudgetSpec(ACCOUNT, BUDGET, Decimal(100))


def _usage(minute: int, requests: int = 100, billed: bool = True, code: int = 200) -> Usage:
    # gemini-3-pro-image-preview: 2.00 in / 120.00 out per 1M tokens
    return Usage(START + timedelta(minutes=minute), "gemini-prod", "1", "uid",
                 "gemini-3-pro-image-preview", code, "", requests, requests * 500,
                 requests * 1000, billed)  # fmt: skip


def test_cost_is_the_price_table_rate_per_token() -> None:
    model = BillingModel(SPEC, START)
    model(_usage(0))
    assert model.incurred() == Decimal("12.1")  # 50,000 x 2/1M + 100,000 x 120/1M
    model(_usage(1, billed=False))  # free tier: not billed
    model(_usage(2, code=429))  # refused: not billed
    assert model.incurred() == Decimal("12.1")


def test_reported_cost_waits_for_the_lag() -> None:
    model = BillingModel(SPEC, START, BillingSettings(lag_minutes=300))
    model(_usage(10))
    assert model.reported(START + timedelta(minutes=310)) == 0
    assert model.reported(START + timedelta(minutes=311)) == Decimal("12.1")


def test_notifications_come_at_the_cadence_and_carry_the_lagged_cost() -> None:
    model = BillingModel(SPEC, START, BillingSettings(lag_minutes=60, cadence_minutes=(20, 60)))
    for minute in range(0, 30):
        model(_usage(minute))  # 30 x 12.1 = 363 = 363 % of the budget
    sent = model.due(START + timedelta(hours=6))
    times = [at for at, _alert in sent]
    gaps = [
        (b - a) / timedelta(minutes=1) for a, b in zip([START, *times[:-1]], times, strict=True)
    ]
    assert all(20 <= gap <= 60 for gap in gaps) and len(sent) >= 6
    for at, alert in sent:
        assert alert.cost == model.reported(at).quantize(Decimal("0.01"))
        if alert.cost < 50:
            assert alert.alert_threshold is None
    assert sent[-1][1].cost == Decimal("363.00")
    assert sent[-1][1].alert_threshold == Decimal("1.0")
    assert model.due(START + timedelta(hours=6)) == []  # each sent once


def test_the_same_seed_sends_the_same_notifications() -> None:
    def schedule(seed: int) -> list[datetime]:
        model = BillingModel(SPEC, START, BillingSettings(seed=seed))
        return [at for at, _a in model.due(START + timedelta(days=1))]

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)


def test_a_notification_is_what_the_guard_parses() -> None:
    model = BillingModel(SPEC, START, BillingSettings(lag_minutes=0))
    model(_usage(0, requests=1000))
    at, alert = model.due(START + timedelta(hours=1))[0]
    message = alert.message("m-1", at.isoformat().replace("+00:00", "Z"))
    n = parse(
        from_cloud_event(cloud_event(message)), ACCOUNT, {BUDGET: Budget(BUDGET, ("gemini-prod",))}
    )
    assert n.cost_amount == Decimal("121.00")
    assert n.alert_threshold_exceeded == Decimal("1.0")
    assert n.budget_amount == 100
