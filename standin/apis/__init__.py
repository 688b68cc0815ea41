"""One module per Google API the guard calls; each exports its ``ROUTES``."""

from __future__ import annotations

__all__: list[str] = []
