"""Publish -> billing unlinked, through the emulator pipeline.

Pub/Sub emulator push -> functions-framework -> the guard -> Firestore emulator ledger -> the
stand-in's Cloud Billing. Each sample raises the budget amount, which re-arms the rule, and
re-links billing first; the clock stops when the stand-in reports the project unlinked.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from local import services
from standin.server import StandIn
from tests.sample import ACCOUNT, POLICY, alert

PROJECT = "gemini-prod"


def run(samples: int = 10) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    policy = json.loads(json.dumps(POLICY))
    policy["rules"] = [r for r in policy["rules"] if r["name"] == "stop"]
    policy["rules"][0]["actions"] = ["disable_billing"]
    policy["ledger"] = {"project": services.DEFAULT_PROJECT, "database": "bench"}
    pubsub, firestore = services.pubsub_emulator(workdir), services.firestore_emulator(workdir)
    services.start_all([pubsub, firestore])
    import os

    os.environ.update({**pubsub.env, **firestore.env})
    timings = []
    with StandIn() as standin:
        env = {**pubsub.env, **firestore.env, "BUDGET_GUARD_POLICY": json.dumps(policy)}
        function = services.function_server(
            workdir, {**env, "BUDGET_GUARD_GCP_ENDPOINT": standin.url}
        )
        try:
            function.start()
            topic = f"bench-{int(time.time())}"
            topic_path, sub = services.create_push_topic(
                services.DEFAULT_PROJECT,
                topic,
                services.push_endpoint(
                    function.url, f"projects/{services.DEFAULT_PROJECT}/topics/{topic}"
                ),
            )
            for i in range(samples + 1):  # the first sample warms the function (imports, clients)
                with standin.world.lock:
                    standin.world.projects[PROJECT].billing_account = f"billingAccounts/{ACCOUNT}"
                message = alert(2000 + i, budget=1000 + i)
                start = time.perf_counter()
                services.publish(topic_path, message.payload(), message.attributes())
                while standin.state["projects"][PROJECT]["billing_account"]:
                    if time.perf_counter() - start > 60:
                        raise TimeoutError(function.log_tail())
                    time.sleep(0.002)
                timings.append((time.perf_counter() - start) * 1000)
            services.delete_push_topic(topic_path, sub)
        finally:
            function.stop()
            pubsub.stop()
            firestore.stop()
    first, rest = timings[0], timings[1:]
    result = {
        "first_ms": first,
        "median_ms": statistics.median(rest),
        "min_ms": min(rest),
        "max_ms": max(rest),
    }
    print(
        "publish -> billing unlinked through the emulator pipeline "
        f"({samples} samples after 1 warm-up):"
    )
    print(f"  first (cold function)       {first:7.0f} ms")
    print(
        f"  median                      {result['median_ms']:7.0f} ms "
        f"(min {result['min_ms']:.0f}, max {result['max_ms']:.0f})"
    )
    return result
