"""``python -m sim``: run scenarios under configurations; print the table, write the PNGs.

    python -m sim --scenario sim/scenarios/dormant-key.json --config sim/configs/watchdog.json
    python -m sim --all            # every scenario x every configuration (make simulate)

Options: ``--tick N`` overrides every configuration's watchdog tick (minutes); ``--plots DIR``
writes one PNG per scenario (default docs/simulation with --all); ``--markdown`` prints the
table as Markdown; ``--logs DIR`` keeps the guard's JSON logs of each run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim import guards
from sim.config import Config, load_config
from sim.emulators import emulators
from sim.report import table
from sim.run import Result, run
from sim.scenario import Scenario, load_scenario
from standin import StandIn

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--tick", type=int)
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
    rows: list[tuple[Result, Result | None, str]] = []
    by_scenario: dict[str, tuple[Scenario, list[Result]]] = {}
    with emulators(), StandIn() as standin:
        for scenario in scenarios:
            unguarded = run(scenario, None, standin)
            results = [unguarded]
            rows.append((unguarded, unguarded, scenario.currency))
            for config in configs:
                logs = Path(args.logs) if args.logs else None
                result = run(scenario, config, standin, log_dir=logs)
                results.append(result)
                rows.append((result, unguarded, scenario.currency))
                print(f"  {scenario.name} x {config.name}: done", file=sys.stderr)
            by_scenario[scenario.name] = (scenario, results)
    print(table(rows, markdown=args.markdown))
    for line in skipped:
        print(line)
    for _name, (scenario, results) in by_scenario.items():
        if scenario.must_not_stop:
            stopped = [r.config for r in results if r.brakes]
            by = ", ".join(stopped) or "no configuration"
            print(f"{scenario.name}: must not be stopped; stopped by: {by}")
        for result in results:
            for failure in result.failures:
                print(f"{scenario.name} x {result.config}: guard failure: {failure}")
    if plots:
        from sim.plot import plot

        for scenario, results in by_scenario.values():
            print(f"wrote {plot(scenario, results, Path(plots))}")
    print(f"simulated {len(rows)} run(s) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
