"""Parsing and verifying abuse-event log entries (pure): what is acted on, what is refused, and
that the event's key value never reaches a reason or a repr."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from functions.errors import MalformedMessage, RejectedMessage, SpoofedMessage
from functions.leakevent import fingerprint, parse_entry, parse_message
from tests import abuse

GUARDED = {"key-zoo"}
STRING = "AIzaSyFAKE-standin-zoo-key-000000000001"


def _without(entry: dict[str, Any], *path: str) -> dict[str, Any]:
    node = entry
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return entry


def test_a_leaked_api_key_event_of_a_guarded_project_is_accepted() -> None:
    event = parse_entry(abuse.entry("key-zoo", STRING), GUARDED)
    assert (event.project, event.api_key, event.action) == ("key-zoo", STRING, "NOTIFY")
    assert event.detected_uri.startswith("https://github.com/")
    assert STRING not in repr(event) and fingerprint(STRING) in repr(event)


@pytest.mark.parametrize(
    ("entry", "error", "reason"),
    [
        (abuse.entry("other-project", STRING), SpoofedMessage, "not a guarded project"),
        (
            abuse.entry("key-zoo", STRING, log_id="cloudaudit.googleapis.com%2Factivity"),
            SpoofedMessage,
            "is not abuseevent",
        ),
        (abuse.entry("key-zoo", STRING, detection="PHISHING"), SpoofedMessage, "detectionType"),
        (abuse.entry("key-zoo", STRING, payload_type="type.x/Other"), SpoofedMessage, "@type"),
        (
            {**abuse.entry("key-zoo", STRING), "resource": {"type": "gce_instance"}},
            SpoofedMessage,
            "resource.type",
        ),
        (abuse.entry("key-zoo", " "), MalformedMessage, "must name the key"),
        (
            _without(abuse.entry("key-zoo", STRING), "jsonPayload", "leakedCredentialEvent"),
            MalformedMessage,
            "must name the key",
        ),
        ({**abuse.entry("key-zoo", STRING), "logName": "logs/x"}, MalformedMessage, "logName"),
        ([1, 2], MalformedMessage, "not a JSON object"),
    ],
)
def test_an_entry_the_guard_must_not_act_on_is_refused_with_its_reason(
    entry: Any, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error) as caught:
        parse_entry(entry, GUARDED)
    assert reason in str(caught.value) and STRING not in str(caught.value)


def test_a_leaked_service_account_key_is_no_api_key_to_revoke() -> None:
    entry = abuse.entry("key-zoo", STRING)
    entry["jsonPayload"]["leakedCredentialEvent"] = {
        "serviceAccountCredential": {
            "serviceAccount": "sa@key-zoo.iam.gserviceaccount.com",
            "keyId": "k1",
        }
    }
    with pytest.raises(RejectedMessage) as caught:
        parse_entry(entry, GUARDED)
    assert "service-account key" in caught.value.reason


def test_a_message_must_carry_the_entry_as_base64_json() -> None:
    good = base64.b64encode(json.dumps(abuse.entry("key-zoo", STRING)).encode()).decode()
    assert parse_message({"data": good}, GUARDED).project == "key-zoo"
    for message in ({}, {"data": "%%%"}, {"data": base64.b64encode(b"not json").decode()}):
        with pytest.raises(MalformedMessage):
            parse_message(message, GUARDED)
    with pytest.raises(MalformedMessage, match="over"):
        parse_message({"data": "A" * 200_000}, GUARDED)


def test_deeply_nested_garbage_is_malformed_not_a_crash() -> None:
    """Review: 40 000 '[' under the size cap raised RecursionError (redelivered forever)."""
    import base64 as _b64

    import pytest as _pytest

    from functions.errors import MalformedMessage as _Malformed
    from functions.leakevent import parse_message as _parse

    data = _b64.b64encode(b"[" * 40000).decode()
    with _pytest.raises(_Malformed):
        _parse({"data": data}, {"guarded-project"})
