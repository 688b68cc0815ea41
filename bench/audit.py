"""``budget-guard audit`` over 20 projects x 25 API keys with 30 days of usage: wall time, calls.

The stand-in serves API Keys (REST) and Monitoring (gRPC) with one ``request_count`` point a day
per key (and two APIs for a third of them); the audit runs in-process through the real clients,
as an operator runs it: keys listed page by page (the stand-in's default page holds 2 keys, so
13 list calls per project here), one daily-aligned Monitoring query per project, every key
classified. No key string is read. Goal: well under a minute, one Monitoring call per project.

    .venv/bin/python -m bench.audit
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["run"]

PROJECTS = [f"audit-bench-{i:02d}" for i in range(20)]
KEYS_PER_PROJECT = 25
GL = "generativelanguage.googleapis.com"
KINDS: list[dict[str, Any]] = [
    {},
    {"apiTargets": [{"service": GL}]},
    {"browserKeyRestrictions": {"allowedReferrers": ["https://x/*"]}},
    {"apiTargets": [{"service": "maps-backend.googleapis.com"}, {"service": GL}]},
    {"serverKeyRestrictions": {"allowedIps": ["203.0.113.1"]}, "apiTargets": [{"service": GL}]},
]


def _uid(p: int, k: int) -> str:
    return f"b0000000-0000-4000-8000-{p:06d}{k:06d}"


def world() -> dict[str, Any]:
    projects: dict[str, Any] = {}
    for p, project in enumerate(PROJECTS):
        keys = [
            {
                "uid": _uid(p, k),
                "displayName": f"key {k}",
                "keyString": f"AIzaSyBENCH-{p:04d}-{k:04d}-not-a-real-key-x"[:39],
                "restrictions": KINDS[k % len(KINDS)],
                "createTime": "2025-01-01T00:00:00Z",
            }
            for k in range(KEYS_PER_PROJECT)
        ]
        projects[project] = {"number": f"9{p:011d}", "services": {GL: "ENABLED"}, "keys": keys}
    return {"projects": projects, "secrets": {}}


def points(now: datetime) -> list[dict[str, Any]]:
    out = []
    for p, project in enumerate(PROJECTS):
        for k in range(KEYS_PER_PROJECT):
            services = [GL] + (["maps-backend.googleapis.com"] if k % 3 == 0 else [])
            for day in range(1, 30):
                minute = (now - timedelta(days=day)).replace(second=0, microsecond=0)
                out += [
                    {
                        "metric": "serviceruntime.googleapis.com/api/request_count",
                        "project": project,
                        "labels": {"credential_id": f"apikey:{_uid(p, k)}", "service": s},
                        "minute": minute.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "value": 10 + k,
                    }
                    for s in services
                ]
    return out


def run() -> None:
    from functions import gcp
    from functions.cli import main
    from functions.watchdog import monitoring
    from standin import StandIn

    policy = {
        "billing_account": "01D4EE-079462-DFD6EC",
        "budgets": {"00000000-0000-4000-8000-000000000001": {"projects": PROJECTS}},
        "rules": [{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}],
        "ledger": {"project": "audit-bench", "database": "unused"},
    }
    with StandIn(world()) as standin, tempfile.TemporaryDirectory() as tmp:
        written = standin.add_points(points(datetime.now(UTC)))
        path = Path(tmp) / "policy.json"
        path.write_text(json.dumps(policy))
        os.environ[gcp.ENV_ENDPOINT] = standin.url
        os.environ[monitoring.ENV_MONITORING_ENDPOINT] = standin.monitoring_endpoint
        gcp.reset()
        monitoring.reset()
        out = io.StringIO()
        started = time.perf_counter()
        with redirect_stdout(out):
            code = main(["audit", "--policy", str(path), "--json"])
        wall = time.perf_counter() - started
        doc = json.loads(out.getvalue())
        keys = sum(len(p["keys"]) for p in doc["projects"])
        lists = len(standin.calls("apikeys.projects.locations.keys.list"))
        series = len(standin.calls("monitoring.projects.timeSeries.list"))
    print("audit (20 projects x 25 keys, 30 days of request_count, in-process, stand-in):")
    print(f"  {keys} keys, {written} points scripted, exit {code}")
    print(f"  wall {wall:.2f} s; API Keys list calls {lists}, Monitoring timeSeries.list {series}")


if __name__ == "__main__":
    run()
