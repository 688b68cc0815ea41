"""The demo's second part: a leaked key, caught by the usage watchdog within its first ticks.

A standard Gemini key leaks at 02:13 on the 3rd of next month and starts burning $150 a minute
(gemini-2.5-pro output tokens, scripted minute by minute into the stand-in's Cloud Monitoring on
the stand-in's clock). The watchdog (``main.usage_watchdog`` under functions-framework) is ticked
every 5 simulated minutes with Pub/Sub push bodies whose ``publishTime`` is the simulated time;
the leak goes on until its key is gone. Six hours later Cloud Billing's budget notification for
that spend arrives at the guard, which acts on its own rules and reconciles the estimate.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.alerts import Alert
from functions.watchdog.usage import period_start
from local import services
from local.services import Service

__all__ = ["run_leak"]

LEAK_KEY = "b7e41d08-52c3-4f96-a1d7-6e0c9f3a8b25"  # "Gemini backend (standard key)"
MODEL = "gemini-2.5-pro"  # $10 per 1M output tokens
BURN = 150  # dollars a minute
OUT = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"
REQUESTS = "serviceruntime.googleapis.com/api/request_count"


def _admin(standin_url: str, path: str, body: Any, method: str = "POST") -> Any:
    request = urllib.request.Request(
        f"{standin_url}/_standin/{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _state(standin_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{standin_url}/_standin/state", timeout=10) as response:
        return dict(json.load(response))


def _key_live(standin_url: str) -> bool:
    keys = _state(standin_url)["projects"]["gemini-prod"]["keys"]
    return any(k["uid"] == LEAK_KEY and not k.get("deleteTime") for k in keys)


def _burn(standin_url: str, start: datetime, end: datetime) -> None:
    """The leaked key's usage for the minutes [start, end)."""
    points = []
    minute = start
    while minute < end:
        at = minute.isoformat()
        points.append(
            {
                "metric": OUT,
                "project": "gemini-prod",
                "labels": {"model": MODEL},
                "minute": at,
                "value": BURN * 100_000,
            }
        )
        points.append(
            {
                "metric": REQUESTS,
                "project": "gemini-prod",
                "labels": {"credential_id": f"apikey:{LEAK_KEY}"},
                "minute": at,
                "value": 900,
            }
        )
        minute += timedelta(minutes=1)
    if points:
        _admin(standin_url, "monitoring/points", {"points": points})


def _push(url: str, topic: str, message: dict[str, Any]) -> None:
    """A Pub/Sub push as the emulator sends it, but with a simulated ``publishTime``."""
    project = services.DEFAULT_PROJECT
    body = {"message": message, "subscription": f"projects/{project}/subscriptions/{topic}"}
    request = urllib.request.Request(
        f"{url}/projects/{project}/topics/{topic}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=120).read()


def _tick(function: Service, now: datetime, n: int) -> None:
    message = {
        "data": base64.b64encode(b"tick").decode(),
        "messageId": f"demo-tick-{n}",
        "publishTime": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    _push(function.url, "watchdog-ticks", message)


def _say_tick(lines: list[dict[str, Any]], show: Callable[[list[dict[str, Any]]], Any]) -> None:
    estimates = {r["project"]: r["estimate"] for r in lines if r["message"] == "watchdog estimate"}
    print(
        f"        watchdog: estimate this month ${estimates.get('gemini-prod', 0):,.0f} "
        f"for gemini-prod"
    )
    acted = [r for r in lines if r.get("rule") and r["message"] != "watchdog estimate"]
    for r in acted:
        if r["message"].startswith("crossing claimed"):
            print(f"      ! {r['project']}/{r['rule']}: {r['reason']}")
    for line in show(acted):
        print(line)


def run_leak(
    standin_url: str,
    seed: str,
    watchdog: Service,
    guard: Any,
    policy: dict[str, Any],
    show: Callable[[list[dict[str, Any]]], Any],
) -> None:
    """The leak, told tick by tick; ``guard`` (demo.Guard) is the budget function."""
    _admin(standin_url, "state", json.loads(seed), method="PUT")  # a fresh world: next month
    _admin(
        standin_url,
        "monitoring/scopes",
        {policy["watchdog"]["scope_project"]: ["gemini-prod", "shared-infra"]},
    )
    now = datetime.now(UTC)
    first = (now.replace(day=1) + timedelta(days=32)).replace(
        day=3, hour=2, minute=0, second=0, microsecond=0
    )
    leak = first + timedelta(minutes=13)
    rules = [r for r in policy["rules"] if r["basis"] in ("rate", "estimate")]
    print("\nPart 2: a leaked key, and the usage watchdog (Cloud Monitoring, every 5 minutes)")
    print("Watchdog rules: " + ", ".join(_rule(r) for r in rules))
    print(f"  {leak:%b %d %H:%M}  the standard Gemini key leaks: ${BURN}/minute of {MODEL}")
    burned_to = leak
    for n, minutes in enumerate(range(15, 50, 5)):
        tick = first + timedelta(minutes=minutes)
        if _key_live(standin_url):  # the leak goes on while its key works
            _burn(standin_url, burned_to, tick)
            burned_to = tick
        _admin(standin_url, "clock", {"now": tick.isoformat()})
        mark = len(watchdog.json_logs())
        _tick(watchdog, tick, n)
        print(f"  {tick:%b %d %H:%M}  tick")
        _say_tick(watchdog.json_logs()[mark:], show)
    spent = BURN * (burned_to - leak) / timedelta(minutes=1)
    print(
        f"  the leak lasted {(burned_to - leak) / timedelta(minutes=1):.0f} minutes: "
        f"${spent:,.0f}, its key is gone"
    )
    late = leak + timedelta(hours=6)
    cost = spent * 0.97  # Cloud Billing's own figure, hours later
    alert = Alert(
        billing_account_id=policy["billing_account"],
        budget_id=next(iter(policy["budgets"])),
        cost=cost,
        budget=1000,
        period_start=period_start(leak).strftime("%Y-%m-%dT%H:%M:%SZ"),
        alert_threshold=1.0,
        display_name="Gemini API (demo)",
    )
    print(
        f"  {late:%b %d %H:%M}  the budget notification for it arrives: ${cost:,.0f} "
        f"({cost / 1000:.0%}), six hours after the watchdog acted"
    )
    mark = guard.mark()
    message_id = "demo-late-bill"
    message = alert.message(message_id, late.strftime("%Y-%m-%dT%H:%M:%SZ"))
    _push(guard.service.url, "budget-alerts", message)  # delivered at the simulated time
    lines = guard.lines_for(message_id, mark)
    for line in show(lines):
        print(line)
    for r in lines:
        if r["message"] == "watchdog reconciliation":
            print(
                f"        reconciliation: estimate ${float(r['estimate']):,.0f} / billed "
                f"${float(r['cost_amount']):,.0f} = ratio {r['ratio']}"
            )


def _rule(rule: dict[str, Any]) -> str:
    if rule["basis"] == "rate":
        what = f"${rule['amount']} in {rule['window_minutes']} min"
    else:
        what = f"estimate at {rule['threshold']:.0%}"
    return f"{rule['name']} ({what}) -> {'+'.join(rule['actions'])}"
