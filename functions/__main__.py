"""``python -m functions``: the operator CLI (``functions.cli``)."""

from __future__ import annotations

import sys

from functions.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
