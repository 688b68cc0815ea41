"""One usage watchdog tick for 50 guarded projects x 8 models: wall time, Monitoring calls, RSS.

The stand-in serves Monitoring (gRPC) with 15 minutes of usage for every (project, model): output
tokens, the paid-tier input-token quota usage (twice, once per limit name, as Google writes it)
and requests per API key; the Firestore emulator holds the buckets, the state and the ledger.
The tick runs in a child process (so its peak RSS is the watchdog's alone) through the real
UsageReader, UsageStore, state and executor: a first, cold tick (client imports, metric
discovery) and a warm one five minutes later. Goals: under 5 s, at most 3 Monitoring calls per
metric with a metrics scope, peak RSS under 150 MiB.

    .venv/bin/python -m bench.watchdog
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local import services

__all__ = ["run"]

PROJECTS = [f"bench-project-{i:02d}" for i in range(50)]
MODELS = [
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3-flash",
    "gemini-3.1-pro-preview",
    "gemini-3.5-flash",
    "gemini-3.8-flash",
    "gemini-2.0-flash",
]
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
GL = "generativelanguage.googleapis.com"
HOST = "bench-host"
BUDGET_IDS = [f"00000000-0000-4000-8000-0000000000{i:02d}" for i in range(5)]


def policy() -> dict[str, Any]:
    return {
        "billing_account": "01D4EE-079462-DFD6EC",
        "budgets": {
            b: {"projects": PROJECTS[i * 10 : (i + 1) * 10], "currency": "USD", "amount": 1e9}
            for i, b in enumerate(BUDGET_IDS)
        },
        "rules": [
            {"name": "early", "basis": "estimate", "threshold": 0.8, "actions": ["notify"]},
            {
                "name": "leak",
                "basis": "rate",
                "window_minutes": 10,
                "amount": 1e9,
                "actions": ["notify"],
            },
        ],
        "ledger": {"project": services.DEFAULT_PROJECT, "database": f"bench-wd-{int(time.time())}"},
        "watchdog": {"scope_project": HOST},
    }


def points(minutes: int = 15) -> list[dict[str, Any]]:
    out = []
    for n in range(minutes):
        minute = (T0 + timedelta(minutes=n)).isoformat()
        for i, project in enumerate(PROJECTS):
            for model in MODELS:
                labels = {"model": model}
                out.append(
                    {
                        "metric": f"{GL}/generate_content_usage_output_token_count",
                        "project": project,
                        "labels": labels,
                        "minute": minute,
                        "value": 1000,
                    }
                )
                out.append(
                    {
                        "metric": f"{GL}/quota/generate_content_paid_tier_input_token_count/usage",
                        "project": project,
                        "labels": labels,
                        "minute": minute,
                        "value": 5000,
                    }
                )
            out.append(
                {
                    "metric": "serviceruntime.googleapis.com/api/request_count",
                    "project": project,
                    "labels": {"credential_id": f"apikey:key-{i:02d}"},
                    "minute": minute,
                    "value": 30,
                }
            )
    return out


def child() -> None:
    """One cold and one warm tick; prints a JSON line of figures."""
    from functions.executor import Executor
    from functions.ledger.firestore import FirestoreLedger
    from functions.log import Logger
    from functions.policy import load_policy
    from functions.watchdog.tick import Watchdog

    pol = load_policy()
    log = Logger(stream=open(os.devnull, "w"))  # noqa: SIM115 - the process's lifetime
    executor = Executor(pol, lambda: FirestoreLedger(pol.ledger), log)
    dog = Watchdog(pol, executor, log=log)
    figures: dict[str, Any] = {}
    for name, at in (("cold", T0 + timedelta(minutes=15)), ("warm", T0 + timedelta(minutes=20))):
        start = time.perf_counter()
        report = dog.tick(at)
        figures[f"{name}_s"] = time.perf_counter() - start
        figures[f"{name}_calls"] = dog._client("reader").calls
        figures[f"{name}_estimates"] = sum(len(v) for v in report["estimates"].values())
    reader = dog._client("reader")
    figures["metrics"] = 2 + len(reader._input_metrics())  # output, input tier(s), requests
    figures["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def run() -> dict[str, Any]:
    from standin.server import StandIn

    workdir = Path(tempfile.mkdtemp(prefix="bench-wd-"))
    firestore = services.firestore_emulator(workdir)
    services.start_all([firestore])
    try:
        with StandIn() as standin:
            standin.set_scope(HOST, PROJECTS)
            standin.add_points(points())
            standin.set_clock(T0 + timedelta(minutes=25))  # every point visible
            env = {
                **os.environ,
                **firestore.env,
                "BUDGET_GUARD_POLICY": json.dumps(policy()),
                "BUDGET_GUARD_MONITORING_ENDPOINT": standin.monitoring_endpoint,
                "BUDGET_GUARD_GCP_ENDPOINT": standin.url,  # the Catalog's daily drift check
                "PYTHONPATH": str(services.REPO_ROOT),
            }
            proc = subprocess.run(
                [sys.executable, "-m", "bench.watchdog", "--child"],
                cwd=services.REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"the bench tick failed:\n{proc.stderr[-3000:]}")
            figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
            rpc = standin.calls()
    finally:
        firestore.stop()
    lists = sum(1 for c in rpc if str(c["method"]).endswith("timeSeries.list"))
    figures["per_metric"] = lists / 2 / figures["metrics"]
    warm_calls = figures["warm_calls"] - figures["cold_calls"]
    print(f"Usage watchdog tick, {len(PROJECTS)} projects x {len(MODELS)} models, 15 minutes:")
    print(
        f"  cold tick {figures['cold_s'] * 1000:,.0f} ms, warm tick {figures['warm_s'] * 1000:,.0f}"
        f" ms (goal < 5 s)"
    )
    print(
        f"  Monitoring calls: {figures['cold_calls']} (first tick, with metric discovery), "
        f"{warm_calls} (second): {figures['per_metric']:.1f} ListTimeSeries per metric over "
        f"{figures['metrics']} metrics (goal <= 3)"
    )
    print(f"  peak RSS of the ticking process {figures['rss_mib']:.0f} MiB (goal < 150 MiB)")
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        run()
