"""What a handler gets: the world, the path parameters, the query, the JSON body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from standin.errors import invalid_argument
from standin.model import Project
from standin.state import World

__all__ = ["Call"]


@dataclass
class Call:
    """One API call being answered. ``project`` is resolved from the ``{project}`` path part."""

    world: World
    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]
    project: Project | None = None
    #: Every value of each query parameter, for repeated ones (``query`` keeps the last).
    query_all: dict[str, list[str]] = field(default_factory=dict)

    def required_project(self) -> Project:
        """The resolved project (routes with ``project_required`` always have one)."""
        if self.project is None:
            raise RuntimeError("route resolved no project")
        return self.project

    @property
    def int_enums(self) -> bool:
        """Whether the caller asked for ``$alt=json;enum-encoding=int`` (the gapic clients do)."""
        return "enum-encoding=int" in self.query.get("$alt", "")

    def enum(self, values: Mapping[str, int], name: str) -> str | int:
        """An enum value as the caller asked for it: its name, or its number."""
        return values[name] if self.int_enums else name

    def repeated(self, name: str) -> list[str]:
        """Every value of a repeated query parameter, in order."""
        return list(self.query_all.get(name, ()))

    def flag(self, name: str) -> bool:
        """A boolean query parameter (``true``/``false``)."""
        value = self.query.get(name, "false").lower()
        if value not in ("true", "false", "1", "0"):
            raise invalid_argument(f"Invalid value for {name}: {value!r}")
        return value in ("true", "1")

    def integer(self, name: str, default: int) -> int:
        """A non-negative integer query parameter."""
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if not value.isdigit():
            raise invalid_argument(f"Invalid value for {name}: {value!r}")
        return int(value)

    def body_object(self, name: str) -> dict[str, Any]:
        """A JSON object field of the body (``{}`` when absent)."""
        value = self.body.get(name) or {}
        if not isinstance(value, dict):
            raise invalid_argument(f"Invalid value at '{name}': expected an object")
        return value

    def body_string(self, name: str) -> str:
        """A string field of the body (``""`` when absent)."""
        value = self.body.get(name) or ""
        if not isinstance(value, str):
            raise invalid_argument(f"Invalid value at '{name}': expected a string")
        return value
