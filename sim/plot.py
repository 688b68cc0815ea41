"""One PNG per scenario: the leak's billed cost over time under each configuration (symlog
scale, so a few dollars and eighty thousand read on one chart), each configuration's first
brake marked, its total and brake time in the legend. Headless (the Agg backend)."""

from __future__ import annotations

from pathlib import Path

from sim.report import first_brake, money
from sim.run import Result
from sim.scenario import Scenario

__all__ = ["plot"]

_SYMBOL = {"USD": "$", "EUR": "€"}
_STYLES = ("-", "--", "-.", ":")


def plot(scenario: Scenario, results: list[Result], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    symbol = _SYMBOL.get(scenario.currency, scenario.currency + " ")
    fig, ax = plt.subplots(figsize=(9.5, 6), dpi=110)
    hours = [m / 60 for m in range(scenario.minutes)]
    for i, result in enumerate(results):
        unguarded = result.config == "none"
        total = money(result.leak_cost, scenario.currency)
        if unguarded:
            label, color, dash = f"no guard: {total}", "0.5", "--"
        else:
            label = f"{result.config}: {total}, first brake: {first_brake(result)}"
            color, dash = None, _STYLES[i % len(_STYLES)]
        width = 3.2 - 0.3 * i  # earlier lines wider: identical curves stay visible
        (line,) = ax.plot(
            hours,
            result.attacker_curve,
            label=label,
            linewidth=max(width, 1.2),
            linestyle=dash,
            color=color,
        )
        reactions = result.reactions
        if reactions and not unguarded:
            first = min(reactions[0].minute, len(result.attacker_curve) - 1)
            y = result.attacker_curve[first]
            ax.plot([first / 60], [y], marker="o", color=line.get_color(), markersize=7)
    if scenario.leak_start is not None:
        ax.axvline(scenario.leak_start / 60, color="0.8", linewidth=1)
    ax.set_yscale("symlog", linthresh=10)
    top = max((max(r.attacker_curve, default=0.0) for r in results), default=0.0)
    ax.set_ylim(bottom=0, top=max(100.0, top * 2))
    ax.set_title(scenario.title, fontsize=11)
    ax.set_xlabel(
        "hours since the simulation's start (grey line: the leak starts; dot: first brake)"
    )
    ax.set_ylabel(f"billed to the leak ({scenario.currency}, symlog)")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{symbol}{v:,.0f}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    path = out_dir / f"{scenario.name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
