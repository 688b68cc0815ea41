"""The demo: watch the guard react to a month of budget notifications, locally, in one command.

Starts the Pub/Sub and Firestore emulators, the Google API stand-in and the guard under
functions-framework behind a push subscription, publishes a realistic month of notifications for
a $1,000 budget (quiet periodic ones, a forecast crossing, 50 %, 90 %, past 100 %, duplicates, a
Pub/Sub redelivery, a late out-of-order one, a spoof, a malformed one), prints what the guard
decided and did for each, and ends with the state read back from the stand-in and the ledger.
Everything it started is stopped at the end and on Ctrl-C.

    make demo            # or: .venv/bin/python -m local.demo [--dry-run] [--keep-logs]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.alerts import Alert
from local import services
from local.demo_leak import run_leak
from local.services import Service

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
POLICY_FILE = HERE / "demo-policy.json"
SEED_FILE = services.REPO_ROOT / "standin" / "seed.json"
PROJECT = services.DEFAULT_PROJECT
BUDGET = 1000
KEY_NAME = re.compile(r"projects/[^/ ]+/locations/global/keys/")


@dataclass(frozen=True)
class Step:
    """One notification of the month: what Cloud Billing (or an attacker) sends that day."""

    day: int
    label: str
    cost: float = 0
    forecast: float | None = None
    alert: float | None = None
    spoof: bool = False
    malformed: bool = False
    redeliver: bool = False


MONTH = [
    Step(1, "periodic notification, no threshold", 0),
    Step(3, "periodic", 85),
    Step(6, "periodic", 160),
    Step(8, "forecast passes 100 %", 240, forecast=1.05),
    Step(10, "periodic", 310, forecast=1.05),
    Step(12, "spoofed: someone else's budget, huge spend", 99999, spoof=True),
    Step(14, "actual passes 50 %", 520, forecast=1.1, alert=0.5),
    Step(14, "Cloud Billing sends the same again", 520, forecast=1.1, alert=0.5),
    Step(17, "periodic", 640, forecast=1.1, alert=0.5),
    Step(19, "malformed message", malformed=True),
    Step(21, "actual passes 90 %: a leaked key?", 910, forecast=1.3, alert=0.9),
    Step(21, "Pub/Sub redelivers that message", 910, forecast=1.3, alert=0.9, redeliver=True),
    Step(24, "actual passes 100 %", 1040, forecast=1.4, alert=1.0),
    Step(24, "duplicate", 1040, forecast=1.4, alert=1.0),
    Step(25, "late, out of order (from day 17)", 640, forecast=1.1, alert=0.5),
    Step(27, "periodic, still over", 1100, forecast=1.4, alert=1.0),
]


def period_start(now: datetime) -> str:
    """The start of this month's budget period (the budget's time zone is UTC-8 here)."""
    return now.replace(day=1, hour=8, minute=0, second=0, microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def build(step: Step, policy: dict[str, Any], start: str) -> Alert:
    budget_id = next(iter(policy["budgets"]))
    return Alert(
        billing_account_id=policy["billing_account"],
        budget_id="0badc0de-0000-4000-8000-000000000000" if step.spoof else budget_id,
        cost=step.cost,
        budget=BUDGET,
        period_start=start,
        alert_threshold=step.alert,
        forecast_threshold=step.forecast,
        display_name="Gemini API (demo)",
    )


class Guard:
    """The running guard: its log, read back per message id."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def mark(self) -> int:
        """A position in the log: ``lines_for`` reads only what comes after it."""
        return len(self.service.json_logs())

    def lines_for(self, message_id: str, after: int, timeout: float = 60) -> list[dict[str, Any]]:
        """The guard's lines about ``message_id`` after ``after``, once it has finished with it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [
                r for r in self.service.json_logs()[after:] if r.get("message_id") == message_id
            ]
            if lines and services.finished(lines[-1]):
                return lines
            time.sleep(0.1)
        raise TimeoutError(f"the guard did not finish message {message_id} in {timeout:.0f} s")


def show(lines: list[dict[str, Any]]) -> Iterator[str]:
    """The log lines worth a newcomer's eye, one short line each; duplicates summed up."""
    duplicates = []
    for r in lines:
        msg, sev = r.get("message", ""), r.get("severity", "")
        where = f"{r['project']}/{r['rule']}" if "project" in r and "rule" in r else ""
        if msg.startswith("duplicate"):
            duplicates.append(where)
            continue
        if msg == "notification handled" or msg.startswith(
            ("crossing claimed", "budget threshold crossed")
        ):
            continue
        if msg.startswith("watchdog reconciliation"):
            continue  # part 2 prints the ratio
        if msg.startswith("under every threshold"):
            msg = "under every threshold: nothing to do"
        mark = {"WARNING": "!", "ERROR": "X"}.get(sev, " ")
        msg = KEY_NAME.sub("key ", msg).replace("projects/demo-budget-guard/topics/", "topic ")
        yield f"      {mark} {where + ': ' if where else ''}{msg}"
    if duplicates:
        rules = ", ".join(dict.fromkeys(d.split("/")[1] for d in duplicates))
        yield f"        already handled, not repeated: {len(duplicates)} crossing(s) ({rules})"


def push_body(message_id: str, alert: Alert, topic: str) -> bytes:
    message = alert.message(message_id)
    return json.dumps({"message": message, "subscription": f"{topic}-push"}).encode()


def run(dry_run: bool, workdir: Path) -> int:
    policy = json.loads(POLICY_FILE.read_text())
    policy["dry_run"] = dry_run
    start = period_start(datetime.now(UTC))
    with ExitStack() as stack:
        print(
            "Starting the Pub/Sub and Firestore emulators and the Google API stand-in...",
            flush=True,
        )
        pubsub, firestore = services.pubsub_emulator(workdir), services.firestore_emulator(workdir)
        standin = services.standin_server(workdir, SEED_FILE)
        for s in (pubsub, firestore, standin):
            stack.callback(s.stop)
        services.start_all([pubsub, firestore, standin])
        env = {**pubsub.env, **firestore.env}
        os.environ.update(env)
        guard_env = {
            **env,
            "BUDGET_GUARD_POLICY": json.dumps(policy),
            "BUDGET_GUARD_GCP_ENDPOINT": standin.url,
            "BUDGET_GUARD_MONITORING_ENDPOINT": standin.env["BUDGET_GUARD_MONITORING_ENDPOINT"],
            "BUDGET_GUARD_RETRY_DEADLINE": "10",
        }
        print(
            "Starting the guard and the usage watchdog (functions-framework, main.budget_guard "
            "and main.usage_watchdog)...",
            flush=True,
        )
        function = services.function_server(workdir, guard_env)
        watchdog = services.function_server(
            workdir,
            {**guard_env, **standin.env, "BUDGET_GUARD_SIMULATED_TIME": "1"},  # next month's ticks
            target="usage_watchdog",
        )
        for f in (function, watchdog):
            stack.callback(f.stop)
        services.start_all([function, watchdog])
        guard = Guard(function)
        alerts_topic = "budget-alerts"
        topic_path, sub_path = services.create_push_topic(
            PROJECT,
            alerts_topic,
            services.push_endpoint(function.url, f"projects/{PROJECT}/topics/{alerts_topic}"),
        )
        events = _events_subscription(policy["events_topic"])
        print(f"Budget: ${BUDGET} a month for gemini-prod and shared-infra (protected).")
        month_rules = [r for r in policy["rules"] if r["basis"] in ("actual", "forecast")]
        print(f"Rules: {', '.join(_rule_text(r) for r in month_rules)}")
        print(f"Dry run: {dry_run}\n")
        print(f"{'Day':>4}  {'Spend':>9}  Notification")
        last: tuple[str, Alert] | None = None
        for step in MONTH:
            alert = build(step, policy, start)
            spend = "" if step.malformed else f"${step.cost:.0f}"
            ratio = f"{step.cost / BUDGET:.0%}" if not step.malformed else ""
            print(f"{step.day:>4}  {spend:>6} {ratio:>4}  {step.label}")
            mark = guard.mark()
            if step.redeliver and last is not None:
                message_id = last[0]
                request = urllib.request.Request(
                    function.url + f"/projects/{PROJECT}/topics/{alerts_topic}",
                    data=push_body(message_id, last[1], sub_path),
                    headers={"Content-Type": "application/json"},
                )
                urllib.request.urlopen(request, timeout=60).read()
            elif step.malformed:
                message_id = services.publish(
                    topic_path, b"{'this is': not JSON", alert.attributes()
                )
            else:
                message_id = services.publish(topic_path, alert.payload(), alert.attributes())
            last = (message_id, alert)
            for line in show(guard.lines_for(message_id, mark)):
                print(line)
        print()
        _print_state(standin.url, policy, events, dry_run)
        run_leak(
            standin.url,
            SEED_FILE.read_text(),
            watchdog,
            guard,
            policy,
            show,
        )
        _print_ledger(policy)
    return 0


def _rule_text(rule: dict[str, Any]) -> str:
    return (
        f"{rule['name']} at {rule['threshold']:.0%} {rule['basis']} -> {'+'.join(rule['actions'])}"
    )


def _events_subscription(topic_path: str) -> str:
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    publisher.create_topic(name=topic_path)
    sub = topic_path.replace("/topics/", "/subscriptions/") + "-audit"
    subscriber.create_subscription(name=sub, topic=topic_path)
    return sub


def _print_state(standin_url: str, policy: dict[str, Any], events_sub: str, dry_run: bool) -> None:
    with urllib.request.urlopen(standin_url + "/_standin/state", timeout=10) as response:
        state = json.load(response)
    print("State read back from the stand-in:")
    for name, project in state["projects"].items():
        billing = project.get("billing_account") or "UNLINKED"
        gemini = project.get("services", {}).get("generativelanguage.googleapis.com", "-")
        print(f"  {name:<15} billing: {billing:<38} Gemini API: {gemini}")
        for key in project.get("keys", []):
            status = "deleted" if key.get("deleteTime") else "active "
            note = key.get("annotations", {}).get("budget-guard/replaces")
            extra = f"  (replaces {note.rsplit('/', 1)[-1]})" if note else ""
            print(
                f"      key {status} {key.get('displayName', '')!r:<28} {key.get('uid', '')}{extra}"
            )
    _print_quotas(state)
    for secret, data in state.get("secrets", {}).items():
        print(
            f"  secret {secret}: {len(data.get('versions', []))} version(s) (key strings not shown)"
        )
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    pulled = subscriber.pull(subscription=events_sub, max_messages=100, timeout=10)
    print(f"  events on {policy['events_topic']}: {len(pulled.received_messages)}")
    if dry_run:
        print("\nDry run: the guard recorded what it would do and changed nothing.")


def _print_quotas(state: dict[str, Any]) -> None:
    """Gemini requests per minute in force per model (the throttle's doing), per project."""
    for name, quotas in state.get("quotas", {}).items():
        rpm = quotas.get("infos", {}).get("GenerateRequestsPerMinutePerProjectPerModel")
        if not rpm:
            continue
        held = {
            p["dimensions"].get("model"): p["grantedValue"] for p in quotas["preferences"].values()
        }
        shown = ", ".join(f"{m} {held.get(m, v)}" for m, v in rpm["values"].items())
        print(f"  {name:<15} Gemini requests/min: {shown}")


def _print_ledger(policy: dict[str, Any]) -> None:
    from google.cloud import firestore

    db = firestore.Client(
        project=policy["ledger"]["project"], database=policy["ledger"]["database"]
    )
    records: list[dict[str, Any]] = sorted(
        (d.to_dict() or {} for d in db.collection("crossings").stream()),
        key=lambda r: str(r["claimed_at"]),
    )
    print(
        f"\nLedger (Firestore {policy['ledger']['database']}): "
        f"{len(records)} crossing(s), each acted on once"
    )
    for r in records:
        outcomes = ", ".join(f"{a}={v['status']}" for a, v in r["actions"].items())
        print(
            f"  {str(r['period'])[:10]}  {r['rule']:<9} {r['project']:<13} {r['state']:<5} "
            f"messages={len(r['message_ids'])}  {outcomes}"
        )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dry-run", action="store_true", help="run the guard in dry-run mode")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the services' logs and print where"
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="budget-guard-demo-"))
    try:
        with _sigterm_as_interrupt():
            return run(args.dry_run, workdir)
    except KeyboardInterrupt:
        print("\nInterrupted: everything the demo started has been stopped.", file=sys.stderr)
        return 130
    finally:
        if args.keep_logs:
            print(f"Logs: {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
