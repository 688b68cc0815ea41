"""Pure parts of the quota brakes: quota ids per tier, planning rows, models.get output limits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.policy import ThrottleConfig, ThrottleQuota
from functions.quotas import models
from functions.quotas.api import Info, preference_id
from functions.quotas.ids import family_of, quota_id, resolve
from functions.quotas.plan import lock_targets, throttle_targets

T1_RPM = "GenerateRequestsPerMinutePerProjectPerModel"


def test_quota_ids_per_tier() -> None:
    assert quota_id("requests_per_minute", "tier1") == T1_RPM
    assert (
        quota_id("requests_per_day", "tier3")
        == "GenerateRequestsPerDayPerProjectPerModel-PaidTier3"
    )
    assert quota_id("input_tokens_per_minute", "tier2") == (
        "GenerateContentPaidTierInputTokensPerModelPerMinute-PaidTier2"
    )
    assert quota_id("input_tokens_per_minute", "free") == (
        "GenerateContentInputTokensPerModelPerMinute-FreeTier"
    )
    assert family_of(T1_RPM + "-PaidTier2") == ("requests_per_minute", "tier2")
    assert family_of("SomethingElse") is None


def test_resolve_picks_the_tier_or_every_tier_present() -> None:
    known = [T1_RPM, T1_RPM + "-PaidTier2", "GenerateRequestsPerDayPerProjectPerModel"]
    assert resolve("requests_per_minute", "auto", known) == [T1_RPM, T1_RPM + "-PaidTier2"]
    assert resolve("requests_per_minute", "tier2", known) == [T1_RPM + "-PaidTier2"]
    assert resolve("requests_per_minute", "tier3", known) == []


def test_throttle_rows_only_lower_and_keep_the_lower_of_two_entries() -> None:
    infos = {T1_RPM: Info(T1_RPM, False, {"a": 100, "b": 1, "c": -1})}
    config = ThrottleConfig(
        (
            ThrottleQuota("requests_per_minute", 5),
            ThrottleQuota("requests_per_minute", 2, ("a", "z")),
        )
    )
    rows, notes = throttle_targets(config, infos)
    assert [(r.model, r.value, r.current) for r in rows] == [("a", 2, 100), ("c", 5, -1)]
    assert notes == [f"{T1_RPM} lists no model z"]


def test_lock_rows_spare_the_allowed_models_and_add_the_table_models() -> None:
    infos = {T1_RPM: Info(T1_RPM, False, {"keep": 10, "drop": 10, "zero": 0})}
    rows = lock_targets(infos, ["keep"], ["extra", "keep"])
    assert [(r.model, r.value) for r in rows] == [("drop", 0), ("extra", 0)]


def test_preference_ids_are_stable_and_distinct() -> None:
    one = preference_id("crossing-1", T1_RPM, "gemini-2.5-pro")
    assert one == preference_id("crossing-1", T1_RPM, "gemini-2.5-pro")
    assert one != preference_id("crossing-2", T1_RPM, "gemini-2.5-pro")
    assert one.startswith("bg-") and len(one) == 27


@pytest.fixture
def gemini_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A tiny models.get that answers outputTokenLimit for one model and 404 for the rest."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "key": self.headers.get("x-goog-api-key")})
            found = self.path.endswith("/gemini-2.5-pro")
            body = json.dumps({"name": "models/gemini-2.5-pro", "outputTokenLimit": 70000})
            data = body.encode() if found else b'{"error": {"code": 404}}'
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    monkeypatch.setenv(
        "BUDGET_GUARD_GEMINI_ENDPOINT",
        f"http://127.0.0.1:{server.server_address[1]}/v1beta/models/",
    )
    yield seen
    server.shutdown()


def test_models_get_output_limits_when_reachable(gemini_api: list[dict[str, Any]]) -> None:
    assert models.output_token_limits(["gemini-2.5-pro", "nope"]) == {"gemini-2.5-pro": 70000}
    assert gemini_api[0] == {"path": "/v1beta/models/gemini-2.5-pro", "key": "test-key"}


def test_models_get_is_skipped_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    assert models.output_token_limits(["gemini-2.5-pro"]) == {}


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"throttle": {"quotas": []}}, "throttle.quotas: must name at least one quota"),
        (
            {"throttle": {"quotas": [{"family": "requests_per_day", "value": -1}]}},
            "throttle.quotas[0].value: must be a whole number >= 0",
        ),
        (
            {"throttle": {"quotas": [{"family": "requests_per_day", "value": 1.5}]}},
            "throttle.quotas[0].value: must be a whole number >= 0",
        ),
        (
            {"throttle": {"tier": "gold", "quotas": [{"family": "requests_per_day", "value": 1}]}},
            "throttle.tier: must be one of",
        ),
        (
            {"throttle": {"quotas": [{"family": "requests_per_day", "value": 1, "models": []}]}},
            "throttle.quotas[0].models: must name at least one model",
        ),
        ({"ceiling": {"daily": "fifty"}}, "ceiling.daily: must be an amount"),
        ({"ceiling": {"daily": 0}}, "ceiling.daily: must be > 0"),
        ({"ceiling": {"daily": "50", "models": ["Bad Model"]}}, "ceiling.models[0]: must be"),
    ],
)
def test_bad_quota_sections_fail_naming_the_field(changes: dict[str, Any], error: str) -> None:
    from functions.errors import PolicyError
    from functions.policy import parse_policy
    from tests.sample import policy_doc

    with pytest.raises(PolicyError) as raised:
        parse_policy(policy_doc(**changes))
    assert str(raised.value).startswith(error), str(raised.value)


def test_good_quota_sections_parse() -> None:
    from decimal import Decimal

    from functions.policy import parse_policy
    from tests.sample import policy_doc

    policy = parse_policy(
        policy_doc(
            throttle={"tier": "tier2", "quotas": [{"family": "requests_per_minute", "value": 0}]},
            ceiling={"daily": "49.50", "models": ["gemini-2.5-pro"]},
        )
    )
    assert policy.throttle == ThrottleConfig((ThrottleQuota("requests_per_minute", 0),), "tier2")
    assert policy.ceiling is not None and policy.ceiling.daily == Decimal("49.50")
