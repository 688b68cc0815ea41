"""Foreign notifications on the alerts topic: recognized, logged once at INFO, never acted on."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from functions.alerts import cloud_event
from functions.foreign import recognize
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from tests.sample import POLICY, alert

# A Cloud Monitoring Pub/Sub channel's payload (schema 1.2), as the channel publishes it.
INCIDENT = {
    "incident": {
        "incident_id": "0.opqiw61fsv7p",
        "scoping_project_id": "guard-host",
        "scoping_project_number": 12345,
        "url": "https://console.cloud.google.com/monitoring/alerting/incidents/0.opqiw61fsv7p",
        "started_at": 1764612000,
        "ended_at": None,
        "state": "open",
        "summary": "An uptime check on guard-host is failing.",
        "condition_name": "Uptime check",
        "policy_name": "Frontend uptime",
    },
    "version": "1.2",
}
# A cost-anomaly notification's data, field names as Google's notification-format page gives them
# (seen second-hand, see functions/foreign.py); no budget attributes.
ANOMALY = {
    "anomalyName": "billingAccounts/01D4EE-079462-DFD6EC/anomalies/a1b2c3",
    "billingAccountName": "billingAccounts/01D4EE-079462-DFD6EC",
    "resourceName": "projects/123456789012",
    "resourceDisplayName": "gemini-prod",
    "detectionDate": "2026-11-20T08:00:00Z",
    "expectedSpendAmount": {"currencyCode": "USD", "units": "40", "nanos": 0},
    "actualSpendAmount": {"currencyCode": "USD", "units": "352", "nanos": 500000000},
    "deviationAmount": {"currencyCode": "USD", "units": "312", "nanos": 500000000},
    "deviationPercentage": 781.25,
}


def event(data: Any, attributes: dict[str, str] | None = None, message_id: str = "f-1") -> Any:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return cloud_event(
        {
            "data": base64.b64encode(raw).decode(),
            "attributes": attributes or {},
            "messageId": message_id,
            "publishTime": "2026-11-20T10:00:00Z",
        }
    )


def run(evt: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], MemoryLedger]:
    stream, ledger = io.StringIO(), MemoryLedger()
    guard = Guard(parse_policy(POLICY), lambda: ledger, Logger(stream=stream))
    results = guard.handle(evt)
    return results, [json.loads(line) for line in stream.getvalue().splitlines()], ledger


@pytest.mark.parametrize(
    ("data", "attributes", "kind", "fields"),
    [
        (
            INCIDENT,
            {},
            "cloud monitoring incident",
            {"incident_id": "0.opqiw61fsv7p", "policy_name": "Frontend uptime", "state": "open"},
        ),
        (
            ANOMALY,
            {},
            "cost anomaly",
            {
                "anomalyName": ANOMALY["anomalyName"],
                "resourceName": "projects/123456789012",
                "resourceDisplayName": "gemini-prod",
            },
        ),
        ({"note": "x"}, {"anomalyId": "a1b2c3"}, "cost anomaly", {}),
    ],
)
def test_known_foreign_kinds_are_one_info_line_and_no_action(
    data: Any, attributes: dict[str, str], kind: str, fields: dict[str, str]
) -> None:
    found = recognize(event(data, attributes))
    assert found is not None and (found.kind, found.fields) == (kind, fields)
    results, lines, ledger = run(event(data, attributes))
    assert results == []
    assert [(r["severity"], r["message"]) for r in lines] == [
        ("INFO", f"not a budget notification: {kind}")
    ]
    assert lines[0]["message_id"] == "f-1" and lines[0]["foreign"] == kind
    assert {k: lines[0][f"foreign_{k}"] for k in fields} == fields
    assert ledger.records() == []


def test_reported_fields_are_bounded() -> None:
    found = recognize(event({**ANOMALY, "resourceDisplayName": "x" * 5000}))
    assert found is not None and len(found.fields["resourceDisplayName"]) == 200


@pytest.mark.parametrize(
    ("data", "attributes"),
    [
        ({"incident": {"incident_id": 7, "state": "open"}}, {}),  # wrong types
        ({"incident": "open"}, {}),
        ({"hello": "world"}, {}),
        (b"not json", {"anomalyId": "x"}),  # undecodable data is never recognized
        # Carries a budgetId: a broken budget notification stays "malformed".
        ({"anomalyName": "x"}, {"budgetId": "de72f49d-779b-4945-a127-4d6ce8def0bb"}),
    ],
)
def test_anything_else_stays_a_malformed_warning(data: Any, attributes: dict[str, str]) -> None:
    assert recognize(event(data, attributes)) is None
    _, lines, _ = run(event(data, attributes))
    assert [r["severity"] for r in lines] == ["WARNING"]
    assert lines[0]["rejected"] == "malformed"


def test_a_spoofed_budget_notification_is_never_excused_as_foreign() -> None:
    spoof = alert(1200, alert_threshold=1.0)
    msg = spoof.message("s-1")
    msg["attributes"]["billingAccountId"] = "000000-000000-000000"
    _, lines, _ = run(cloud_event(msg))
    assert [(r["severity"], r["rejected"]) for r in lines] == [("WARNING", "spoofed")]


def test_a_real_budget_notification_is_not_foreign() -> None:
    assert recognize(cloud_event(alert(100).message("b-1"))) is None
