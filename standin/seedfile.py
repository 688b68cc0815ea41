"""Where seeds come from: the packaged demo world, a JSON file, or a dict."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from standin.model import SeedError

__all__ = ["DEFAULT_SEED_PATH", "SeedSource", "load_seed"]

#: The demo world shipped with the package.
DEFAULT_SEED_PATH = Path(__file__).with_name("seed.json")

SeedSource = Mapping[str, Any] | str | Path | None


def load_seed(source: SeedSource = None) -> dict[str, Any]:
    """A fresh seed dict from ``source`` (``None``: :data:`DEFAULT_SEED_PATH`)."""
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source))
    path = Path(source) if source is not None else DEFAULT_SEED_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SeedError(f"cannot read seed {path}: {error}") from error
    if not isinstance(data, dict):
        raise SeedError(f"seed {path}: expected a JSON object")
    return data
