"""The secrets check: no key string and no credential in anything the guard emitted.

``Evidence`` gathers, across the reliability suite, every log the guard wrote (function server log
files and in-process captures), every event it published, every ledger record it left, and every
key string that existed in the stand-in (seed keys and the replacements made during the run).
``scan`` looks for each known key string verbatim and for credential shapes (API keys of both
kinds, private keys, OAuth tokens, client secrets); ``test_zz_secrets`` fails on any hit.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CREDENTIAL_PATTERNS", "Evidence", "Hit", "scan"]

# Shapes of secrets, independent of which ones the run created. The two API key shapes are the
# redactor's own (functions/redact.py) written out again here, so a change there cannot blind
# this check; the rest are credentials a guard could leak through an error message.
CREDENTIAL_PATTERNS: dict[str, re.Pattern[str]] = {
    "standard API key": re.compile(r"AIza[0-9A-Za-z_\-]{35}"),
    "auth API key": re.compile(r"AQ\.[0-9A-Za-z_\-.]{16,}"),
    "PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "service account key JSON": re.compile(r"\"private_key(_id)?\"\s*:\s*\"[^\"]{8,}"),
    "OAuth access token": re.compile(r"ya29\.[0-9A-Za-z_\-]{20,}"),
    "OAuth refresh token": re.compile(r"\b1//0[0-9A-Za-z_\-]{30,}"),
    "bearer token": re.compile(r"(?i)\bbearer\s+[0-9A-Za-z_\-.=]{20,}"),
    "OAuth client secret": re.compile(r"GOCSPX-[0-9A-Za-z_\-]{20,}"),
}


@dataclass(frozen=True)
class Hit:
    where: str
    what: str
    excerpt: str


def _mask(text: str) -> str:
    return text[:8] + "…" if len(text) > 8 else text


def scan(sources: Iterable[tuple[str, str]], key_strings: Iterable[str]) -> list[Hit]:
    """Every key string or credential in ``sources`` ((label, text) pairs)."""
    keys = sorted({k for k in key_strings if k}, key=len, reverse=True)
    hits: list[Hit] = []
    for where, text in sources:
        for key in keys:
            if key in text:
                hits.append(Hit(where, "key string from the stand-in", _mask(key)))
        for what, pattern in CREDENTIAL_PATTERNS.items():
            for found in pattern.finditer(text):
                hits.append(Hit(where, what, _mask(found.group(0))))
    return hits


@dataclass
class Evidence:
    """Everything the suite saw the guard emit, and every key string that existed."""

    log_files: list[Path] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    key_strings: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def add_log_file(self, path: Path) -> None:
        with self._lock:
            self.log_files.append(Path(path))

    def add_log_text(self, label: str, text: str) -> None:
        with self._lock:
            self.texts.append((f"log {label}", text))
            self._count("in-process log lines", text.count("\n"))

    def add_events(self, label: str, events: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for i, event in enumerate(events):
                text = event.get("raw") or json.dumps(event.get("data"))
                self.texts.append(
                    (f"event {label}#{i}", text + json.dumps(event.get("attributes")))
                )
                self._count("events")

    def add_records(self, label: str, records: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for record in records:
                self.texts.append(
                    (f"ledger {label}/{record.get('_id', '?')}", json.dumps(record, default=str))
                )
                self._count("ledger records")

    def add_world(self, state: Mapping[str, Any]) -> None:
        """Remember every key string of a stand-in world (call it before the world is reset)."""
        with self._lock:
            for project in state.get("projects", {}).values():
                for key in project.get("keys", []):
                    if key.get("keyString"):
                        self.key_strings.add(key["keyString"])

    def sources(self) -> list[tuple[str, str]]:
        with self._lock:
            out = list(self.texts)
            files = list(self.log_files)
        for path in files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            out.append((f"function log {path.name}", text))
        return out

    def summary(self) -> dict[str, int]:
        sources = self.sources()
        log_lines = sum(t.count("\n") for label, t in sources if label.startswith("function log"))
        return {
            "function server log files": len(self.log_files),
            "function server log lines": log_lines,
            **self.counts,
            "key strings known": len(self.key_strings),
        }
