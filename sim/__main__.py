"""``python -m sim``: run scenarios under configurations; print the table, write the PNGs.

    python -m sim --scenario sim/scenarios/dormant-key.json --config sim/configs/watchdog.json
    python -m sim --all            # every scenario x every configuration (make simulate)

Options: ``--tick N`` overrides every configuration's watchdog tick (minutes); ``--jobs N``
worker processes (default 3); ``--plots DIR``
writes one PNG per scenario (default docs/simulation with --all); ``--markdown`` prints the
table as Markdown; ``--logs DIR`` keeps the guard's JSON logs of each run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim import guards
from sim.batch import Task, run_all
from sim.config import Config, load_config
from sim.emulators import emulators
from sim.report import matrix, table
from sim.run import Result
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent


def _configs(paths: list[str], tick: int | None) -> tuple[list[Config], list[str]]:
    have = guards.available()
    chosen, skipped = [], []
    for path in paths:
        config = load_config(path)
        missing = [layer for layer in config.requires if not have.get(layer, False)]
        if missing:
            skipped.append(
                f"{config.name}: left out, layer(s) not on this branch yet: {', '.join(missing)}"
            )
            continue
        if tick is not None and config.tick_minutes is not None:
            config = config.with_tick(tick)
        chosen.append(config)
    return chosen, skipped


def _tasks(scenarios: list[Scenario], configs: list[Config], logs: Path | None) -> list[Task]:
    """Per scenario: unguarded, then each configuration, then the scenario's ``extra_runs``
    (a configuration again at another tick interval)."""
    tasks = []
    by_name = {config.name: config for config in configs}
    for scenario in scenarios:
        tasks.append(Task(scenario, None))
        extra = [
            by_name[name].with_tick(tick) for name, tick in scenario.extra_runs if name in by_name
        ]
        tasks += [Task(scenario, config, logs) for config in [*configs, *extra]]
    return tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--tick", type=int)
    parser.add_argument("--jobs", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument("--plots")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--logs")
    args = parser.parse_args(argv)
    scenario_paths = args.scenario or (
        sorted(str(p) for p in (ROOT / "scenarios").glob("*.json")) if args.all else []
    )
    config_paths = args.config or (
        sorted(str(p) for p in (ROOT / "configs").glob("*.json")) if args.all else []
    )
    if not scenario_paths or not config_paths:
        parser.error("give --scenario and --config (repeatable), or --all")
    scenarios = [load_scenario(p) for p in scenario_paths]
    configs, skipped = _configs(config_paths, args.tick)
    plots = args.plots or ("docs/simulation" if args.all else None)
    started = time.monotonic()
    tasks = _tasks(scenarios, configs, Path(args.logs) if args.logs else None)
    with emulators():
        results = run_all(tasks, args.jobs)
    rows: list[tuple[Result, Result | None, str]] = []
    by_scenario: dict[str, tuple[Scenario, list[Result]]] = {}
    for task, result in zip(tasks, results, strict=True):
        print(f"  {result.scenario} x {result.config}: {result.seconds:.1f} s", file=sys.stderr)
        scenario = task.scenario
        entry = by_scenario.setdefault(scenario.name, (scenario, []))
        entry[1].append(result)
        rows.append((result, entry[1][0], scenario.currency))
    print(table(rows, markdown=args.markdown))
    if args.markdown:
        print()
        print(matrix(rows))
    for line in skipped:
        print(line)
    for scenario, results_of in by_scenario.values():
        if scenario.must_not_stop:
            stopped = [r.config for r in results_of if r.reactions or r.legit_refused]
            by = ", ".join(stopped) or "no configuration"
            print(f"{scenario.name} (must not be stopped): stopped by {by}")
        for result in results_of:
            for failure in result.failures:
                print(f"{scenario.name} x {result.config}: guard failure: {failure}")
    if plots:
        from sim.plot import plot

        for scenario, results_of in by_scenario.values():
            print(f"wrote {plot(scenario, results_of, Path(plots))}")
    elapsed = time.monotonic() - started
    print(f"simulated {len(rows)} run(s) in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
