"""ListTimeSeries and ListMetricDescriptors semantics, on plain data (no gRPC, no protobuf).

Filters: the subset the guard sends, ``TERM [AND TERM]...`` where a term is
``metric.type``, ``resource.type``, ``resource.labels.K`` or ``metric.labels.K`` (``label`` also
accepted) ``=`` a quoted string or ``one_of("a", "b", ...)``, ``starts_with("…")``,
``ends_with("…")``. Anything else is INVALID_ARGUMENT naming what was not understood. A time
series filter names exactly one ``metric.type`` by equality; an unknown one is NOT_FOUND
``Cannot find metric(s) that match type = "…"``.

Intervals are (start, end]. Alignment: windows ``(t - period, t]`` for ``t = end - k·period``
(k ≥ 0, t > start), ``alignmentPeriod`` ≥ 60 s and whole seconds; aligners ALIGN_NONE (raw
points, only without a reducer) and ALIGN_SUM; reducers REDUCE_NONE and REDUCE_SUM, which keep
only the ``groupByFields`` labels. Points newest first; sums stop at the int64 maximum.
Paging (view FULL): a page holds whole series up to ``pageSize`` points (default and maximum
100,000; at least one series); HEADERS: ``pageSize`` series. Page tokens are bound to the query.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standin.monitoring.catalogue import CATALOGUE, MetricInfo
from standin.monitoring.state import MINUTE, Series

__all__ = [
    "Cond",
    "QueryError",
    "TimeSeriesQuery",
    "descriptors",
    "page",
    "parse_filter",
    "time_series",
]

INT64_MAX = 2**63 - 1
MAX_PAGE = 100_000
_FIELD = r"(metric\.type|resource\.type|(?:resource|metric)\.labels?\.[A-Za-z_][A-Za-z0-9_]*)"
_STRING = r'"(?:[^"\\]|\\.)*"'
_TERM = re.compile(
    rf"\s*{_FIELD}\s*=\s*(?:(one_of|starts_with|ends_with)\s*\(\s*({_STRING}(?:\s*,\s*{_STRING})*)\s*\)|({_STRING}))\s*"
)
_AND = re.compile(r"AND\b", re.IGNORECASE)
_STRINGS = re.compile(_STRING)


class QueryError(Exception):
    """A request Monitoring refuses: ``code`` is the gRPC status name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Cond:
    """``field op values``; op is ``eq``, ``one_of``, ``starts_with`` or ``ends_with``."""

    field: str
    op: str
    values: tuple[str, ...]

    def matches(self, value: str) -> bool:
        if self.op in ("eq", "one_of"):
            return value in self.values
        if self.op == "starts_with":
            return value.startswith(self.values[0])
        return value.endswith(self.values[0])


def _unquote(text: str) -> str:
    return str(json.loads(text))


def parse_filter(text: str) -> list[Cond]:
    """The conditions of a filter; QueryError INVALID_ARGUMENT on anything outside the subset."""
    conds: list[Cond] = []
    rest = text
    while True:
        found = _TERM.match(rest)
        if found is None:
            raise QueryError(
                "INVALID_ARGUMENT",
                f"The stand-in cannot parse the filter at {rest.strip()[:80]!r} in {text!r}",
            )
        name, func, args, single = found.groups()
        name = name.replace(".label.", ".labels.")
        if func is None:
            conds.append(Cond(name, "eq", (_unquote(single),)))
        else:
            values = tuple(_unquote(v) for v in _STRINGS.findall(args))
            if func != "one_of" and len(values) != 1:
                raise QueryError("INVALID_ARGUMENT", f"{func} takes one string: {text!r}")
            conds.append(Cond(name, func, values))
        rest = rest[found.end() :]
        if not rest.strip():
            return conds
        joined = _AND.match(rest)
        if joined is None:
            raise QueryError(
                "INVALID_ARGUMENT",
                f"The stand-in only joins filter terms with AND, at: {rest.strip()[:80]!r}",
            )
        rest = rest[joined.end() :]


def _value(series: Series, name: str) -> str:
    if name == "metric.type":
        return series.info.type
    if name == "resource.type":
        return series.info.resource_type
    scope, _, label = name.split(".", 2)
    labels = series.resource_labels if scope == "resource" else series.metric_labels
    return labels.get(label, "")


def metric_type(conds: list[Cond]) -> MetricInfo:
    """The one metric a time-series filter names."""
    types = [c for c in conds if c.field == "metric.type"]
    if len(types) != 1 or types[0].op != "eq":
        raise QueryError(
            "INVALID_ARGUMENT",
            'The time series filter must name exactly one metric type: metric.type = "…"',
        )
    name = types[0].values[0]
    meta = CATALOGUE.get(name)
    if meta is None:
        raise QueryError("NOT_FOUND", f'Cannot find metric(s) that match type = "{name}".')
    return meta


@dataclass
class TimeSeriesQuery:
    """A ListTimeSeries request, decoded."""

    conds: list[Cond]
    start: datetime | None
    end: datetime
    period: timedelta | None = None
    aligner: str = "ALIGN_NONE"
    reducer: str = "REDUCE_NONE"
    group_by: list[str] = field(default_factory=list)

    def check(self) -> None:
        if self.start is not None and self.start > self.end:
            raise QueryError("INVALID_ARGUMENT", "The start time must be before the end time.")
        if self.aligner not in ("ALIGN_NONE", "ALIGN_SUM"):
            raise QueryError("INVALID_ARGUMENT", f"The stand-in does not serve {self.aligner}.")
        if self.reducer not in ("REDUCE_NONE", "REDUCE_SUM"):
            raise QueryError("INVALID_ARGUMENT", f"The stand-in does not serve {self.reducer}.")
        if self.aligner == "ALIGN_NONE" and self.reducer != "REDUCE_NONE":
            raise QueryError(
                "INVALID_ARGUMENT",
                "The aligner cannot be ALIGN_NONE if cross series reduction is requested.",
            )
        if self.aligner != "ALIGN_NONE":
            seconds = self.period.total_seconds() if self.period else 0
            if seconds < 60 or seconds != int(seconds):
                raise QueryError(
                    "INVALID_ARGUMENT",
                    "The alignment period must be at least 60 seconds, in whole seconds.",
                )
        for name in self.group_by:
            if not re.fullmatch(r"(resource|metric)\.labels?\.[A-Za-z_][A-Za-z0-9_]*", name):
                raise QueryError("INVALID_ARGUMENT", f"Unsupported group by field: {name!r}")


@dataclass
class OutSeries:
    """One answered series: labels, kind and points (start, end, value), newest first."""

    info: MetricInfo
    resource_labels: dict[str, str]
    metric_labels: dict[str, str]
    kind: str
    points: list[tuple[datetime, datetime, int]]


def _window_end(end: datetime, period: timedelta, moment: datetime) -> datetime:
    """The end t of the alignment window (t - period, t] holding ``moment``."""
    steps = (end - moment) // period  # whole periods from moment up to end
    return end - steps * period


def _align(series: Series, query: TimeSeriesQuery) -> OutSeries | None:
    start, end = query.start, query.end
    inside = [(e, v) for e, v in series.points if e <= end and (start is None or e > start)]
    if start is None:  # Google: a missing start time means the instant of the end time
        inside = [(e, v) for e, v in inside if e == end]
    if not inside:
        return None
    if query.aligner == "ALIGN_NONE" or query.period is None:
        step = timedelta(0) if series.info.kind == "GAUGE" else MINUTE
        points = [(e - step, e, v) for e, v in inside]
    else:
        period = query.period
        sums: dict[datetime, int] = {}
        for e, v in inside:
            t = _window_end(end, period, e)
            sums[t] = min(sums.get(t, 0) + v, INT64_MAX)
        points = [(t - period, t, v) for t, v in sorted(sums.items(), reverse=True)]
    return OutSeries(
        series.info,
        dict(series.resource_labels),
        dict(series.metric_labels),
        series.info.kind,
        points,
    )


def _reduce(items: list[OutSeries], group_by: list[str]) -> list[OutSeries]:
    groups: dict[tuple[str, ...], OutSeries] = {}
    fields = [g.replace(".label.", ".labels.") for g in group_by]
    for item in items:
        key = tuple(
            (item.resource_labels if f.startswith("resource.") else item.metric_labels).get(
                f.split(".", 2)[2], ""
            )
            for f in fields
        )
        out = groups.get(key)
        if out is None:
            resource = {
                f.split(".", 2)[2]: k
                for f, k in zip(fields, key, strict=True)
                if f.startswith("resource.")
            }
            metric = {
                f.split(".", 2)[2]: k
                for f, k in zip(fields, key, strict=True)
                if f.startswith("metric.")
            }
            out = groups[key] = OutSeries(item.info, resource, metric, item.kind, [])
        merged: dict[tuple[datetime, datetime], int] = {(s, e): v for s, e, v in out.points}
        for s, e, v in item.points:
            merged[(s, e)] = min(merged.get((s, e), 0) + v, INT64_MAX)
        out.points = [
            (s, e, v) for (s, e), v in sorted(merged.items(), key=lambda x: x[0][1], reverse=True)
        ]
    return list(groups.values())


def time_series(series: list[Series], query: TimeSeriesQuery) -> list[OutSeries]:
    """The answer to ``query`` over the visible ``series`` of its metric, in a stable order."""
    query.check()
    chosen = [s for s in series if all(c.matches(_value(s, c.field)) for c in query.conds)]
    aligned = [a for a in (_align(s, query) for s in chosen) if a is not None]
    if query.reducer == "REDUCE_SUM":
        aligned = _reduce(aligned, query.group_by)
    aligned.sort(key=lambda o: (sorted(o.resource_labels.items()), sorted(o.metric_labels.items())))
    return aligned


def descriptors(filter_text: str) -> list[MetricInfo]:
    """The metric descriptors a ListMetricDescriptors filter selects (``""``: all)."""
    conds = parse_filter(filter_text) if filter_text.strip() else []
    for cond in conds:
        if cond.field != "metric.type":
            raise QueryError(
                "INVALID_ARGUMENT",
                f"The stand-in filters descriptors on metric.type only: {cond.field}",
            )
    return [m for m in CATALOGUE.values() if all(c.matches(m.type) for c in conds)]


def _token_key(request_key: str) -> str:
    return hashlib.sha256(request_key.encode()).hexdigest()[:16]


def page(
    items: list[Any], size_of: Any, page_size: int, page_token: str, request_key: str
) -> tuple[list[Any], str]:
    """One page of ``items`` (``size_of(item)`` units each, ``page_size`` units a page) and the
    next page token (``""`` on the last page). A token from another query is INVALID_ARGUMENT."""
    offset = 0
    if page_token:
        try:
            data = json.loads(base64.urlsafe_b64decode(page_token.encode()))
            offset, key = int(data["o"]), str(data["k"])
        except (ValueError, KeyError, TypeError):
            raise QueryError("INVALID_ARGUMENT", "Invalid page token.") from None
        if key != _token_key(request_key) or not 0 <= offset <= len(items):
            raise QueryError("INVALID_ARGUMENT", "The page token does not match the request.")
    limit = page_size if 0 < page_size <= MAX_PAGE else MAX_PAGE
    chosen: list[Any] = []
    used = 0
    for item in items[offset:]:
        size = size_of(item)
        if chosen and used + size > limit:
            break
        chosen.append(item)
        used += size
    following = offset + len(chosen)
    if following >= len(items):
        return chosen, ""
    token = json.dumps({"o": following, "k": _token_key(request_key)})
    return chosen, base64.urlsafe_b64encode(token.encode()).decode()
