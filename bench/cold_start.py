"""Cold path: a fresh interpreter that has functions_framework imported (as the runtime has)
imports ``main`` and handles one notification under every threshold.

Prints the median and spread over fresh processes, and the peak RSS of one such process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.sample import POLICY

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, resource, sys, time
import functions_framework
t0 = time.perf_counter()
import main
t1 = time.perf_counter()
from functions.alerts import cloud_event
from tests.sample import alert
event = cloud_event(alert(120).message("bench-1"))
t2 = time.perf_counter()
main.budget_guard(event)
t3 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_main": t1 - t0, "handle": t3 - t2, "rss_kib": rss}), file=sys.stderr)
"""


def run(samples: int = 15) -> dict[str, float]:
    """Both with and without cached bytecode (this machine sets PYTHONDONTWRITEBYTECODE=1)."""
    env = {**os.environ, "BUDGET_GUARD_POLICY": json.dumps(POLICY), "PYTHONPATH": str(ROOT)}
    env.pop("BUDGET_GUARD_GCP_ENDPOINT", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-d", ".", "main.py", "functions"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    result = measure(env, samples, "bytecode cached (.pyc)")
    print()
    with_source = {
        **env,
        "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="no-pyc-"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    measure(with_source, samples, "no .pyc: every module compiled from source")
    print()
    clients(env, samples=5)
    return result


CLIENTS = """
import json, sys, time
import functions_framework
t0 = time.perf_counter()
from google.cloud import billing_v1, firestore, pubsub_v1, secretmanager_v1, service_usage_v1
from google.cloud import cloudquotas_v1
import google.auth.transport.requests
print(json.dumps({"clients": time.perf_counter() - t0}), file=sys.stderr)
"""


def clients(env: dict[str, str], samples: int) -> float:
    """For comparison: what importing every client a firing may need costs, paid only then."""
    times = [_probe(CLIENTS, env)["clients"] * 1000 for _ in range(samples)]
    median = statistics.median(times)
    print(f"for comparison, importing every Google client an action may use ({samples} runs):")
    print(
        f"  billing, firestore, pubsub, secrets, service usage, quotas, auth {median:.0f} ms median"
    )
    return median


def measure(env: dict[str, str], samples: int, label: str) -> dict[str, float]:
    rows = [_probe(PROBE, env) for _ in range(samples)]
    imp = [r["import_main"] * 1000 for r in rows]
    handle = [r["handle"] * 1000 for r in rows]
    total = [a + b for a, b in zip(imp, handle, strict=True)]
    result = {
        "import_main_ms_median": statistics.median(imp),
        "handle_ms_median": statistics.median(handle),
        "total_ms_median": statistics.median(total),
        "total_ms_min": min(total),
        "total_ms_max": max(total),
        "peak_rss_mib": statistics.median(r["rss_kib"] for r in rows) / 1024,
    }
    print(
        f"cold path, {label} ({samples} fresh interpreters, functions_framework already imported):"
    )
    print(f"  import main                 {result['import_main_ms_median']:7.1f} ms median")
    print(f"  handle one quiet message    {result['handle_ms_median']:7.2f} ms median")
    print(
        f"  total                       {result['total_ms_median']:7.1f} ms median "
        f"(min {result['total_ms_min']:.1f}, max {result['total_ms_max']:.1f})"
    )
    print(f"  peak RSS of the process     {result['peak_rss_mib']:7.1f} MiB")
    return result


def _probe(code: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stderr line is a JSON object of figures."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    figures: dict[str, Any] = json.loads(out.stderr.strip().splitlines()[-1])
    return figures
