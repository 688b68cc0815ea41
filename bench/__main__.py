"""Run every benchmark and print its figures: ``python -m bench`` (or ``make bench``)."""

from __future__ import annotations

import platform

from bench import audit, cold_start, fleet, pipeline, reader, watchdog

if __name__ == "__main__":
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    cold_start.run()
    print()
    pipeline.run()
    print()
    fleet.run()
    print()
    reader.run()
    print()
    watchdog.run()
    print()
    audit.run()
