"""The simulation's driver sets the guard's environment in ``os.environ`` (it runs the guard in
process, as ``python -m sim`` does); give every test here the environment back afterwards, so a
simulated clock (``BUDGET_GUARD_SIMULATED_TIME``) or the stand-in's endpoints never leak into the
tests that run after it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
