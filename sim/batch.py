"""Many runs, in worker processes: each worker has its own stand-in (HTTP + gRPC) and guard
clients; the emulators are shared (every run has its own topic and ledger project). Results
come back in the order of the tasks, so the table does not depend on which worker was faster.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config import Config
from sim.run import Result, run
from sim.scenario import Scenario

__all__ = ["Task", "run_all"]

_STANDIN: Any = None


@dataclass(frozen=True)
class Task:
    scenario: Scenario
    config: Config | None
    log_dir: Path | None = None


def _standin() -> Any:
    global _STANDIN
    if _STANDIN is None:
        from standin import StandIn

        _STANDIN = StandIn()
        _STANDIN.start()
    return _STANDIN


def _run(task: Task) -> Result:
    return run(task.scenario, task.config, _standin(), log_dir=task.log_dir)


def run_all(tasks: list[Task], jobs: int = 1) -> list[Result]:
    if jobs <= 1:
        return [_run(task) for task in tasks]
    context = multiprocessing.get_context("spawn")  # no gRPC state crosses a fork
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        # The longest first, so no worker is left alone with a long run at the end.
        order = sorted(range(len(tasks)), key=lambda i: -_weight(tasks[i]))
        futures = {i: pool.submit(_run, tasks[i]) for i in order}
        return [futures[i].result() for i in range(len(tasks))]


def _weight(task: Task) -> float:
    """A guess at a run's cost: its minutes, a watchdog tick weighing about 20 of them."""
    tick = task.config.tick_minutes if task.config is not None else None
    return task.scenario.minutes * (1 + (20 / tick if tick else 0))
