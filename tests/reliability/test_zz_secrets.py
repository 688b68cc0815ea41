"""Secrets: no key string and no credential in any log line, event or ledger record the guard
produced during the reliability suite. Runs last (file order) so it sees the whole suite's
evidence; run alone, its own rotation scenario still gives it something to scan.

The check is proven able to fail: the self-test plants key strings and credentials and expects
every one to be found.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    GuardProcess,
    cloud_event_request,
    events_topic,
    ledger_records,
    post,
    pull_events,
    record_figures,
)
from tests.reliability.secrets_scan import Evidence, scan

SEED_KEY = "AIzaSyFAKE-standin-demo-gemini-key-0001"
GENERATED = "AQ.Ab8RN6" + "x" * 47


def test_the_check_can_fail() -> None:
    planted = [
        ("log", json.dumps({"severity": "INFO", "message": f"rotated, new key {GENERATED}"})),
        ("event", json.dumps({"reason": "x", "budget_display_name": f"team {SEED_KEY}"})),
        ("ledger", json.dumps({"actions": {"rotate_keys": {"detail": f"url?key={SEED_KEY}&x"}}})),
        ("log", "-----BEGIN PRIVATE KEY-----\nMIIEv..."),
        ("log", '{"type": "service_account", "private_key": "-----BEGIN RSA PRIVATE KEY-----"}'),
        ("log", "Authorization: Bearer ya29.a0AfB_byC1234567890abcdefghijklmnop"),
        ("log", "refresh_token=1//0gAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"),
        ("log", "client secret GOCSPX-AbCdEfGhIjKlMnOpQrStUvWx"),
        ("clean", json.dumps({"message": "key [REDACTED] rotated", "key": "projects/1/keys/abc"})),
    ]
    hits = scan(planted, {SEED_KEY, GENERATED})
    found = {(h.where, h.what) for h in hits}
    assert ("log", "key string from the stand-in") in found
    assert ("event", "key string from the stand-in") in found
    assert ("ledger", "key string from the stand-in") in found
    for what in (
        "auth API key",
        "standard API key",
        "PEM private key",
        "service account key JSON",
        "OAuth access token",
        "bearer token",
        "OAuth refresh token",
        "OAuth client secret",
    ):
        assert any(h.what == what for h in hits), what
    assert not [h for h in hits if h.where == "clean"]
    assert all(SEED_KEY not in h.excerpt and GENERATED not in h.excerpt for h in hits)
    # An unknown key string of a known shape is caught by its shape alone.
    assert scan([("log", "AIzaSy" + "Q" * 33)], set())


def test_rotation_with_a_key_string_in_the_budget_name(
    start_guards: Callable[..., list[GuardProcess]],
    world: Callable[[Any], StandIn],
    evidence: Evidence,
) -> None:
    """A rotation end to end (new key strings exist, the secret holds them), and a budget whose
    display name carries a key string: neither may surface in a log, an event or the ledger."""
    database = worlds.unique("secrets")
    topic, subscription = events_topic(worlds.unique("secrets-events"))
    (guard,) = start_guards(worlds.policy(database, events_topic=topic))
    standin = world(worlds.demo_seed())
    alert = worlds.alert(1500, alert_threshold=1.0, display_name=f"Gemini {SEED_KEY} budget")
    answer = post(guard.url, cloud_event_request(alert.message("secrets-1")))
    assert answer.status == 200
    state = standin.state
    assert worlds.secret_payloads(state), "the rotation handed new key strings to the secret"
    events = pull_events(subscription)
    assert len(events) == 1
    evidence.add_events("secrets", events)
    evidence.add_records("secrets", ledger_records(database))
    evidence.add_world(state)
    hits = scan([("event", e["raw"]) for e in events], {SEED_KEY})
    assert hits == [], hits


def test_no_key_string_or_credential_anywhere(evidence: Evidence) -> None:
    sources = evidence.sources()
    summary = evidence.summary()
    assert summary["function server log files"] >= 1 and summary["key strings known"] >= 1
    hits = scan(sources, evidence.key_strings)
    record_figures(
        "secrets",
        command="pytest tests/reliability (test_zz_secrets.py runs last and scans it all)",
        **summary,
        texts_scanned=len(sources),
        hits=len(hits),
    )
    assert hits == [], "\n".join(f"{h.where}: {h.what}: {h.excerpt}" for h in hits[:20])
