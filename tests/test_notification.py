"""Unit tests: a Pub/Sub message becomes a Notification, or a precise MalformedMessage/Spoof."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from functions.errors import MalformedMessage, SpoofedMessage
from functions.notification import parse
from functions.policy import Budget
from tests.sample import ACCOUNT, BUDGET, alert

BUDGETS = {BUDGET: Budget(BUDGET, ("gemini-prod",))}


def message(data: Any = None, **attributes: str) -> dict[str, Any]:
    msg = alert(950, forecast_threshold=1.2, alert_threshold=0.9).message(
        "42", "2026-11-20T10:00:00Z"
    )
    if data is not None:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        msg["data"] = base64.b64encode(raw).decode()
    msg["attributes"].update(attributes)
    return msg


def good_data(**changes: Any) -> dict[str, Any]:
    doc = alert(950).data()
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not ...}


def test_parses_every_field() -> None:
    n = parse(message(), ACCOUNT, BUDGETS)
    assert n.message_id == "42"
    assert n.billing_account_id == ACCOUNT and n.budget_id == BUDGET and n.schema_version == "1.0"
    assert n.cost_amount == Decimal("950.0") and n.budget_amount == Decimal("1000.0")
    assert n.budget_amount_type == "SPECIFIED_AMOUNT" and n.currency_code == "USD"
    assert n.alert_threshold_exceeded == Decimal("0.9")
    assert n.forecast_threshold_exceeded == Decimal("1.2")
    assert n.period == "2026-11-01T07:00:00Z"
    assert n.budget_display_name == "Gemini API budget"
    assert n.spend_ratio == Decimal("0.95")


def test_thresholds_are_optional() -> None:
    n = parse(message(good_data()), ACCOUNT, BUDGETS)
    assert n.alert_threshold_exceeded is None and n.forecast_threshold_exceeded is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (good_data(costAmount=...), "data.costAmount is missing"),
        (good_data(costAmount="950"), "data.costAmount must be a number, got str"),
        (good_data(costAmount=True), "data.costAmount must be a number, got bool"),
        (good_data(costAmount=-1), "data.costAmount must not be negative"),
        (good_data(budgetAmount=1e300), "data.budgetAmount must be below 1e+15"),
        (
            good_data(costIntervalStart="yesterday"),
            "data.costIntervalStart must be an RFC 3339 timestamp",
        ),
        (
            good_data(costIntervalStart="2026-13-01T00:00:00Z"),
            "data.costIntervalStart is not a valid timestamp",
        ),
        (good_data(costIntervalStart="2027-01-01T00:00:00Z"), "is after the message's publishTime"),
        (good_data(budgetAmountType="WHATEVER"), "data.budgetAmountType must be one of"),
        (good_data(currencyCode="usd"), "data.currencyCode must be an ISO 4217 code"),
        (good_data(alertThresholdExceeded="1.0"), "data.alertThresholdExceeded must be a number"),
        ([1, 2], "message.data must be a JSON object, got list"),
        (b"\xff\xfe", "message.data is not UTF-8"),
        (b"{not json", "message.data is not JSON"),
        (b'{"costAmount": NaN}', "message.data is not JSON: NaN is not a number"),
        (b'{"costAmount": Infinity}', "message.data is not JSON: Infinity is not a number"),
        (b"[" * 100000 + b"]" * 100000, "message.data is larger than"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
)
def test_malformed_data_is_rejected_with_its_reason(data: Any, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=None) as info:
        parse(message(data), ACCOUNT, BUDGETS)
    assert reason in info.value.reason


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda m: m.update(data="@@@not-base64@@@"), "message.data is not valid base64"),
        (lambda m: m.update(data=""), "message.data is empty"),
        (lambda m: m.pop("data"), "message.data must be base64 text, got NoneType"),
        (lambda m: m.pop("messageId"), "messageId is missing"),
        (lambda m: m.update(attributes="x"), "message.attributes must be an object"),
        (lambda m: m["attributes"].pop("budgetId"), "attribute budgetId is missing"),
        (
            lambda m: m["attributes"].update(billingAccountId="01D4EE\n079462"),
            "attribute billingAccountId must be",
        ),
        (
            lambda m: m["attributes"].update(budgetId="../../etc"),
            "attribute budgetId must be a budget id",
        ),
    ],
)
def test_malformed_envelope_is_rejected(mutate: Any, reason: str) -> None:
    msg = message()
    mutate(msg)
    with pytest.raises(MalformedMessage) as info:
        parse(msg, ACCOUNT, BUDGETS)
    assert reason in info.value.reason


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        (
            {"billingAccountId": "000000-000000-000000"},
            "billingAccountId 000000-000000-000000 is not the guarded account",
        ),
        ({"budgetId": "00000000-0000-0000-0000-000000000000"}, "is not a budget in the policy"),
        ({"schemaVersion": "2.0"}, "schemaVersion '2.0' is not 1.0"),
    ],
)
def test_spoofs_are_rejected(attributes: dict[str, str], reason: str) -> None:
    with pytest.raises(SpoofedMessage) as info:
        parse(message(**attributes), ACCOUNT, BUDGETS)
    assert reason in info.value.reason


def test_currency_mismatch_is_a_spoof_when_the_budget_names_a_currency() -> None:
    budgets = {BUDGET: Budget(BUDGET, ("gemini-prod",), currency="EUR")}
    with pytest.raises(SpoofedMessage, match="currencyCode USD is not the budget's EUR"):
        parse(message(), ACCOUNT, budgets)
