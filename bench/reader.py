"""Monitoring reads for 50 guarded projects x 8 models: wall time and RPCs of one tick's reads.

The usage reader (``functions.watchdog.monitoring``) over the stand-in's gRPC ``MetricService``
(``python -m standin`` in its own process, so the reader's CPU time is measured apart):
15 minutes of output and input tokens and per-key requests, every project and model busy every
minute (6,000 token buckets, 750 key buckets). The first read includes the metric discovery.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from functions.watchdog import monitoring
from functions.watchdog.monitoring import UsageReader
from local import services
from standin.seedfile import DEFAULT_SEED_PATH

GL = "generativelanguage.googleapis.com"
PROJECTS = [f"guarded-{i:02d}" for i in range(50)]
MODELS = [f"gemini-model-{j}" for j in range(8)]
METRICS = (
    f"{GL}/generate_content_usage_output_token_count",
    f"{GL}/quota/generate_content_paid_tier_input_token_count/usage",
)


def _post(url: str, body: object) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def run(samples: int = 5) -> dict[str, float]:
    start = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    end = start + timedelta(minutes=15)
    minutes = [(start + timedelta(minutes=n)).isoformat() for n in range(15)]
    points = [
        {"metric": m, "project": p, "labels": {"model": model}, "minute": t, "value": 1000}
        for m in METRICS
        for p in PROJECTS
        for model in MODELS
        for t in minutes
    ] + [
        {
            "metric": "serviceruntime.googleapis.com/api/request_count",
            "project": p,
            "labels": {"credential_id": "apikey:key-1"},
            "minute": t,
            "value": 10,
        }
        for p in PROJECTS
        for t in minutes
    ]
    standin = services.standin_server(tempfile.mkdtemp(prefix="bench-"), DEFAULT_SEED_PATH)
    standin.start()
    walls, cpus, calls, rows = [], [], [], 0
    try:
        base = standin.url + "/_standin/"
        _post(base + "clock", {"now": (end + timedelta(minutes=5)).isoformat()})
        _post(base + "monitoring/scopes", {"guard-host": PROJECTS})
        _post(base + "monitoring/points", {"points": points})
        os.environ[monitoring.ENV_MONITORING_ENDPOINT] = standin.env[
            monitoring.ENV_MONITORING_ENDPOINT
        ]
        monitoring.reset()
        for _ in range(samples):
            reader = UsageReader("guard-host", PROJECTS, [GL])
            began, cpu = time.perf_counter(), time.process_time()
            rows = len(reader.tokens(start, end)) + len(reader.key_requests(start, end))
            walls.append(time.perf_counter() - began)
            cpus.append(time.process_time() - cpu)
            calls.append(reader.calls)
    finally:
        standin.stop()
    figures = {
        "first_s": walls[0],
        "median_s": statistics.median(walls[1:] or walls),
        "reader_cpu_s": statistics.median(cpus),
        "first_calls": calls[0],
        "calls": calls[-1],
        "rows": rows,
    }
    print(
        f"usage reads, 50 projects x 8 models, 15 min: first {figures['first_s']:.2f} s "
        f"({calls[0]} Monitoring calls, discovery included), then median "
        f"{figures['median_s']:.2f} s ({calls[-1]} calls: output, 4 input tiers, requests), "
        f"{rows} buckets; reader CPU {figures['reader_cpu_s']:.2f} s"
    )
    return figures


if __name__ == "__main__":
    run()
