"""Routes: (HTTP method, path template, API method id, handler), matched against request paths."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from standin.call import Call
from standin.state import World

__all__ = ["Handler", "Locator", "Route", "match", "route"]

Handler = Callable[[Call], dict[str, Any]]
#: For a route whose path names no project: the project ID the call is about, if any.
Locator = Callable[[World, dict[str, str]], "str | None"]

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One REST method. ``resource`` (a template over the path parameters) names what a 403
    is about; ``project_required``: an unknown ``{project}`` answers 403 before the handler runs;
    ``locate`` finds the project of a call whose path names none (operations)."""

    http: str
    pattern: re.Pattern[str]
    method_id: str
    handler: Handler
    resource: str = "projects/{project}"
    project_required: bool = True
    locate: Locator | None = None


def route(
    http: str,
    template: str,
    method_id: str,
    handler: Handler,
    *,
    resource: str = "projects/{project}",
    project_required: bool = True,
    locate: Locator | None = None,
) -> Route:
    """A :class:`Route` for ``template`` such as ``/v1/projects/{project}/billingInfo``.

    A ``{name}`` matches one path segment without ``/`` or ``:``.
    """
    parts = _PARAM.split(template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/:]+)" for i, part in enumerate(parts)
    )
    pattern = re.compile(f"^{regex}$")
    return Route(http, pattern, method_id, handler, resource, project_required, locate)


def match(routes: Sequence[Route], http: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route answering ``http path`` and its path parameters."""
    for candidate in routes:
        if candidate.http != http:
            continue
        found = candidate.pattern.match(path)
        if found:
            return candidate, found.groupdict()
    return None
