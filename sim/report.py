"""The results table: one row per scenario and configuration, plain text or Markdown."""

from __future__ import annotations

from decimal import Decimal

from sim.run import Result

__all__ = ["duration", "first_brake", "matrix", "money", "table"]

_SYMBOL = {"USD": "$", "EUR": "€"}
HEADERS = (
    "scenario",
    "configuration",
    "billed from the leak's start",
    "share of the unstopped leak",
    "first brake after",
    "last billed request after",
    "brake that held",
    "legitimate requests refused",
)


def money(amount: Decimal, currency: str) -> str:
    symbol = _SYMBOL.get(currency, currency + " ")
    return f"{symbol}{amount:,.0f}" if amount >= 10 else f"{symbol}{amount:,.2f}"


def duration(minutes: int | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def first_brake(result: Result) -> str:
    if result.leak_start is None:
        reactions = result.reactions
        return f"stopped at minute {reactions[0].minute}" if reactions else "not stopped"
    if result.preventive and (result.held == "quota" or result.leak_cost == 0):
        return "locked beforehand"
    reactions = result.reactions
    if not reactions:
        return "not stopped"
    return duration(max(0, reactions[0].minute - result.leak_start))


def _held(result: Result) -> str:
    if result.config == "none":
        return "nothing (no guard)"
    if result.leak_start is None:
        return "; ".join(sorted({b.change for b in result.reactions})) or "—"
    if not result.brakes:
        return "no brake applied"
    reactions = result.reactions
    late = bool(reactions) and result.last_attack is not None
    late = late and reactions[0].minute > (result.last_attack or 0)
    return result.held or ("none: the leak was over first" if late else "none held")


def _row(result: Result, unstopped: Result | None, currency: str) -> tuple[str, ...]:
    if result.leak_start is None:
        billed, share, last = "no leak", "—", "—"
    else:
        billed = money(result.leak_cost, currency)
        whole = unstopped.leak_cost if unstopped is not None else Decimal(0)
        share = f"{100 * result.leak_cost / whole:.1f} %" if whole else "—"
        last = duration(result.to_last_billed)
    refused = f"{result.legit_refused:,} of {result.legit_requests:,}"
    return (result.scenario, result.config, billed, share, first_brake(result), last, _held(result),
            refused)  # fmt: skip


def table(rows: list[tuple[Result, Result | None, str]], markdown: bool = False) -> str:
    """``rows``: (result, the same scenario unguarded, currency)."""
    cells = [HEADERS, *(_row(r, u, c) for r, u, c in rows)]
    if markdown:
        lines = ["| " + " | ".join(c) + " |" for c in cells]
        lines.insert(1, "|" + "---|" * len(HEADERS))
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    padded = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
    return "\n".join(line.rstrip() for line in padded)


def matrix(rows: list[tuple[Result, Result | None, str]]) -> str:
    """Markdown: one row per scenario, one column per configuration, the leak's billed cost
    (and the first brake's time) in each cell; a control case says whether it was stopped."""
    configs = list(dict.fromkeys(r.config for r, _u, _c in rows))
    cells: dict[str, dict[str, str]] = {}
    for result, _unstopped, currency in rows:
        if result.leak_start is None:
            stopped = result.reactions or result.legit_refused
            cell = "stopped" if stopped else "not stopped"
        else:
            cell = money(result.leak_cost, currency)
            if result.config != "none":
                cell += f" ({first_brake(result)})"
        cells.setdefault(result.scenario, {})[result.config] = cell
    head = ["scenario", *("no guard" if c == "none" else c for c in configs)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario, by_config in cells.items():
        lines.append("| " + " | ".join([scenario, *(by_config.get(c, "") for c in configs)]) + " |")
    return "\n".join(lines)
