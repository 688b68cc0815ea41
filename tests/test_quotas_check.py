"""``budget-guard check``'s quota lines against the stand-in: the quotas throttle relies on, and
whether the policy's ceiling still holds under the quotas in force."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.cli import main
from standin import StandIn
from tests.test_quotas_throttle import PROJECT, throttle_doc

pytestmark = pytest.mark.usefixtures("guard_env")


def _check(capsys: pytest.CaptureFixture[str], policy: Path) -> dict[str, dict[str, Any]]:
    main(["check", "--policy", str(policy), "--json"])
    doc = json.loads(capsys.readouterr().out)
    return {c["check"]: c for c in doc["checks"]}


def test_check_reports_quotas_and_whether_the_ceiling_holds(
    standin: StandIn,
    firestore_emulator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(throttle_doc("ledger-check", ceiling={"daily": "50"})))

    checks = _check(capsys, policy)

    quotas = checks[f"quotas {PROJECT}"]
    assert quotas["status"] == "PASS"
    assert (
        "GenerateRequestsPerMinutePerProjectPerModel: 7 model(s), throttle lowers 7 to 1 "
        "(gemini-2.5-flash 1,000, "
    ) in quotas["detail"]
    assert f"iam {PROJECT}" in checks  # the throttle's permissions are tested like the others
    over = checks[f"ceiling {PROJECT}"]
    assert over["status"] == "FAIL" and "exceeded" in over["detail"]
    assert "budget-guard ceiling --daily 50 --project gemini-prod --apply" in over["fix"]

    assert main(["ceiling", "--daily", "50", "--project", PROJECT, "--apply", "--yes"]) == 0
    capsys.readouterr()
    checks = _check(capsys, policy)

    held = checks[f"ceiling {PROJECT}"]
    assert held["status"] == "PASS", held
    assert "7 model(s)" in held["detail"] and "ceiling 50" in held["detail"]


def test_check_fails_when_the_tier_has_no_such_quota(
    standin: StandIn,
    firestore_emulator: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = throttle_doc("ledger-check")
    doc["throttle"] = {**doc["throttle"], "tier": "tier3"}
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(doc))

    line = _check(capsys, policy)[f"quotas {PROJECT}"]

    assert line["status"] == "FAIL" and "tier tier3" in line["detail"]
