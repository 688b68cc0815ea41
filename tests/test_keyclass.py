"""functions.keyclass: which API keys can call a Gemini API, as a table of key resources."""

from __future__ import annotations

from typing import Any

import pytest

from functions.keyclass import can_call_gemini, classify, gemini_services

GEMINI = "generativelanguage.googleapis.com"
VERTEX = "aiplatform.googleapis.com"
FIREBASE = "firebasevertexai.googleapis.com"
SA = "app@p.iam.gserviceaccount.com"


def targets(*services: str) -> dict[str, Any]:
    return {"apiTargets": [{"service": s} for s in services]}


DEFAULT = [GEMINI]
WITH_VERTEX = [GEMINI, VERTEX, FIREBASE]

# (key resource, the policy's services, selected, a word the reason holds)
CASES = [
    ({}, DEFAULT, True, "no API restriction"),
    ({"restrictions": {}}, DEFAULT, True, "no API restriction"),
    ({"restrictions": {"apiTargets": []}}, DEFAULT, True, "no API restriction"),
    (
        {"restrictions": {"browserKeyRestrictions": {"allowedReferrers": ["https://x/*"]}}},
        DEFAULT,
        True,
        "browserKeyRestrictions",
    ),
    (
        {"restrictions": {"serverKeyRestrictions": {"allowedIps": ["10.0.0.1"]}}},
        DEFAULT,
        True,
        "serverKeyRestrictions",
    ),
    ({"restrictions": targets(GEMINI)}, DEFAULT, True, GEMINI),
    ({"restrictions": targets("maps-backend.googleapis.com", GEMINI)}, DEFAULT, True, GEMINI),
    (
        {"restrictions": {**targets(GEMINI), "androidKeyRestrictions": {}}},
        DEFAULT,
        True,
        "androidKeyRestrictions",
    ),
    # a service-account binding is no reason on its own
    (
        {"serviceAccountEmail": SA, "restrictions": targets("bigquery.googleapis.com")},
        DEFAULT,
        False,
        "bigquery.googleapis.com",
    ),
    ({"serviceAccountEmail": SA}, DEFAULT, True, "no API restriction"),
    # Vertex AI and Firebase AI Logic count only when the policy names them
    ({"restrictions": targets(VERTEX)}, DEFAULT, False, "no Gemini service"),
    ({"restrictions": targets(VERTEX)}, WITH_VERTEX, True, VERTEX),
    ({"restrictions": targets(FIREBASE)}, [GEMINI, FIREBASE], True, FIREBASE),
    ({"restrictions": targets(FIREBASE)}, [GEMINI, VERTEX], False, "no Gemini service"),
    # a service the policy names that is no Gemini service does not select keys
    (
        {"restrictions": targets("bigquery.googleapis.com")},
        [GEMINI, "bigquery.googleapis.com"],
        False,
        "no Gemini service",
    ),
    # the Gemini API itself counts even when the policy's services leave it out
    ({"restrictions": targets(GEMINI)}, [VERTEX], True, GEMINI),
    # a target with methods is still that service
    (
        {"restrictions": {"apiTargets": [{"service": GEMINI, "methods": ["Generate*"]}]}},
        DEFAULT,
        True,
        GEMINI,
    ),
    ({"restrictions": {"apiTargets": [{"methods": ["x"]}]}}, DEFAULT, True, "no API restriction"),
    ({"restrictions": {"apiTargets": "nonsense"}}, DEFAULT, True, "no API restriction"),
]


@pytest.mark.parametrize(("key", "services", "selected", "word"), CASES)
def test_classify(key: dict[str, Any], services: list[str], selected: bool, word: str) -> None:
    verdict = classify(key, services)
    assert verdict.selected is selected
    assert word in verdict.reason
    assert can_call_gemini(key, services) is selected


def test_gemini_services_are_the_known_ones_the_policy_names() -> None:
    assert gemini_services([]) == {GEMINI}
    assert gemini_services([VERTEX, "bigquery.googleapis.com"]) == {GEMINI, VERTEX}
