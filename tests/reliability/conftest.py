"""Fixtures of the reliability suite: one stand-in for the session, guard processes per module,
the evidence the secrets check scans, and the figures printed at the end of the run.

``BUDGET_GUARD_SOAK=1`` runs the long versions; ``BUDGET_GUARD_RELIABILITY_FIGURES=PATH`` also
writes the figures as JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local import services
from local.services import Service
from standin.server import StandIn
from tests.reliability.harness import FIGURES, GuardProcess, guard_env, quiesce
from tests.reliability.secrets_scan import Evidence

_EVIDENCE = Evidence()


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    """Logs, events, ledger records and key strings gathered for the secrets check."""
    return _EVIDENCE


@pytest.fixture(scope="session")
def rel_standin(evidence: Evidence) -> Iterator[StandIn]:
    """The Google API stand-in every guard process of the suite talks to."""
    with StandIn() as server:
        yield server
        evidence.add_world(server.state)


@pytest.fixture
def world(rel_standin: StandIn, evidence: Evidence) -> Callable[[Any], StandIn]:
    """``world(seed)`` resets the stand-in to ``seed`` (None: the demo world), after recording the
    key strings of the world it replaces; faults and the call log are cleared."""

    def reset(seed: Any = None) -> StandIn:
        quiesce(rel_standin)
        evidence.add_world(rel_standin.state)
        rel_standin.set_state(seed)
        evidence.add_world(rel_standin.state)
        return rel_standin

    yield reset
    evidence.add_world(rel_standin.state)


@pytest.fixture(scope="module")
def start_guards(
    emulators: dict[str, Service],
    rel_standin: StandIn,
    tmp_path_factory: pytest.TempPathFactory,
    evidence: Evidence,
) -> Iterator[Callable[..., list[GuardProcess]]]:
    """``start_guards(policy, count=1, **env)``: ``count`` functions-framework servers running the
    guard with ``policy`` against the stand-in and the emulators, started concurrently and stopped
    at the end of the module. ``env`` overrides (e.g. ``FIRESTORE_EMULATOR_HOST`` -> a proxy)."""
    started: list[Service] = []
    emulator_env = {k: v for s in emulators.values() for k, v in s.env.items()}
    log_dir = tmp_path_factory.mktemp("guards")

    def start(policy: Mapping[str, Any], count: int = 1, **env: str) -> list[GuardProcess]:
        batch = [
            services.function_server(
                log_dir, {**emulator_env, **guard_env(policy, rel_standin.url, **env)}
            )
            for _ in range(count)
        ]
        started.extend(batch)
        services.start_all(batch, timeout=90)
        for service in batch:
            evidence.add_log_file(service.log_path)
        return [GuardProcess(service) for service in batch]

    yield start
    with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
        list(pool.map(lambda service: service.stop(), started))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("Budget Guard reliability figures")
    for section, figures in FIGURES.items():
        terminalreporter.write_line(f"{section}:")
        for name, value in figures.items():
            terminalreporter.write_line(f"    {name}: {value}")
    path = os.environ.get("BUDGET_GUARD_RELIABILITY_FIGURES")
    if path:
        Path(path).write_text(json.dumps(FIGURES, indent=2, default=str) + "\n")
