"""One PNG per scenario: the leak's billed cost over time under each configuration, with the
moment of each configuration's first brake marked. Headless (the Agg backend)."""

from __future__ import annotations

from pathlib import Path

from sim.report import duration
from sim.run import Result
from sim.scenario import Scenario

__all__ = ["plot"]

_SYMBOL = {"USD": "$", "EUR": "€"}


def plot(scenario: Scenario, results: list[Result], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    symbol = _SYMBOL.get(scenario.currency, scenario.currency + " ")
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    hours = [m / 60 for m in range(scenario.minutes)]
    for result in results:
        unguarded = result.config == "none"
        label = "no guard" if unguarded else result.config
        style = {"color": "0.55", "linestyle": "--"} if unguarded else {}
        (line,) = ax.plot(hours, result.attacker_curve, label=label, linewidth=1.8, **style)
        if result.brakes and not unguarded:
            first = result.brakes[0].minute
            y = result.attacker_curve[min(first, len(result.attacker_curve) - 1)]
            ax.plot([first / 60], [y], marker="o", color=line.get_color(), markersize=7)
            ax.annotate(
                f"first brake {duration(result.first_brake)}",
                (first / 60, y),
                textcoords="offset points",
                xytext=(6, -14),
                fontsize=8,
                color=line.get_color(),
            )
    if scenario.leak_start is not None:
        ax.axvline(scenario.leak_start / 60, color="0.8", linewidth=1)
    ax.set_title(scenario.title, fontsize=11)
    ax.set_xlabel("hours since the simulation's start (grey line: the leak starts)")
    ax.set_ylabel(f"billed to the leak ({scenario.currency})")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{symbol}{v:,.0f}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = out_dir / f"{scenario.name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
