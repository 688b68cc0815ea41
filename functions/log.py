"""Structured logs: one JSON object a line on stdout, in Cloud Logging's structured format.

Severities: DEBUG/INFO for the periodic notifications under every threshold, WARNING for a
crossing and for a rejected message, ERROR only when the guard failed to act (alerts fire on it).
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from functions.redact import redact

__all__ = ["Logger", "logger"]

_WRITE = threading.Lock()  # the executor's threads share the stream: one whole line at a time


class Logger:
    """A logger bound to context fields (budget, project, rule, message id...)."""

    def __init__(self, fields: dict[str, Any] | None = None, stream: TextIO | None = None) -> None:
        self._fields = dict(fields or {})
        self._stream = stream

    def bind(self, **fields: Any) -> Logger:
        """Return a logger that adds ``fields`` to every line."""
        return Logger({**self._fields, **fields}, self._stream)

    def log(self, severity: str, message: str, **fields: Any) -> dict[str, Any]:
        """Write one line and return the record written (tests read it back)."""
        record: dict[str, Any] = redact(
            {
                "severity": severity,
                "message": message,
                "time": datetime.now(UTC).isoformat(),
                **self._fields,
                **fields,
            }
        )
        stream = self._stream or sys.stdout
        line = json.dumps(record, default=str, sort_keys=False) + "\n"
        with _WRITE:
            stream.write(line)
            stream.flush()
        return record

    def debug(self, message: str, **fields: Any) -> dict[str, Any]:
        return self.log("DEBUG", message, **fields)

    def info(self, message: str, **fields: Any) -> dict[str, Any]:
        return self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: Any) -> dict[str, Any]:
        return self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: Any) -> dict[str, Any]:
        return self.log("ERROR", message, **fields)


logger = Logger({"component": "budget-guard"})
