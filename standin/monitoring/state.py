"""Cloud Monitoring's world in the stand-in: scripted per-minute points, scopes, delays.

Seed format (the ``"monitoring"`` section of a seed file; every field optional)::

    {"points": [{"metric": TYPE, "project": "gemini-prod", "labels": {"model": "gemini-2.5-pro"},
                 "minute": "2026-11-30T10:04:00Z", "value": 12345}, ...],
     "scopes": {"guard-host": ["gemini-prod", "gemini-staging"]},
     "delays": {"generativelanguage.googleapis.com/": 150, "serviceruntime.googleapis.com/": 180},
     "resource_container": "id" | "number",
     "page_size": 100000}

A point is one DELTA minute ``[minute, minute + 60 s)`` of one series. Its labels are the
metric's resource and metric labels by name, except the project's own label (``project_id`` or
``resource_container``: from ``project``) and ``limit_name`` (a quota ``/usage`` point is emitted
once per limit name, identical, and its ``/limit`` twin is derived); labels left out take the
catalogue's defaults. Writing a point again replaces it (``"add": true`` adds to it instead).
``resource_container`` is the project id (``"id"``, default) or ``projects/NUMBER``
(``"number"``, for projects in the world) — which one Google uses is open (USAGE.md §8).
``page_size`` caps every page (to make paging visible in tests).
A metrics scope is its host project plus the projects listed for it. A point is visible once
the stand-in's clock is past its end time plus the delay of the longest matching type prefix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from standin.clock import parse_time, rfc3339
from standin.model import SeedError
from standin.monitoring.catalogue import CATALOGUE, PROJECT_LABEL, MetricInfo

__all__ = ["DEFAULT_DELAYS", "MonitoringState", "Point", "Series"]

DEFAULT_DELAYS: dict[str, float] = {
    "generativelanguage.googleapis.com/": 150.0,
    "serviceruntime.googleapis.com/": 180.0,
    "aiplatform.googleapis.com/": 150.0,
}
MINUTE = timedelta(seconds=60)
_CONTAINER_FORMS = ("id", "number")
_DERIVED_LABELS = frozenset({"limit_name"})


@dataclass(frozen=True)
class Point:
    """A scripted point: (metric, project, labels, minute) -> value."""

    metric: str
    project: str
    labels: tuple[tuple[str, str], ...]
    minute: datetime

    def to_seed(self, value: int) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "project": self.project,
            "labels": dict(self.labels),
            "minute": rfc3339(self.minute),
            "value": value,
        }


@dataclass
class Series:
    """One time series as Monitoring would store it, before any aggregation."""

    info: MetricInfo
    project: str
    resource_labels: dict[str, str]
    metric_labels: dict[str, str]
    #: (end time, value); start time is end - 60 s for DELTA, end for GAUGE
    points: list[tuple[datetime, int]]


def _point(data: Any, where: str) -> tuple[Point, int, bool]:
    if not isinstance(data, dict):
        raise SeedError(f"{where}: expected an object")
    unknown = set(data) - {"metric", "project", "labels", "minute", "value", "add"}
    if unknown:
        raise SeedError(f"{where}: unknown fields {sorted(unknown)}")
    metric = data.get("metric")
    meta = CATALOGUE.get(metric) if isinstance(metric, str) else None
    if meta is None or meta.derived_from:
        raise SeedError(f"{where}.metric: not a metric that can be scripted: {metric!r}")
    project = data.get("project")
    if not isinstance(project, str) or not project:
        raise SeedError(f"{where}.project: a project id is required")
    labels = data.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise SeedError(f"{where}.labels: an object of string values is required")
    own = {PROJECT_LABEL[meta.resource_type]} | _DERIVED_LABELS
    allowed = set(meta.labels) - own
    if set(labels) - allowed:
        raise SeedError(f"{where}.labels: {sorted(set(labels) - allowed)} not settable on {metric}")
    missing = allowed - set(labels) - set(meta.defaults)
    if missing:
        raise SeedError(f"{where}.labels: {sorted(missing)} required for {metric}")
    value = data.get("value")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise SeedError(f"{where}.value: an int64 >= 0 is required, got {value!r}")
    try:
        minute = parse_time(data.get("minute"), f"{where}.minute")
    except ValueError as error:
        raise SeedError(str(error)) from None
    minute = minute.replace(second=0, microsecond=0)
    full = {**{k: v for k, v in meta.defaults.items() if k in allowed}, **labels}
    point = Point(meta.type, project, tuple(sorted(full.items())), minute)
    return point, value, bool(data.get("add"))


class MonitoringState:
    """Thread-safe store of scripted points and the scope/delay settings."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.points: dict[Point, int] = {}
        self.scopes: dict[str, list[str]] = {}
        self.delays: dict[str, float] = dict(DEFAULT_DELAYS)
        self.resource_container = "id"
        #: the most points (series, for HEADERS) a page holds, whatever the caller asks
        self.page_size = 100_000

    # seed ------------------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, data: Any) -> MonitoringState:
        state = cls()
        if data is None:
            return state
        if not isinstance(data, dict):
            raise SeedError("monitoring: expected an object")
        unknown = set(data) - {"points", "scopes", "delays", "resource_container", "page_size"}
        if unknown:
            raise SeedError(f"monitoring: unknown fields {sorted(unknown)}")
        state.set_scopes(data.get("scopes") or {}, "monitoring.scopes")
        state.set_delays(data.get("delays") or {}, "monitoring.delays")
        form = data.get("resource_container", "id")
        if form not in _CONTAINER_FORMS:
            raise SeedError(f"monitoring.resource_container: one of {list(_CONTAINER_FORMS)}")
        state.resource_container = form
        size = data.get("page_size", 100_000)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 100_000:
            raise SeedError("monitoring.page_size: an integer from 1 to 100000")
        state.page_size = size
        state.write(data.get("points") or [], "monitoring.points")
        return state

    def to_seed(self) -> dict[str, Any]:
        with self.lock:
            return {
                "points": [p.to_seed(v) for p, v in sorted(self.points.items(), key=_order)],
                "scopes": {host: list(ps) for host, ps in self.scopes.items()},
                "delays": dict(self.delays),
                "resource_container": self.resource_container,
                "page_size": self.page_size,
            }

    # changes ---------------------------------------------------------------------------------

    def write(self, points: Any, where: str = "points") -> int:
        """Validate every point first, then write them all (nothing written on an error)."""
        if not isinstance(points, list):
            raise SeedError(f"{where}: expected a list of points")
        parsed = [_point(item, f"{where}[{i}]") for i, item in enumerate(points)]
        with self.lock:
            for point, value, add in parsed:
                self.points[point] = min(
                    (self.points.get(point, 0) if add else 0) + value, 2**63 - 1
                )
        return len(parsed)

    def clear_points(self) -> None:
        with self.lock:
            self.points.clear()

    def set_scopes(self, scopes: Any, where: str = "scopes") -> None:
        """Add or replace scopes ``{host: [project, ...]}``."""
        if not isinstance(scopes, dict) or not all(
            isinstance(h, str) and isinstance(ps, list) and all(isinstance(p, str) for p in ps)
            for h, ps in scopes.items()
        ):
            raise SeedError(f"{where}: expected {{host project: [project id, ...]}}")
        with self.lock:
            self.scopes.update({h: list(ps) for h, ps in scopes.items()})

    def set_delays(self, delays: Any, where: str = "delays") -> None:
        """Add or replace delays ``{metric type prefix: seconds}``."""
        if not isinstance(delays, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and v >= 0 for k, v in delays.items()
        ):
            raise SeedError(f"{where}: expected {{metric type prefix: seconds >= 0}}")
        with self.lock:
            self.delays.update({k: float(v) for k, v in delays.items()})

    # reads -----------------------------------------------------------------------------------

    def points_json(self, metric: str | None = None, project: str | None = None) -> list[Any]:
        with self.lock:
            return [
                p.to_seed(v)
                for p, v in sorted(self.points.items(), key=_order)
                if (metric is None or p.metric == metric)
                and (project is None or p.project == project)
            ]

    def delay(self, metric: str) -> timedelta:
        with self.lock:
            matches = [k for k in self.delays if metric.startswith(k)]
            seconds = self.delays[max(matches, key=len)] if matches else 0.0
        return timedelta(seconds=seconds)

    def in_scope(self, host: str) -> set[str]:
        with self.lock:
            return {host, *self.scopes.get(host, [])}

    def series(
        self,
        metric: str,
        host: str,
        now: datetime,
        container: Callable[[str], str],
    ) -> list[Series]:
        """Every visible series of ``metric`` in ``host``'s metrics scope, points newest first.

        ``container(project)`` is the ``resource_container`` value of a project.
        """
        meta = CATALOGUE[metric]
        source = meta.derived_from or metric
        cutoff = now - self.delay(metric)
        scope = self.in_scope(host)
        found: dict[tuple[Any, ...], Series] = {}
        with self.lock:
            items = [
                (p, v)
                for p, v in self.points.items()
                if p.metric == source and p.project in scope and p.minute + MINUTE <= cutoff
            ]
        for point, value in items:
            for limit_name, limit in meta.limits.items() or [("", 0)]:
                labels = dict(point.labels)
                if meta.limits:
                    labels["limit_name"] = limit_name
                project_label = PROJECT_LABEL[meta.resource_type]
                labels[project_label] = (
                    container(point.project)
                    if project_label == "resource_container"
                    else point.project
                )
                key = (point.project, tuple(sorted(labels.items())))
                series = found.get(key)
                if series is None:
                    series = found[key] = Series(
                        meta,
                        point.project,
                        {k: labels[k] for k in meta.resource_labels if k in labels},
                        {k: labels[k] for k in meta.metric_labels if k in labels},
                        [],
                    )
                series.points.append((point.minute + MINUTE, limit if meta.derived_from else value))
        for series in found.values():
            series.points.sort(key=lambda p: p[0], reverse=True)
        return list(found.values())


def _order(item: tuple[Point, int]) -> tuple[Any, ...]:
    point = item[0]
    return (point.minute, point.metric, point.project, point.labels)
