"""Leak simulation: what a leaked Gemini key costs before each layer of the guard stops it.

The guard runs unchanged (its handlers, executor, Firestore ledger on the emulator, actions
through the real client libraries to the stand-in); the stand-in's Gemini API answers simulated
traffic minute by minute, and the brakes' effects decide what the next minute's requests get.

- ``scenario``: the scenario JSON format (traffic, keys, budget, detection), validated.
- ``config``: the configuration JSON format (a policy, the tick, one-time preventive settings).
- ``world``: a scenario -> the stand-in's seed (project, keys, services, billing, quotas).
- ``events``: the guard's inputs at simulated times (budget notifications via Pub/Sub, ticks,
  abuse events) and how they are delivered.
- ``run``: one scenario x one configuration on the simulated clock -> a ``Result``.
- ``report``, ``plot``: the table and the PNGs. ``__main__``: ``python -m sim``.

See docs/SIMULATION.md.
"""

from __future__ import annotations

__all__: list[str] = []
