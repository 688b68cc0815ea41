"""Rendering for the operator CLI: human lines by default, one JSON document with ``--json``.

A command writes human lines as it goes (``say``, ``check``) and hands its whole result to
``document`` at the end; in JSON mode only that document reaches stdout, in human mode only the
lines. Errors always go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TextIO

__all__ = ["FAIL", "PASS", "SKIP", "Output", "dumps", "number", "percent", "table"]

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def dumps(doc: Any) -> str:
    """JSON text for a result document (decimals as strings, sets sorted)."""
    return json.dumps(doc, default=_default, indent=2, sort_keys=False)


def number(value: Any) -> str:
    """A decimal amount without float noise: Decimal("120.0") -> "120"."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def percent(ratio: Decimal, places: int = 2) -> str:
    """A ratio as a percentage: Decimal("1.2") -> "120%", Decimal("0.12345") -> "12.35%"."""
    if not ratio.is_finite():  # spend over a zero budget
        return "over a zero budget"
    value = (ratio * 100).quantize(Decimal(1).scaleb(-places)).normalize()
    return f"{value:f}%"


def table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """Left-aligned columns, two spaces apart."""
    if not rows:
        return []
    widths = [
        max(len(str(row[i])) for row in rows if i < len(row)) for i in range(max(map(len, rows)))
    ]
    lines = []
    for row in rows:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


class Output:
    """Where a command's output goes, and in which form."""

    def __init__(
        self, as_json: bool = False, stream: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.as_json = as_json
        self._stream = stream
        self._err = err

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def say(self, text: str = "") -> None:
        """One human line (nothing in JSON mode)."""
        if not self.as_json:
            self.stream.write(text + "\n")
            self.stream.flush()

    def lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.say(line)

    def check(self, status: str, name: str, detail: str = "", fix: str = "") -> dict[str, str]:
        """One preflight line, ``PASS name: detail`` (+ ``fix:`` on a FAIL); returned as data."""
        self.say(f"{status}  {name}" + (f": {detail}" if detail else ""))
        if fix and status == FAIL:
            self.say(f"      fix: {fix}")
        entry = {"status": status, "check": name, "detail": detail}
        if fix and status == FAIL:
            entry["fix"] = fix
        return entry

    def document(self, doc: Any) -> None:
        """The command's whole result (only in JSON mode)."""
        if self.as_json:
            self.stream.write(dumps(doc) + "\n")
            self.stream.flush()

    def error(self, message: str, code: int) -> None:
        """A fatal error: on stderr, and as ``{"error": ...}`` on stdout in JSON mode."""
        self.err.write(f"budget-guard: error: {message}\n")
        self.err.flush()
        self.document({"error": message, "exit_code": code})
