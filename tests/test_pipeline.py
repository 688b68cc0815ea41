"""Integration: budget notifications through the Pub/Sub emulator's push, functions-framework,
the guard, the stand-in (Cloud Billing) and the Firestore emulator (ledger)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local import services
from local.services import Service
from standin.server import StandIn
from tests.pipeline import BILLING_UPDATE, Pipeline
from tests.sample import ACCOUNT, POLICY, alert, policy_doc

LINKED = f"billingAccounts/{ACCOUNT}"


@pytest.fixture
def pipeline(
    standin: StandIn,
    function_server_factory: Callable[..., Service],
    unique_name: Callable[[str], str],
) -> Iterator[Callable[..., Pipeline]]:
    made: list[Pipeline] = []

    def make(policy: dict[str, Any] | None = None, **env: str) -> Pipeline:
        made.append(Pipeline(function_server_factory, standin, unique_name("g"), policy, env))
        return made[-1]

    yield make
    for p in made:
        p.close()


def test_stop_unlinks_billing_exactly_once_however_often_delivered(
    pipeline: Callable[..., Pipeline],
) -> None:
    p = pipeline()
    assert p.billing_account() == LINKED
    first = p.publish(alert(1200, alert_threshold=1.0))
    lines = p.wait_handled(first)
    assert p.billing_account() == ""
    assert any(r["message"].startswith("disable_billing: unlinked") for r in lines)
    # Cloud Billing sends it again (new message ids), and Pub/Sub redelivers the first one.
    again = [p.publish(alert(1250 + i, alert_threshold=1.0)) for i in range(3)]
    for message_id in again:
        p.wait_handled(message_id)
    assert p.redeliver(first, alert(1200, alert_threshold=1.0)) == 200
    p.wait_handled(first, count=2)
    assert len(p.billing_updates(status=None)) == 1
    records = {r["rule"]: r for r in p.ledger()}
    assert set(records) == {"warn", "stop"}
    stop = records["stop"]
    assert stop["state"] == "done" and stop["first_message_id"] == first
    assert stop["actions"]["disable_billing"]["status"] == "done"
    assert stop["actions"]["disable_billing"]["progress"] == {"billing_account": LINKED}
    assert stop["actions"]["notify"]["status"] == "done"
    assert "1200.0 USD of budget 1000.0 = 120% >= 100%" in stop["reason"]
    warnings = [r for r in lines if r["severity"] == "WARNING"]
    assert {r["rule"] for r in warnings} == {"warn", "stop"}, "notify logs each crossing at WARNING"
    assert all(
        r["budget"] and r["project"] == "gemini-prod" and r["message_id"] == first for r in warnings
    )


def test_out_of_order_new_period_and_raised_budget(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline(
        policy_doc(
            rules=[{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}]
        )
    )
    p.wait_handled(p.publish(alert(900)))
    late = p.wait_handled(p.publish(alert(600)))  # earlier spend, delivered later
    assert any(r["message"].startswith("duplicate") for r in late)
    p.wait_handled(p.publish(alert(600, period_start="2026-10-01T07:00:00Z")))  # another period
    p.wait_handled(p.publish(alert(1100, budget=2000)))  # the budget was raised to 2000
    p.wait_handled(p.publish(alert(1150, budget=2000)))
    keys = sorted((r["period"], r["budget_amount"]) for r in p.ledger())
    assert keys == [
        ("2026-10-01T07:00:00Z", "1000"),
        ("2026-11-01T07:00:00Z", "1000"),
        ("2026-11-01T07:00:00Z", "2000"),
    ]
    assert p.billing_updates(status=None) == []


def test_spoofed_and_malformed_are_acknowledged_with_a_reason_and_never_acted_on(
    pipeline: Callable[..., Pipeline],
) -> None:
    p = pipeline()
    forged = alert(99999, alert_threshold=1.0)
    spoof = p.publish_raw(
        forged.payload(), {**forged.attributes(), "billingAccountId": "000000-000000-000000"}
    )
    garbage = p.publish_raw(b"\xff\x00 not json", forged.attributes())
    for message_id, kind, reason in (
        (spoof, "spoofed", "billingAccountId 000000-000000-000000 is not the guarded account"),
        (garbage, "malformed", "message.data is not UTF-8"),
    ):
        (line,) = p.wait_handled(message_id)
        assert (
            line["severity"] == "WARNING" and line["rejected"] == kind and reason in line["reason"]
        )
    # Acknowledged: a 2xx, so no redelivery; the guard saw each message exactly once.
    p.wait_handled(p.publish(alert(10)))
    assert len(p.lines_for(spoof)) == 1 and len(p.lines_for(garbage)) == 1
    assert p.billing_account() == LINKED and p.billing_updates(status=None) == []
    assert p.ledger() == []


def test_protected_project_is_never_touched(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline(policy_doc(protected_projects=["gemini-prod"]))
    p.wait_handled(p.publish(alert(5000, alert_threshold=1.0)))
    assert p.billing_account() == LINKED and p.billing_updates(status=None) == []
    stop = next(r for r in p.ledger() if r["rule"] == "stop")
    assert stop["protected"] is True
    assert stop["actions"]["disable_billing"]["status"] == "skipped"
    assert stop["actions"]["notify"]["status"] == "done"


def test_dry_run_records_and_logs_what_would_happen_and_changes_nothing(
    pipeline: Callable[..., Pipeline],
) -> None:
    p = pipeline(policy_doc(dry_run=True))
    lines = p.wait_handled(p.publish(alert(1500, alert_threshold=1.0)))
    assert p.billing_account() == LINKED and p.standin.calls(BILLING_UPDATE) == []
    stop = next(r for r in p.ledger() if r["rule"] == "stop")
    assert stop["dry_run"] is True
    assert {a: v["status"] for a, v in stop["actions"].items()} == {
        "notify": "would_run",
        "disable_billing": "would_run",
    }
    would = [r["message"] for r in lines if r["message"].startswith("dry run: would")]
    assert (
        "dry run: would unlink the project's billing account (stops every paid service in it) "
        "on gemini-prod" in would
    )


def test_transient_failure_is_retried_in_the_call(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    p.standin.add_fault(BILLING_UPDATE, "503", times=1)
    p.wait_handled(p.publish(alert(1200)))
    assert p.billing_account() == ""
    assert [c["status"] for c in p.standin.calls(BILLING_UPDATE)] == [503, 200]


def test_persistent_transient_failure_is_raised_and_pub_sub_redelivers(
    pipeline: Callable[..., Pipeline],
) -> None:
    # Each delivery makes one attempt (no in-call retry budget): the first two fail with 503 and
    # answer 500, so Pub/Sub redelivers; the third delivery unlinks billing.
    p = pipeline(BUDGET_GUARD_RETRY_DEADLINE="0")
    p.standin.add_fault(BILLING_UPDATE, "503", times=2)
    message_id = p.publish(alert(1200))
    lines = p.wait_handled(message_id, timeout=90)
    assert p.billing_account() == ""
    assert [c["status"] for c in p.standin.calls(BILLING_UPDATE)] == [503, 503, 200]
    retried = [r for r in lines if "will retry on redelivery" in r["message"]]
    assert len(retried) == 2 and all(r["severity"] == "ERROR" for r in retried)
    stop = next(r for r in p.ledger() if r["rule"] == "stop")
    assert stop["actions"]["disable_billing"]["attempts"] == 3
    assert stop["actions"]["notify"]["attempts"] == 1, "what succeeded is not repeated"


def test_permission_denied_names_the_permission(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    p.standin.add_fault(BILLING_UPDATE, "403")
    lines = p.wait_handled(p.publish(alert(1200)))
    (error,) = [r for r in lines if r["severity"] == "ERROR"]
    assert "resourcemanager.projects.deleteBillingAssignment" in error["remedy"]
    assert p.billing_account() == LINKED


def test_locked_billing_link_says_so(pipeline: Callable[..., Pipeline]) -> None:
    p = pipeline()
    with p.standin.world.lock:
        p.standin.world.projects["gemini-prod"].billing_locked = True
    lines = p.wait_handled(p.publish(alert(1200)))
    (error,) = [r for r in lines if r["severity"] == "ERROR"]
    assert "locked" in error["remedy"] and p.billing_account() == LINKED


def test_push_body_is_converted_like_an_eventarc_event(pipeline: Callable[..., Pipeline]) -> None:
    # What the emulator pushed is what Eventarc delivers: the guard read the attributes and data.
    p = pipeline()
    (line,) = p.wait_handled(p.publish(alert(100)))
    assert line["message"] == "under every threshold" and line["cost"] == "100.0"
    data = base64.b64encode(json.dumps(alert(100).data()).encode()).decode()
    assert json.loads(base64.b64decode(data)) == alert(100).data()
    assert POLICY["billing_account"] == ACCOUNT


def test_a_bad_policy_stops_the_function_at_start_up_naming_the_field(tmp_path: Path) -> None:
    doc = policy_doc(
        rules=[{"name": "x", "threshold": 0, "basis": "actual", "actions": ["notify"]}]
    )
    server = services.function_server(tmp_path, {"BUDGET_GUARD_POLICY": json.dumps(doc)})
    with pytest.raises(services.ServiceError):
        server.start(timeout=30)
    (line,) = [r for r in server.json_logs() if r.get("severity") == "ERROR"]
    assert line["message"].startswith("invalid policy, the guard cannot start: rules[0].threshold")
    assert line["field"] == "rules[0].threshold"
