"""The key zoo (``standin/worlds/key-zoo.json``): one key of each kind the audit tells apart, the
requests each made in the last 30 days, and what the audit must find and fix for each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["EXPECTED", "FIXES", "PROJECT", "USAGE", "WORLD", "key", "live_keys", "name", "world"]

WORLD = Path(__file__).resolve().parent.parent / "standin" / "worlds" / "key-zoo.json"
PROJECT, NUMBER = "key-zoo", "555000111222"
G = "generativelanguage.googleapis.com"


def uid(n: int) -> str:
    return f"a1000000-0000-4000-8000-00000000000{n}"


def name(n: int) -> str:
    return f"projects/{NUMBER}/locations/global/keys/{uid(n)}"


# key number -> {service: requests in the last 30 days}; absent: no request
USAGE: dict[int, dict[str, int]] = {
    1: {G: 1200},
    2: {"maps-backend.googleapis.com": 5000},
    3: {G: 300},
    4: {"firebaseinstallations.googleapis.com": 800},
    5: {G: 50},
    7: {"bigquery.googleapis.com": 40},
}

# key number -> (can call Gemini, application restriction, kind, finding codes)
EXPECTED: dict[int, tuple[bool, str, str, set[str]]] = {
    1: (True, "none", "standard", {"unrestricted", "standard-key-gemini", "old"}),
    2: (
        True,
        "browser referrers",
        "standard",
        {
            "created-for-another-api",
            "caller-restriction-only",
            "standard-key-gemini",
            "unused-targets",
            "old",
        },
    ),
    3: (True, "server IPs", "standard", {"standard-key-gemini"}),
    4: (
        True,
        "Android apps",
        "standard",
        {
            "unrestricted",
            "created-for-another-api",
            "caller-restriction-only",
            "standard-key-gemini",
            "old",
        },
    ),
    5: (True, "iOS apps", "standard", {"caller-restriction-only", "standard-key-gemini"}),
    6: (True, "none", "auth", {"dormant-gemini", "old"}),
    7: (False, "none", "auth", set()),
    8: (True, "none", "auth", set()),
}

# key number -> ("restrict", targets) or ("delete", ())
FIXES: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("restrict", (G,)),
    2: ("restrict", ("maps-backend.googleapis.com",)),
    4: ("restrict", ("firebaseinstallations.googleapis.com",)),
    6: ("delete", ()),
}


def world() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(WORLD.read_text())
    return data


def live_keys() -> list[dict[str, Any]]:
    """The zoo's live keys as the API answers them (resource names, no key strings)."""
    out = []
    for seed in world()["projects"][PROJECT]["keys"]:
        if seed.get("deleteTime"):
            continue
        key = {k: v for k, v in seed.items() if k not in ("keyString", "deleteTime")}
        key["name"] = f"projects/{NUMBER}/locations/global/keys/{seed['uid']}"
        out.append(key)
    return out


def key(n: int) -> dict[str, Any]:
    """Zoo key number ``n`` as the API answers it."""
    return next(k for k in live_keys() if k["name"] == name(n))
