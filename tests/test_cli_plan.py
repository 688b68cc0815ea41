"""The operator CLI without any network: ``--help``, exit codes, policy errors, and ``plan``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.alerts import Alert
from functions.cli import COMMANDS, main
from functions.policy import ENV_POLICY, ENV_POLICY_FILE

ACCOUNT = "01D4EE-079462-DFD6EC"
BUDGET = "de72f49d-779b-4945-a127-4d6ce8def0bb"
OTHER_BUDGET = "0b6c9f1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
REPO = Path(__file__).resolve().parent.parent


def _policy(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "billing_account": ACCOUNT,
        "budgets": {BUDGET: {"projects": ["gemini-prod", "shared-infra"], "currency": "USD"}},
        "rules": [
            {"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]},
            {
                "name": "stop",
                "threshold": 1.0,
                "basis": "actual",
                "actions": ["notify", "disable_billing"],
            },
            {"name": "forecast", "threshold": 1.5, "basis": "forecast", "actions": ["notify"]},
        ],
        "protected_projects": ["shared-infra"],
        "ledger": {"project": "demo-budget-guard", "database": "budget-guard"},
    }
    doc.update(changes)
    return doc


@pytest.fixture(autouse=True)
def _no_policy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_POLICY, raising=False)
    monkeypatch.delenv(ENV_POLICY_FILE, raising=False)


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(_policy()))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the contract every command shares ----------------------------------------------------------


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_help_on_every_command(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = _run(capsys, *command, "--help")
    assert code == 0
    assert "usage: budget-guard" in out
    if command:
        assert "--json" in out and "--policy" in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "plan", "--spend", "lots")
    assert code == 2
    assert "not a number" in err
    assert _run(capsys)[0] == 2  # no command
    assert _run(capsys, "restore")[0] == 2  # --project is required


def test_bad_policy_exits_2_with_the_field_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = _policy()
    bad["rules"][1]["threshold"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    for command in (
        ["plan", "--spend", "1", "--budget", "2"],
        ["check"],
        ["status"],
        ["restore", "--project", "p"],
    ):
        code, out, err = _run(capsys, *command, "--policy", str(path))
        assert code == 2, command
        assert "invalid policy: rules[1].threshold: must be > 0" in err
        assert out == ""


def test_policy_from_the_function_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, policy_file: Path
) -> None:
    code, _, err = _run(capsys, "plan", "--spend", "1", "--budget", "2")
    assert code == 2 and "no policy: pass --policy FILE" in err
    monkeypatch.setenv(ENV_POLICY_FILE, str(policy_file))
    assert _run(capsys, "plan", "--spend", "1", "--budget", "2")[0] == 0
    monkeypatch.setenv(ENV_POLICY, json.dumps(_policy(dry_run=True)))  # wins over the file
    code, out, _ = _run(capsys, "plan", "--spend", "100", "--budget", "100", "--json")
    assert code == 0 and json.loads(out)["dry_run"] is True


def test_json_error_document(capsys: pytest.CaptureFixture[str], policy_file: Path) -> None:
    code, out, _ = _run(capsys, "plan", "--policy", str(policy_file), "--spend", "1", "--json")
    assert code == 2
    assert json.loads(out) == {
        "error": "give --spend and --budget, or --notification FILE",
        "exit_code": 2,
    }


def test_python_dash_m_functions() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "functions", "plan", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "budget-guard plan" in done.stdout


# --- plan ---------------------------------------------------------------------------------------


def test_plan_for_a_spend_over_the_budget(
    capsys: pytest.CaptureFixture[str], policy_file: Path
) -> None:
    code, out, _ = _run(
        capsys, "plan", "--policy", str(policy_file), "--spend", "120", "--budget", "100",
        "--period", "2026-11-01T07:00:00Z",
    )  # fmt: skip
    assert code == 0
    assert "spend 120 USD of 100 = 120%; no forecast" in out
    assert "rule warn (actual >= 50%): FIRES" in out
    assert "rule stop (actual >= 100%): FIRES" in out
    assert "rule forecast (forecast >= 150%): not reached (the notification has no forecast)" in out
    lines = [line.split() for line in out.splitlines()]
    assert lines[4][:3] == ["gemini-prod", "notify", "run"]
    assert any(line[:2] == ["disable_billing", "run"] for line in lines)
    assert any(line[:3] == ["disable_billing", "skipped", "shared-infra"] for line in lines)
    assert (
        "5 action(s) would run, 0 would be recorded as would_run, 1 skipped on protected projects."
        in out
    )


def test_plan_json(capsys: pytest.CaptureFixture[str], policy_file: Path) -> None:
    code, out, _ = _run(
        capsys, "plan", "--policy", str(policy_file), "--spend", "95", "--budget", "100",
        "--forecast", "1.6", "--period", "2026-11-01T07:00:00Z", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["notification"]["period"] == "2026-11-01T07:00:00Z"
    assert doc["notification"]["spend_ratio"] == "0.95"
    fired = {r["rule"]: r for r in doc["rules"] if r["fires"]}
    assert set(fired) == {"warn", "forecast"}
    projects = {p["project"]: p for p in fired["warn"]["projects"]}
    assert projects["shared-infra"]["protected"] is True
    assert projects["gemini-prod"]["actions"] == [
        {
            "name": "notify",
            "outcome": "run",
            "why": "log the crossing at WARNING and publish it to events_topic",
            "mutates": False,
            "permissions": [],
        }
    ]
    assert len(projects["gemini-prod"]["crossing"]) == 40


def test_plan_under_every_threshold(capsys: pytest.CaptureFixture[str], policy_file: Path) -> None:
    code, out, _ = _run(
        capsys, "plan", "--policy", str(policy_file), "--spend", "10", "--budget", "100"
    )
    assert code == 0
    assert "nothing fires: the guard would log this notification quietly" in out


def test_plan_in_dry_run_records_would_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "dry.json"
    path.write_text(json.dumps(_policy(dry_run=True)))
    code, out, _ = _run(
        capsys, "plan", "--policy", str(path), "--spend", "100", "--budget", "100", "--json"
    )
    assert code == 0
    outcomes = {
        a["outcome"] for r in json.loads(out)["rules"] for p in r["projects"] for a in p["actions"]
    }
    assert outcomes == {"would_run"}


def test_plan_from_a_notification_file(
    capsys: pytest.CaptureFixture[str], policy_file: Path, tmp_path: Path
) -> None:
    alert = Alert(ACCOUNT, BUDGET, cost=150, budget=100, period_start="2026-10-01T07:00:00Z")
    message = alert.message("123")
    plain, wrapped = tmp_path / "message.json", tmp_path / "push.json"
    plain.write_text(json.dumps({k: v for k, v in message.items() if k != "messageId"}))
    wrapped.write_text(
        json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"})
    )
    for path in (plain, wrapped):
        code, out, _ = _run(
            capsys, "plan", "--policy", str(policy_file), "--notification", str(path), "--json"
        )
        assert code == 0
        doc = json.loads(out)
        assert doc["notification"]["period"] == "2026-10-01T07:00:00Z"
        assert [r["rule"] for r in doc["rules"] if r["fires"]] == ["warn", "stop"]


def test_plan_refuses_what_the_guard_would_ignore(
    capsys: pytest.CaptureFixture[str], policy_file: Path, tmp_path: Path
) -> None:
    spoofed = tmp_path / "spoofed.json"
    spoofed.write_text(json.dumps(Alert(ACCOUNT, OTHER_BUDGET, cost=1, budget=1).message("1")))
    code, _, err = _run(
        capsys, "plan", "--policy", str(policy_file), "--notification", str(spoofed)
    )
    assert code == 2 and "(spoofed): budgetId" in err

    malformed = tmp_path / "malformed.json"
    message = Alert(ACCOUNT, BUDGET, cost=1, budget=1).message("1")
    message["data"] = base64.b64encode(b'{"costAmount": 1}').decode()
    malformed.write_text(json.dumps(message))
    code, _, err = _run(
        capsys, "plan", "--policy", str(policy_file), "--notification", str(malformed)
    )
    assert code == 2 and "data.budgetDisplayName is missing" in err

    code, _, err = _run(
        capsys,
        "plan",
        "--policy",
        str(policy_file),
        "--notification",
        str(malformed),
        "--spend",
        "1",
    )
    assert code == 2 and "cannot be combined with --spend" in err


def test_plan_budget_choice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = _policy()
    doc["budgets"][OTHER_BUDGET] = {"projects": ["gemini-staging"]}
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc))
    code, _, err = _run(capsys, "plan", "--policy", str(path), "--spend", "1", "--budget", "1")
    assert code == 2 and "choose one with --budget-id" in err
    code, out, _ = _run(
        capsys,
        "plan",
        "--policy",
        str(path),
        "--spend",
        "1",
        "--budget",
        "1",
        "--budget-id",
        OTHER_BUDGET,
        "--json",
    )
    assert code == 0
    assert {p["project"] for r in json.loads(out)["rules"] for p in r["projects"]} == {
        "gemini-staging"
    }
    code, _, err = _run(
        capsys,
        "plan",
        "--policy",
        str(path),
        "--spend",
        "1",
        "--budget",
        "0",
        "--budget-id",
        BUDGET,
    )
    assert code == 2 and "--budget must be greater than zero" in err
