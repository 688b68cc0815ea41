"""``budget-guard audit`` and ``audit --fix`` against the stand-in: the key zoo listed through the
API Keys REST API, 30 days of request_count per key and per API from the gRPC Monitoring
stand-in, the fix recorded in the Firestore emulator and undone by ``restore``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.cli import main
from functions.watchdog import monitoring
from local.services import Service
from standin import StandIn
from tests import keyzoo
from tests.sample import ACCOUNT, BUDGET

REQUESTS = "serviceruntime.googleapis.com/api/request_count"
PATCH = "apikeys.projects.locations.keys.patch"
DELETE = "apikeys.projects.locations.keys.delete"
SERIES = "monitoring.projects.timeSeries.list"


def usage_points(now: datetime) -> list[dict[str, Any]]:
    """The zoo's USAGE, spread over three days of the last 30 (and one point 40 days back,
    outside the look-back, on the dormant AI Studio key)."""
    points = []
    for n, per_api in keyzoo.USAGE.items():
        for service, total in per_api.items():
            for i, days in enumerate((2, 9, 20)):
                minute = (now - timedelta(days=days)).replace(second=0, microsecond=0)
                part = total // 3 + (total % 3 if i == 0 else 0)
                points.append(_point(n, service, minute, part))
    old = (now - timedelta(days=40)).replace(second=0, microsecond=0)
    points.append(_point(6, keyzoo.G, old, 999))
    return points


def _point(n: int, service: str, minute: datetime, value: int) -> dict[str, Any]:
    return {
        "metric": REQUESTS,
        "project": keyzoo.PROJECT,
        "labels": {"credential_id": f"apikey:{keyzoo.uid(n)}", "service": service},
        "minute": minute.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "value": value,
    }


@pytest.fixture
def zoo(guard_env: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    guard_env.set_state(keyzoo.world())
    guard_env.clear_points()
    guard_env.add_points(usage_points(datetime.now(UTC)))
    monkeypatch.setenv(monitoring.ENV_MONITORING_ENDPOINT, guard_env.monitoring_endpoint)
    monkeypatch.setenv("BUDGET_GUARD_RETRY_DEADLINE", "0.3")
    monitoring.reset()
    yield guard_env
    monitoring.reset()


@pytest.fixture
def policy_file(
    tmp_path: Path, firestore_emulator: Service, unique_name: Callable[[str], str]
) -> str:
    doc = {
        "billing_account": ACCOUNT,
        "budgets": {BUDGET: {"projects": [keyzoo.PROJECT]}},
        "rules": [{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}],
        "ledger": {"project": "demo-budget-guard", "database": unique_name("audit")},
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def _keys(standin: StandIn) -> dict[str, dict[str, Any]]:
    return {k["uid"]: k for k in standin.state["projects"][keyzoo.PROJECT]["keys"]}


def test_the_audit_classifies_the_zoo_and_exits_1(
    zoo: StandIn, policy_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli(capsys, "audit", "--policy", policy_file, "--json")
    assert code == 1
    doc = json.loads(out)
    (project,) = doc["projects"]
    assert project["project"] == keyzoo.PROJECT and project["usage_error"] is None
    keys = {k["uid"]: k for k in project["keys"]}
    assert set(keys) == {keyzoo.uid(n) for n in keyzoo.EXPECTED}  # the deleted key is not listed
    for n, (gemini, application, kind, codes) in keyzoo.EXPECTED.items():
        key = keys[keyzoo.uid(n)]
        assert key["can_call_gemini"] is gemini, n
        assert (key["application_restriction"], key["kind"]) == (application, kind), n
        assert {f["code"] for f in key["findings"]} == codes, n
        assert key["requests_30d"] == keyzoo.USAGE.get(n, {}), n  # the 40-day-old point is out
    assert keys[keyzoo.uid(6)]["dormant"] is True
    assert keys[keyzoo.uid(7)]["service_account"] == "exporter@key-zoo.iam.gserviceaccount.com"
    assert doc["worst"] == "high"

    code, text = _cli(capsys, "audit", "--policy", policy_file)
    assert code == 1
    strings = [k["keyString"] for k in keyzoo.world()["projects"][keyzoo.PROJECT]["keys"]]
    assert not [s for s in strings if s in text + out]
    assert "HIGH    dormant-gemini" in text and "fix: delete it" in text
    assert zoo.calls("apikeys.projects.locations.keys.getKeyString") == []


def test_a_failed_monitoring_read_is_unknown_never_zero_and_fixes_nothing(
    zoo: StandIn, policy_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    zoo.add_fault(SERIES, "403", times=10)
    code, out = _cli(capsys, "audit", "--policy", policy_file, "--json", "--fix", "--yes")
    doc = json.loads(out)
    assert doc["projects"][0]["usage_error"].startswith("Monitoring read failed")
    for key in doc["projects"][0]["keys"]:
        assert key["requests_30d"] is None and key["dormant"] is None
        assert "usage-unknown" in {f["code"] for f in key["findings"]}
    assert doc["fixes"] == [] and code == 1  # the unrestricted key is still high
    assert zoo.calls(PATCH) == [] and zoo.calls(DELETE) == []


def test_fix_restricts_and_deletes_exactly_the_planned_keys_and_restore_undoes_it(
    zoo: StandIn, policy_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _keys(zoo)
    code, out = _cli(capsys, "audit", "--policy", policy_file, "--fix")
    assert code == 2 and zoo.calls(PATCH) == []  # no terminal, no --yes: nothing changes

    code, out = _cli(capsys, "audit", "--policy", policy_file, "--fix", "--yes", "--json")
    doc = json.loads(out)
    assert code == 0, doc
    done = {f["key"]: (f["action"], tuple(f["targets"])) for f in doc["fixes"]}
    assert done == {keyzoo.name(n): fix for n, fix in keyzoo.FIXES.items()}
    assert {f["status"] for f in doc["fixes"]} == {"done"}
    after = _keys(zoo)
    for n, (action, targets) in keyzoo.FIXES.items():
        key = after[keyzoo.uid(n)]
        if action == "delete":
            assert key["deleteTime"] is not None
        else:
            assert [t["service"] for t in key["restrictions"]["apiTargets"]] == list(targets)
    untouched = [uid for uid in before if uid not in {keyzoo.uid(n) for n in keyzoo.FIXES}]
    assert all(after[uid] == before[uid] for uid in untouched)
    # application restrictions are kept; only the API targets narrow
    assert (
        after[keyzoo.uid(2)]["restrictions"]["browserKeyRestrictions"]
        == (before[keyzoo.uid(2)]["restrictions"]["browserKeyRestrictions"])
    )
    assert len(zoo.calls(PATCH)) == 3 and len(zoo.calls(DELETE)) == 1
    code, out = _cli(capsys, "status", "--policy", policy_file)
    assert f"audit --fix on {keyzoo.PROJECT}" in out and "4 change(s)" in out

    code, out = _cli(
        capsys, "restore", "--policy", policy_file, "--project", keyzoo.PROJECT, "--yes"
    )
    assert code == 0, out
    restored = _keys(zoo)
    for uid, key in before.items():
        assert restored[uid].get("restrictions") == key.get("restrictions"), uid
        assert restored[uid]["deleteTime"] == key["deleteTime"], uid
    # done once: a second restore has nothing left to undo
    code, out = _cli(
        capsys, "restore", "--policy", policy_file, "--project", keyzoo.PROJECT, "--yes"
    )
    assert code == 0 and "nothing to restore" in out


def test_a_key_string_pasted_into_a_display_name_is_redacted(
    zoo: StandIn, policy_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    world = keyzoo.world()
    key = world["projects"][keyzoo.PROJECT]["keys"][6]
    key["displayName"] = f"export {key['keyString']}"
    zoo.set_state(world)
    zoo.add_points(usage_points(datetime.now(UTC)))
    for argv in (["--json"], []):
        _, out = _cli(capsys, "audit", "--policy", policy_file, *argv)
        assert key["keyString"] not in out and "export [REDACTED]" in out
