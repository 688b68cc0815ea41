"""Watchdog fixtures: the guard's Monitoring reader pointed at the session's stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.watchdog import monitoring
from standin import StandIn


@pytest.fixture
def monitoring_env(guard_env: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """``guard_env`` plus ``BUDGET_GUARD_MONITORING_ENDPOINT``; the clock is reset after."""
    monkeypatch.setenv(monitoring.ENV_MONITORING_ENDPOINT, guard_env.monitoring_endpoint)
    monitoring.reset()
    yield guard_env
    guard_env.set_clock(None)
    monitoring.reset()
