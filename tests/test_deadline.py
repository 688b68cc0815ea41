"""The invocation's deadline (functions/deadline.py) and how the gcp seam obeys it."""

from __future__ import annotations

import contextvars
import time

import pytest
from google.api_core import exceptions as gexc

from functions import deadline, gcp
from functions.errors import TransientError


def _in_fresh_context(fn: object) -> object:
    return contextvars.Context().run(fn)  # type: ignore[arg-type]


def test_no_deadline_outside_a_delivery() -> None:
    assert _in_fresh_context(deadline.remaining) is None
    assert _in_fresh_context(lambda: deadline.bound(20.0)) == 20.0


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(deadline.ENV, "30")
    assert deadline.seconds() == 30.0
    monkeypatch.delenv(deadline.ENV)
    assert deadline.seconds() == deadline.DEFAULT_SECONDS


def test_share_narrows_the_deadline_inside_the_block_only() -> None:
    def body() -> tuple[float, float, float]:
        deadline.start(30.0)
        with deadline.share(3):
            inside = deadline.remaining() or 0.0
        return inside, deadline.remaining() or 0.0, deadline.bound(60.0)

    inside, after, bounded = _in_fresh_context(body)  # type: ignore[misc]
    assert 9.0 < inside <= 10.0
    assert 29.0 < after <= 30.0 and bounded <= 30.0


def test_a_call_after_the_deadline_is_transient_without_a_request() -> None:
    calls: list[int] = []

    def body() -> None:
        deadline.start(0.0)
        gcp.call("unlink billing of p", lambda: calls.append(1))

    with pytest.raises(TransientError, match="deadline was reached"):
        _in_fresh_context(body)
    assert calls == []


def test_retries_stop_at_the_deadline_not_at_the_retry_deadline() -> None:
    attempts: list[float] = []

    def failing() -> None:
        attempts.append(time.monotonic())
        raise gexc.ServiceUnavailable("503")

    def body() -> None:
        deadline.start(1.0)  # the retry deadline is 60 s unless the environment says otherwise
        gcp.call("list keys of p", failing)

    started = time.monotonic()
    with pytest.raises(TransientError, match="still failing after retries"):
        _in_fresh_context(body)
    assert len(attempts) >= 2, "retried while there was time"
    assert attempts[-1] - started < 1.5, "no attempt after the deadline"
