"""Which API keys can call a Gemini API: the one classification every key action uses.

Pure: it reads an API Keys v2 ``Key`` resource (the REST JSON, ``restrictions.apiTargets``) and
the services the policy names, and calls nothing.

A key can call a Gemini API when
  - it has no API restriction (no ``apiTargets``): it can call every API enabled in its project,
    the Gemini API included; or
  - one of its ``apiTargets`` is a Gemini service the policy names (``GEMINI_SERVICES`` that are in
    ``policy.services``; ``generativelanguage.googleapis.com`` always counts).

Neither of these is a reason, on its own, to select a key:
  - a service-account binding (``serviceAccountEmail``): an auth key restricted to BigQuery can
    only call BigQuery;
  - browser, IP, Android or iOS restrictions (``browserKeyRestrictions``, ``serverKeyRestrictions``,
    ``androidKeyRestrictions``, ``iosKeyRestrictions``): they check what the caller says about
    itself (a caller on a server sends any ``Referer`` header), so they do not make a key safe
    and never unselect one.

Errors: none; a malformed resource (targets not a list, a target without ``service``) is read as
"no such target".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GEMINI_API",
    "GEMINI_SERVICES",
    "Verdict",
    "can_call_gemini",
    "classify",
    "gemini_services",
]

GEMINI_API = "generativelanguage.googleapis.com"
# Services through which a key can reach Gemini models (Gemini API, Vertex AI, Firebase AI Logic).
GEMINI_SERVICES = frozenset(
    {GEMINI_API, "aiplatform.googleapis.com", "firebasevertexai.googleapis.com"}
)
# Restrictions that check what a caller claims about itself: they never make a key safe.
_CALLER_RESTRICTIONS = (
    "browserKeyRestrictions",
    "serverKeyRestrictions",
    "androidKeyRestrictions",
    "iosKeyRestrictions",
)


@dataclass(frozen=True)
class Verdict:
    """Whether a key is selected, and why (for the log and the audit record)."""

    selected: bool
    reason: str


def gemini_services(policy_services: Collection[str]) -> frozenset[str]:
    """The Gemini services a key may be restricted to and still be selected."""
    return frozenset({GEMINI_API} | (GEMINI_SERVICES & set(policy_services)))


def _targets(key: Mapping[str, Any]) -> list[str]:
    restrictions = key.get("restrictions")
    targets = restrictions.get("apiTargets") if isinstance(restrictions, Mapping) else None
    if not isinstance(targets, list):
        return []
    return [
        t["service"]
        for t in targets
        if isinstance(t, Mapping) and isinstance(t.get("service"), str)
    ]


def _caller_note(key: Mapping[str, Any]) -> str:
    restrictions = key.get("restrictions")
    kinds = [
        k for k in _CALLER_RESTRICTIONS if isinstance(restrictions, Mapping) and k in restrictions
    ]
    return f" ({', '.join(kinds)} do not stop a caller that lies)" if kinds else ""


Rule = Callable[[list[str], frozenset[str]], bool]

# In order; the first rule that holds decides. (holds when, selected, reason template)
_RULES: tuple[tuple[Rule, bool, str], ...] = (
    (lambda targets, _: not targets, True, "no API restriction: it can call every enabled API"),
    (
        lambda targets, gemini: bool(gemini.intersection(targets)),
        True,
        "restricted to APIs including {gemini}",
    ),
    (lambda targets, _: True, False, "restricted to {targets}, no Gemini service"),
)


def classify(key: Mapping[str, Any], services: Collection[str]) -> Verdict:
    """Whether ``key`` can call a Gemini API given the policy's ``services``, with the reason."""
    targets = _targets(key)
    gemini = gemini_services(services)
    for holds, selected, reason in _RULES:
        if holds(targets, gemini):
            text = reason.format(
                gemini=", ".join(sorted(gemini.intersection(targets))),
                targets=", ".join(targets),
            )
            return Verdict(selected, text + (_caller_note(key) if selected else ""))
    raise AssertionError("the last rule always holds")  # pragma: no cover


def can_call_gemini(key: Mapping[str, Any], services: Collection[str]) -> bool:
    """True when ``key`` can call a Gemini API (see the module docstring)."""
    return classify(key, services).selected
