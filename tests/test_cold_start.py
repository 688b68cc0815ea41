"""A notification under every threshold must not import any Google client (cold-start cost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.sample import POLICY

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import functions_framework  # the runtime has imported it before it loads main
before = set(sys.modules)
import main
from functions.alerts import Alert, cloud_event
from tests.sample import alert
main.budget_guard(cloud_event(alert({cost}).message("cold-1")))
roots = ("google", "grpc", "requests", "urllib3", "proto")
new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in roots)
print(json.dumps(new))
"""


def new_google_modules(cost: float) -> list[str]:
    env = {**os.environ, "BUDGET_GUARD_POLICY": json.dumps(POLICY), "PYTHONPATH": str(ROOT)}
    env.pop("BUDGET_GUARD_GCP_ENDPOINT", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(cost=cost)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_under_every_threshold_imports_no_google_client() -> None:
    assert new_google_modules(120) == []


def test_the_probe_sees_imports_when_a_rule_fires(firestore_emulator: object) -> None:
    # The same probe past the 50 % rule builds the Firestore ledger: the check above can fail.
    loaded = new_google_modules(600)
    assert any(m.startswith("google.cloud.firestore") for m in loaded)
