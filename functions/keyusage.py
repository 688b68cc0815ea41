"""Requests per API key and per API over the audit's look-back, from Cloud Monitoring.

A thin adapter over the watchdog's reader (``functions.watchdog.monitoring.UsageReader
.key_requests_by_api``: ``request_count`` by ``credential_id`` and ``service``, by day), one
project at a time, each its own metrics scope. The answer is {key uid: {service: requests}};
a key absent from it made no request.

Errors: any failure to read (permission, Monitoring down, a transient failure after retries)
raises ``UsageUnknown``: the caller treats the usage as unknown, never as 0 requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from functions.errors import ActionFailed, GuardError, TransientError

__all__ = ["UsageUnknown", "requests_by_key"]


class UsageUnknown(GuardError):
    """Monitoring could not say how much the keys were used."""


def requests_by_key(
    project: str, start: datetime, end: datetime, services: Sequence[str] = ()
) -> dict[str, dict[str, int]]:
    """{key uid: {service: requests in (start, end]}} for the API keys of ``project``."""
    from functions.watchdog.monitoring import UsageReader

    reader = UsageReader(project, [project], services)
    try:
        counts = reader.key_requests_by_api(start, end)
    except (ActionFailed, TransientError) as exc:
        raise UsageUnknown(str(exc)[:300]) from exc
    return {uid: per_api for (_, uid), per_api in counts.items()}
