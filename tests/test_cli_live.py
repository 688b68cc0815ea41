"""The operator CLI against the stand-in and the emulators: check, status, restore, send-test-alert.

No client is mocked: the commands run in-process (``functions.cli.main``) with the real Google
clients pointed at the stand-in (``BUDGET_GUARD_GCP_ENDPOINT``) and the Pub/Sub and Firestore
emulators (the session fixtures set ``PUBSUB_EMULATOR_HOST`` / ``FIRESTORE_EMULATOR_HOST``).
The guard itself is driven through ``functions.handler.Guard`` with a Firestore ledger.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions import gcp
from functions.alerts import Alert, cloud_event
from functions.cli import main
from functions.handler import Guard
from functions.ledger.firestore import FirestoreLedger
from functions.log import Logger
from functions.notification import parse
from functions.policy import ENV_POLICY, ENV_POLICY_FILE, Policy, parse_policy
from local.services import Service
from standin import StandIn

ACCOUNT = "01D4EE-079462-DFD6EC"
BUDGET = "de72f49d-779b-4945-a127-4d6ce8def0bb"
PERIOD = "2026-11-01T07:00:00Z"
LEDGER_PROJECT = "demo-budget-guard"
GEMINI = "generativelanguage.googleapis.com"
SECRET = "projects/guard-host/secrets/gemini-api-key"
PROD = "gemini-prod"

STOP = ["notify", "revoke_keys", "disable_service", "disable_billing"]


# --- fixtures -----------------------------------------------------------------------------------


def _seed() -> dict[str, Any]:
    """The stand-in's demo world, plus the ledger's project (for check's ledger IAM line)."""
    seed = StandIn().state
    seed["projects"][LEDGER_PROJECT] = {"number": "456789012345", "services": {}}
    return seed


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    with StandIn(_seed()) as running:
        yield running


@pytest.fixture
def standin(server: StandIn) -> Iterator[StandIn]:
    """A fresh world, every Google client pointed at it, short timeouts."""
    server.set_state(_seed())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(gcp.ENV_ENDPOINT, server.url)
        mp.setenv("BUDGET_GUARD_TIMEOUT", "5")
        mp.setenv("BUDGET_GUARD_RETRY_DEADLINE", "1")
        mp.setenv("BUDGET_GUARD_RETRY_INITIAL", "0.05")
        mp.setenv("BUDGET_GUARD_OPERATION_TIMEOUT", "5")
        mp.delenv(ENV_POLICY, raising=False)
        mp.delenv(ENV_POLICY_FILE, raising=False)
        gcp.reset()
        yield server
    gcp.reset()


@pytest.fixture
def topic(pubsub_emulator: Service, unique_name: Callable[[str], str]) -> str:
    """A fresh events topic on the emulator."""
    import google.cloud.pubsub_v1 as pubsub_v1

    path = f"projects/{LEDGER_PROJECT}/topics/{unique_name('events')}"
    pubsub_v1.PublisherClient().create_topic(name=path)
    return path


@pytest.fixture
def make_policy(
    tmp_path: Path, firestore_emulator: Service, topic: str, unique_name: Callable[[str], str]
) -> Callable[..., tuple[Policy, str]]:
    """``make_policy(stop, **changes)``: a policy on a fresh ledger database: (Policy, file)."""

    def make(stop: list[str] | None = None, **changes: Any) -> tuple[Policy, str]:
        doc: dict[str, Any] = {
            "billing_account": ACCOUNT,
            "budgets": {BUDGET: {"projects": [PROD, "shared-infra"], "currency": "USD"}},
            "rules": [
                {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
                {"name": "stop", "threshold": 1.0, "basis": "actual", "actions": stop or STOP},
            ],
            "protected_projects": ["shared-infra"],
            "ledger": {"project": LEDGER_PROJECT, "database": unique_name("ledger")},
            "events_topic": topic,
            "keys": {"match": "gemini", "secret": SECRET},
        }
        doc.update(changes)
        path = tmp_path / f"policy-{unique_name('p')}.json"
        path.write_text(json.dumps(doc))
        return parse_policy(json.loads(path.read_text())), str(path)

    return make


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _fire(
    policy: Policy, message_id: str, cost: float = 120, budget: float = 100
) -> list[dict[str, Any]]:
    """Deliver one notification to the guard, as the Eventarc trigger would."""
    guard = Guard(
        policy, ledger=lambda: FirestoreLedger(policy.ledger), log=Logger(stream=io.StringIO())
    )
    alert = Alert(ACCOUNT, BUDGET, cost=cost, budget=budget, period_start=PERIOD)
    return guard.handle(cloud_event(alert.message(message_id)))


def _project(standin: StandIn, project: str = PROD) -> dict[str, Any]:
    return dict(standin.state["projects"][project])


def _live_keys(state: dict[str, Any]) -> list[str]:
    return sorted(k["uid"] for k in state["keys"] if not k.get("deleteTime"))


# --- check --------------------------------------------------------------------------------------


def test_check_passes_on_a_good_deployment(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    _, path = make_policy()
    code, out, _ = _cli(capsys, "check", "--policy", path)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("PASS  policy: 1 budget(s), 2 project(s), 2 rule(s)")
    assert "PASS  iam gemini-prod: all 7 permission(s) needed are granted" in out
    assert "SKIP  iam shared-infra: no permission needed" in out
    assert "PASS  billing gemini-prod: linked to billingAccounts/01D4EE-079462-DFD6EC" in out
    assert any(
        line.startswith("PASS  topic: projects/demo-budget-guard/topics/events-") for line in lines
    )
    assert f"PASS  secret: {SECRET} exists" in out
    assert "PASS  iam ledger: all 3 permission(s) needed are granted" in out
    assert any(line.startswith("PASS  ledger: Firestore database ledger-") for line in lines)
    assert "FAIL" not in out
    assert lines[-1] == "all 9 checks passed"


def test_check_fails_on_a_missing_permission(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    _, path = make_policy()
    state = standin.state
    from functions.actions import REGISTRY

    everything = set().union(*(REGISTRY[name].permissions for name in STOP))
    state["projects"][PROD]["granted_permissions"] = sorted(
        everything - {"serviceusage.services.disable"}
    )
    standin.set_state(state)
    code, out, _ = _cli(capsys, "check", "--policy", path)
    assert code == 1
    assert (
        "FAIL  iam gemini-prod: missing serviceusage.services.disable (needed by disable_service)"
        in out
    )
    assert (
        "fix: grant the guard's service account the custom role from the infra module on "
        "projects/gemini-prod" in out
    )
    assert out.count("FAIL") == 1
    assert out.splitlines()[-1] == "1 check(s) failed"

    code, out, _ = _cli(capsys, "check", "--policy", path, "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["failed"] == 1
    [failed] = [c for c in doc["checks"] if c["status"] == "FAIL"]
    assert failed["check"] == "iam gemini-prod" and "custom role" in failed["fix"]


def test_check_fails_when_billing_is_unlinked(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    _, path = make_policy()
    state = standin.state
    state["projects"][PROD]["billing_account"] = ""
    state["projects"]["shared-infra"]["billing_account"] = "billingAccounts/0A0A0A-0B0B0B-0C0C0C"
    standin.set_state(state)
    code, out, _ = _cli(capsys, "check", "--policy", path)
    assert code == 1
    assert "FAIL  billing gemini-prod: no billing account linked" in out
    assert "budget-guard restore --project gemini-prod" in out
    assert "gcloud billing projects link gemini-prod --billing-account=01D4EE-079462-DFD6EC" in out
    assert (
        "FAIL  billing shared-infra: linked to billingAccounts/0A0A0A-0B0B0B-0C0C0C, not the "
        "policy's" in out
    )


def test_check_fails_on_a_missing_topic_and_secret(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    _, path = make_policy(
        events_topic=f"projects/{LEDGER_PROJECT}/topics/never-created",
        keys={"match": "gemini", "secret": "projects/guard-host/secrets/missing"},
    )
    code, out, _ = _cli(capsys, "check", "--policy", path)
    assert code == 1
    assert f"FAIL  topic: projects/{LEDGER_PROJECT}/topics/never-created does not exist" in out
    assert f"gcloud pubsub topics create never-created --project={LEDGER_PROJECT}" in out
    assert "FAIL  secret: projects/guard-host/secrets/missing does not exist" in out


# --- status -------------------------------------------------------------------------------------


def test_status_after_the_guard_fired(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    # aiplatform cannot be disabled in the demo world (live endpoints): disable_service fails.
    policy, path = make_policy(services=[GEMINI, "aiplatform.googleapis.com"])
    code, out, _ = _cli(capsys, "status", "--policy", path)
    assert (code, out.strip()) == (0, "no crossings in the ledger: the guard has not acted")

    _fire(policy, "m-1")
    code, out, _ = _cli(capsys, "status", "--policy", path)
    assert code == 0
    assert out.startswith(f"period {PERIOD}\n")
    assert f"budget {BUDGET}" in out
    assert "  shared-infra (protected)" in out
    assert "rule stop (actual >= 100%) at budget 100: open; claimed" in out
    assert "rule warn (actual >= 50%) at budget 100: done" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["revoke_keys", "done", "x1"] in [r[:3] for r in rows]
    assert ["disable_service", "failed", "x1"] in [r[:3] for r in rows]
    assert ["disable_billing", "skipped", "x1"] in [r[:3] for r in rows]  # on shared-infra
    assert "pending: 1 crossing(s) not settled" in out
    assert "  gemini-prod rule stop: disable_service" in out

    code, out, _ = _cli(capsys, "status", "--policy", path, "--json", "--project", PROD)
    doc = json.loads(out)
    assert code == 0 and doc["period"] == PERIOD and doc["periods"] == [PERIOD]
    assert [(c["project"], c["rule"], c["state"]) for c in doc["crossings"]] == [
        (PROD, "warn", "done"),
        (PROD, "stop", "open"),
    ]
    assert doc["pending"] == [
        {"budget_id": BUDGET, "project": PROD, "rule": "stop", "actions": ["disable_service"]}
    ]
    assert "has active resources" in doc["crossings"][1]["actions"]["disable_service"]["detail"]
    assert list(doc["crossings"][1]["actions"]) == STOP  # in the rule's order

    code, out, _ = _cli(capsys, "status", "--policy", path, "--period", "2026-10-01T07:00:00Z")
    assert code == 0 and "no crossings in this period" in out


# --- restore ------------------------------------------------------------------------------------


def test_restore_brings_the_project_back_without_a_new_firing(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    policy, path = make_policy()
    before = _project(standin)
    _fire(policy, "m-1")
    fired = _project(standin)
    assert fired["billing_account"] == ""
    assert fired["services"][GEMINI] == "DISABLED"
    assert _live_keys(fired) == [
        "e2a85c7f-19b6-4d30-8f4e-c3b1a6d9052e"
    ]  # only the Maps key is left

    code, out, err = _cli(
        capsys, "restore", "--policy", path, "--project", PROD
    )  # no TTY, no --yes
    assert code == 2 and "pass --yes" in err
    assert _project(standin) == fired

    code, out, _ = _cli(capsys, "restore", "--policy", path, "--project", PROD, "--yes")
    assert code == 0, out
    assert f"restore gemini-prod, period {PERIOD}, from 2 crossing(s) (rules: stop, warn):" in out
    assert "DONE  link billing to billingAccounts/01D4EE-079462-DFD6EC: linked gemini-prod" in out
    assert (
        "  label the project budget-guard-restored=20261101t070000z  (by restore)\n"
        "  link billing to billingAccounts/01D4EE-079462-DFD6EC  (by disable_billing)\n"
    ) in out
    assert (
        "DONE  label the project budget-guard-restored=20261101t070000z: labelled "
        "budget-guard-restored=20261101t070000z: the guard will not brake it again\n"
    ) in out
    assert f"DONE  enable {GEMINI}: enabled {GEMINI}" in out
    assert out.count("DONE  undelete key projects/") == 2
    after = _project(standin)
    assert after["labels"] == {"budget-guard-restored": "20261101t070000z"}  # the marker
    assert after["billing_account"] == before["billing_account"]
    assert after["services"] == before["services"]
    assert _live_keys(after) == _live_keys(before)
    assert [k["keyString"] for k in after["keys"]] == [k["keyString"] for k in before["keys"]]

    ledger = FirestoreLedger(policy.ledger)
    [stop] = ledger.records(project=PROD, rule="stop")
    assert stop["state"] == "done"
    assert stop["restored_at"] and stop["restored_by"]
    assert [h["what"] for h in stop["history"] if h["what"].startswith("restore:")] == [
        "restore: label the project budget-guard-restored=20261101t070000z: restored",
        "restore: link billing to billingAccounts/01D4EE-079462-DFD6EC: restored",
        f"restore: enable {GEMINI}: restored",
        *[
            f"restore: undelete key {name}: restored"
            for name in sorted(stop["actions"]["revoke_keys"]["progress"]["deleted"])
        ],
    ]

    # The same crossing, redelivered and with more spend: latched, nothing fires again.
    results = _fire(policy, "m-2") + _fire(policy, "m-3", cost=180)
    assert all(r.get("duplicate") for r in results), results
    assert _project(standin) == after

    # A second restore finds everything back and changes nothing.
    code, out, _ = _cli(capsys, "restore", "--policy", path, "--project", PROD, "--yes", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True
    assert {s["status"] for s in doc["steps"]} == {"already"}


def test_restore_leaves_rotated_keys_deleted_unless_asked(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy, path = make_policy(stop=["rotate_keys"])
    _fire(policy, "m-1")
    rotated = _project(standin)
    assert len(_live_keys(rotated)) == 3  # two replacements and the Maps key

    code, out, _ = _cli(capsys, "restore", "--policy", path, "--project", PROD, "--yes")
    assert code == 0
    assert "nothing to restore on gemini-prod" in out
    assert (
        out.count("deleted by rotate_keys: may be the leaked key, its replacement projects/") == 2
    )
    assert "--include-rotated undeletes it" in out
    assert _project(standin) == rotated

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("gemini-staging\n"))
    code, out, err = _cli(
        capsys, "restore", "--policy", path, "--project", PROD, "--include-rotated"
    )
    assert code == 1 and "not confirmed" in err and "Type the project id (gemini-prod)" in err
    assert _project(standin) == rotated

    monkeypatch.setattr("sys.stdin", Terminal("gemini-prod\n"))
    code, out, _ = _cli(capsys, "restore", "--policy", path, "--project", PROD, "--include-rotated")
    assert code == 0, out
    assert out.count("DONE  undelete key") == 2
    assert out.count("deleted by rotate_keys, undeleted on request") == 2
    assert len(_live_keys(_project(standin))) == 5  # originals back, replacements still live


def test_restore_reports_a_failed_step_and_exits_1(
    capsys: pytest.CaptureFixture[str],
    standin: StandIn,
    make_policy: Callable[..., tuple[Policy, str]],
) -> None:
    policy, path = make_policy(stop=["disable_billing"])
    _fire(policy, "m-1")
    state = standin.state
    state["projects"][PROD]["billing_locked"] = True
    standin.set_state(state)
    code, out, _ = _cli(capsys, "restore", "--policy", path, "--project", PROD, "--yes")
    assert code == 1
    assert "FAIL  link billing to billingAccounts/01D4EE-079462-DFD6EC" in out
    assert "is locked: unlock it first" in out
    [stop] = FirestoreLedger(policy.ledger).records(project=PROD, rule="stop")
    assert "restored_at" not in stop
    assert stop["history"][-1]["what"].endswith(": failed")


# --- send-test-alert ----------------------------------------------------------------------------


def test_send_test_alert_publishes_what_the_guard_parses(
    capsys: pytest.CaptureFixture[str],
    pubsub_emulator: Service,
    make_policy: Callable[..., tuple[Policy, str]],
    unique_name: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.cloud.pubsub_v1 as pubsub_v1

    monkeypatch.delenv(ENV_POLICY, raising=False)
    monkeypatch.delenv(ENV_POLICY_FILE, raising=False)
    policy, path = make_policy()
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    budget_topic = f"projects/{LEDGER_PROJECT}/topics/{unique_name('budget')}"
    subscription = f"projects/{LEDGER_PROJECT}/subscriptions/{unique_name('pull')}"
    publisher.create_topic(name=budget_topic)
    subscriber.create_subscription(name=subscription, topic=budget_topic)

    code, out, _ = _cli(
        capsys, "send-test-alert", "--policy", path, "--topic", budget_topic,
        "--cost", "120.5", "--budget", "100", "--forecast", "1.4", "--period", PERIOD,
    )  # fmt: skip
    assert code == 0, out
    assert out.startswith("published message ")
    message_id = out.split()[2]

    received = subscriber.pull(
        subscription=subscription, max_messages=10, timeout=10
    ).received_messages
    assert [r.message.message_id for r in received] == [message_id]
    message = received[0].message
    n = parse(
        {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "publishTime": message.publish_time.isoformat().replace("+00:00", "Z"),
        },
        policy.billing_account,
        policy.budgets,
    )
    assert (n.budget_id, n.period, str(n.cost_amount), str(n.forecast_threshold_exceeded)) == (
        BUDGET, PERIOD, "120.5", "1.4",
    )  # fmt: skip
    assert dict(message.attributes) == {
        "billingAccountId": ACCOUNT,
        "budgetId": BUDGET,
        "schemaVersion": "1.0",
    }

    # Without a policy the ids are required; with them, --json answers the whole message.
    code, _, err = _cli(
        capsys, "send-test-alert", "--topic", budget_topic, "--cost", "1", "--budget", "2"
    )
    assert code == 2 and "give --billing-account and --budget-id" in err
    code, out, _ = _cli(
        capsys, "send-test-alert", "--topic", budget_topic, "--cost", "1", "--budget", "2",
        "--json", "--billing-account", ACCOUNT, "--budget-id", BUDGET,
    )  # fmt: skip
    doc = json.loads(out)
    assert (
        code == 0 and doc["data"]["costAmount"] == 1.0 and doc["attributes"]["budgetId"] == BUDGET
    )
    subscriber.acknowledge(subscription=subscription, ack_ids=[r.ack_id for r in received])
