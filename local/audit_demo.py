"""The key audit of the demo's projects, locally: ``python -m local.audit_demo [--fix-plan]``.

Starts the Google API stand-in with the demo world (``standin/seed.json``: the guarded projects
of ``local/demo-policy.json``), scripts 30 days of ``request_count`` per API key into its
Monitoring (the AI Studio key calls Gemini every day, the Maps key calls Maps, the standard
backend key has been silent since Google stopped accepting standard keys on the Gemini API),
and runs ``budget-guard audit`` against it through the real clients, as an operator would.
``--fix-plan`` also shows what ``audit --fix`` would change (and changes nothing: no ``--yes``,
no terminal). No emulator is needed. The exit status is the audit's (1: a high finding).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["USAGE", "main", "points"]

HERE = Path(__file__).resolve().parent
POLICY_FILE = HERE / "demo-policy.json"
REQUESTS = "serviceruntime.googleapis.com/api/request_count"
# key uid -> (project, service, requests per day)
USAGE = {
    "3f9c2b1e-7a4d-4e8b-9c61-2d5f8a0b7e13": (
        "gemini-prod",
        "generativelanguage.googleapis.com",
        1607,
    ),
    "e2a85c7f-19b6-4d30-8f4e-c3b1a6d9052e": ("gemini-prod", "maps-backend.googleapis.com", 508),
}


def points(now: datetime, days: int = 30) -> list[dict[str, Any]]:
    """One point a day per key of USAGE, at this minute of each of the last ``days`` days."""
    minute = now.replace(second=0, microsecond=0)
    return [
        {
            "metric": REQUESTS,
            "project": project,
            "labels": {"credential_id": f"apikey:{uid}", "service": service},
            "minute": (minute - timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "value": per_day,
        }
        for uid, (project, service, per_day) in USAGE.items()
        for day in range(1, days)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.audit_demo", description=__doc__)
    parser.add_argument("--fix-plan", action="store_true", help="also show audit --fix's plan")
    args = parser.parse_args(argv)
    from functions import gcp
    from functions.cli import main as cli
    from functions.watchdog import monitoring
    from standin import StandIn

    with StandIn() as standin:
        standin.add_points(points(datetime.now(UTC)))
        os.environ[gcp.ENV_ENDPOINT] = standin.url
        os.environ[monitoring.ENV_MONITORING_ENDPOINT] = standin.monitoring_endpoint
        gcp.reset()
        monitoring.reset()
        print(f"$ budget-guard audit --policy {POLICY_FILE.relative_to(HERE.parent)}", flush=True)
        code = cli(["audit", "--policy", str(POLICY_FILE)])
        if args.fix_plan:
            print(f"\n$ budget-guard audit --fix --policy {POLICY_FILE.relative_to(HERE.parent)}")
            sys.stdout.flush()
            cli(["audit", "--fix", "--policy", str(POLICY_FILE)])
    return code


if __name__ == "__main__":
    sys.exit(main())
