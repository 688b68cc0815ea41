"""Static checks of infra/: formatting, the google provider schema (tfcheck), checkov."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.infra.helpers import INFRA, REPO, TFCHECK

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def test_terraform_fmt(terraform_binary: str, terraform_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [terraform_binary, "fmt", "-check", "-recursive", "-diff", "-no-color", "infra"],
        cwd=REPO,
        env=terraform_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, (
        f"terraform fmt -recursive infra would change:\n{proc.stdout}{proc.stderr}"
    )


def test_tfcheck_against_google_provider_schema() -> None:
    """Every google_* block matches the hashicorp/google 6.50.0 schema (offline validate-lite)."""
    if not TFCHECK.parent.is_dir():
        pytest.skip(
            f"{TFCHECK.parent} does not exist here (CI has it): the schema check needs tfcheck"
        )
    proc = subprocess.run(
        [str(TFCHECK), "--recursive", str(INFRA)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"tfcheck found problems:\n{report}"
    summary = report.strip().splitlines()[-1]
    assert summary.startswith("0 problems in "), report
    # It really looked: a run over nothing would say "in 0 resources".
    assert not summary.endswith(" 0 resources"), report


def test_checkov_has_no_failed_checks() -> None:
    """checkov (offline) passes; every skip is an inline #checkov:skip with a reason."""
    if not CHECKOV.exists():
        pytest.fail(
            f"{CHECKOV} is missing: run `make venv` (it installs checkov into .venv-checkov)."
        )
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(INFRA),
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "--quiet",
            "--output",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov did not report JSON (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    reports = doc if isinstance(doc, list) else [doc]
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']}:{c['file_line_range']})"  # noqa: E501
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    parse_errors = [e for r in reports for e in r.get("results", {}).get("parsing_errors", [])]
    # A file checkov cannot parse is a file whose resources it never checked.
    assert not parse_errors, f"checkov could not parse: {parse_errors}"
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert sum(r.get("summary", {}).get("passed", 0) for r in reports) > 0, (
        "checkov checked nothing"
    )


def test_every_checkov_skip_has_a_reason() -> None:
    skips = []
    for tf in INFRA.rglob("*.tf"):
        if ".terraform" in tf.parts:
            continue
        for n, line in enumerate(tf.read_text(encoding="utf-8").splitlines(), 1):
            if "checkov:skip" in line:
                skips.append((tf, n, line.strip()))
    for tf, n, line in skips:
        _, _, rest = line.partition("checkov:skip=")
        check, _, reason = rest.partition(":")
        assert check.startswith("CKV"), f"{tf}:{n}: malformed skip {line!r}"
        assert len(reason.strip()) >= 20, f"{tf}:{n}: a checkov skip needs a real reason: {line!r}"
