"""Notification -> last unlink: 200 projects under one budget crossing 100 % at once.

One CloudEvent posted to a functions-framework server running the guard (Firestore emulator
ledger, the stand-in's APIs); the rule rotates keys, disables the Gemini API and unlinks billing in
every project. The clock runs from the post to the last ``PUT billingInfo`` the stand-in answered
200 (its call log), and to the delivery's answer.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from local import services
from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import cloud_event_request, post

ACTIONS = ["notify", "rotate_keys", "disable_service", "disable_billing"]


def run(projects: int = 200) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    seed = worlds.many_projects_seed(projects, "fleet")
    names = sorted(p for p in seed["projects"] if p.startswith("fleet-"))
    policy = worlds.policy(
        "bench-fleet",
        budgets={worlds.BUDGET: {"projects": names, "currency": "USD"}},
        rules=[{"name": "stop", "threshold": 1.0, "basis": "actual", "actions": ACTIONS}],
        secret=None,
    )
    firestore = services.firestore_emulator(workdir)
    services.start_all([firestore])
    os.environ.update(firestore.env)
    with StandIn(seed) as standin:
        env = {
            **firestore.env,
            "BUDGET_GUARD_POLICY": json.dumps(policy),
            "BUDGET_GUARD_GCP_ENDPOINT": standin.url,
        }
        function = services.function_server(workdir, env)
        try:
            function.start()
            msg = worlds.alert(1500, alert_threshold=1.0).message(f"fleet-{int(time.time())}")
            started = time.time()
            answer = post(function.url, cloud_event_request(msg), timeout=600)
            unlinks = [c for c in standin.calls(worlds.BILLING_PUT) if c["status"] == 200]
            still = [p for p in names if standin.state["projects"][p]["billing_account"]]
        finally:
            function.stop()
            firestore.stop()
    last = max(datetime.fromisoformat(c["at"]).timestamp() for c in unlinks) if unlinks else 0
    result = {
        "projects": projects,
        "unlinked": len(names) - len(still),
        "last_unlink_s": last - started if unlinks else float("nan"),
        "answered_s": answer.seconds,
        "status": answer.status,
    }
    print(f"notification -> last unlink, {projects} projects under one budget at 100 %:")
    print(f"  projects unlinked           {result['unlinked']:7d} / {projects}")
    print(f"  last unlink after           {result['last_unlink_s']:7.1f} s")
    print(f"  delivery answered after     {result['answered_s']:7.1f} s (HTTP {answer.status})")
    return result


if __name__ == "__main__":
    run()
