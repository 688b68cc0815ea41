"""Per-minute usage buckets in Firestore (the ledger's database), with exact rollups.

Owns collection ``usage``. Two kinds of document per project:

- **hour** ``{project}~h~{YYYY-MM-DDTHH}`` (UTC): the minute buckets,
  ``{"tokens": {"MM": '{"model": [in, out], ...}'}, "keys": {"MM": '{"uid": n, ...}'}}``; one
  JSON string per minute keeps a document at 120 fields (index entries) whatever the models.
- **day** ``{project}~d~{YYYY-MM-DD}`` (UTC): the rollups, ``{"tokens": {model: {"in", "out"}},
  "hours": {"HH": {model: {"in", "out"}}}, "keys": {uid: n}, "key_hours": {"HH": {uid: n}},
  "last": epoch seconds of the newest minute written}``.

Writing: the touched hour documents are read (one ``get_all``), each row replaces its minute's
value for (project, model) or (project, key), and the difference from what was there is added
to the day document with ``Increment`` (``last`` with ``Maximum``), all in one atomic batch whose
hour writes are conditional on the versions read (create-if-absent for new hours). A concurrent
writer makes the batch fail: it is re-read and retried. So re-reading the last 15 minutes every
tick never counts twice, a catch-up after a missed hour is one more write of the same shape, and
the rollups always equal the sum of the minutes.

Reading ``[start, end)`` (minute precision): whole UTC days from the day totals, whole hours
from a day document's hour totals, the rest minute by minute from hour documents. A month to
date is then about 32 day documents plus one or two hour documents per project, in one
``get_all``. Rows for a whole day or hour are that span's total, dated at its first minute
(sums are exact; a price change on a UTC date boundary stays exact too, as days are UTC days).

``last_minute()`` is one ordered query (``last`` descending, limit 1): the newest minute with
usage written, where the next tick's catch-up read may start. Idle minutes write nothing.

Errors: any Firestore failure (after the client's retries, bounded by
``BUDGET_GUARD_LEDGER_TIMEOUT``), or a batch still conflicting after retries, is
``LedgerUnavailable`` (a ``TransientError``).
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from functions.errors import LedgerUnavailable
from functions.policy import LedgerConfig
from functions.watchdog.usage import KeyUsage, TokenUsage, minute_of

__all__ = ["COLLECTION", "UsageStore"]

T = TypeVar("T")
COLLECTION = "usage"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_ATTEMPTS = 8
_HOURS_PER_BATCH = 200  # each brings at most one day write: under Firestore's 500 a batch


@dataclass(frozen=True)
class _Kind:
    """Tokens or keys: where each lives in the documents and how a value is made of parts."""

    minutes: str  # hour doc field
    total: str  # day doc field
    hours: str  # day doc field
    parts: tuple[str, ...]  # names of a value's parts in the day totals


TOKENS = _Kind("tokens", "tokens", "hours", ("in", "out"))
KEYS = _Kind("keys", "keys", "key_hours", ("n",))


@dataclass
class _Hour:
    """One hour document being changed: its minutes and the deltas for its day document."""

    project: str
    hour: datetime
    minutes: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    deltas: dict[str, list[int]] = field(default_factory=dict)
    newest: datetime | None = None


def _hour_id(project: str, hour: datetime) -> str:
    return f"{project}~h~{hour.strftime('%Y-%m-%dT%H')}"


def _day_id(project: str, day: datetime) -> str:
    return f"{project}~d~{day.strftime('%Y-%m-%d')}"


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0)


def _floor_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0)


def _spans(start: datetime, end: datetime) -> tuple[list[datetime], list[datetime], list[datetime]]:
    """Cover [start, end) by whole days, then whole hours, then minutes (their first minutes)."""
    days: list[datetime] = []
    hours: list[datetime] = []
    minutes: list[datetime] = []
    moment = start
    while moment < end:
        if moment == _floor_day(moment) and moment + DAY <= end:
            days.append(moment)
            moment += DAY
        elif moment == _floor_hour(moment) and moment + HOUR <= end:
            hours.append(moment)
            moment += HOUR
        else:
            minutes.append(moment)
            moment += timedelta(minutes=1)
    return days, hours, minutes


class UsageStore:
    """Usage buckets in the policy's ledger database. ``client``: a firestore.Client."""

    def __init__(self, config: LedgerConfig, client: Any = None) -> None:
        from google.api_core import exceptions as gexc
        from google.cloud import firestore

        from functions.ledger.firestore import call_options

        self._fs = firestore
        self._gexc = gexc
        self._client = client or firestore.Client(project=config.project, database=config.database)
        self._col = self._client.collection(COLLECTION)
        self._opts = call_options()

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (self._gexc.GoogleAPIError, OSError) as exc:
            raise LedgerUnavailable(
                f"usage store {what} failed: {type(exc).__name__}: {exc}"
            ) from exc

    # writes ----------------------------------------------------------------------------------

    def write_tokens(self, rows: Sequence[TokenUsage]) -> None:
        """Store each row, replacing what (project, model, minute) held."""
        self._write(
            TOKENS,
            [
                (r.project, r.model, r.minute, [int(r.input_tokens), int(r.output_tokens)])
                for r in rows
            ],
        )

    def write_keys(self, rows: Sequence[KeyUsage]) -> None:
        """Store each row, replacing what (project, key uid, minute) held."""
        self._write(KEYS, [(r.project, r.key_uid, r.minute, [int(r.requests)]) for r in rows])

    def _write(self, kind: _Kind, rows: list[tuple[str, str, datetime, list[int]]]) -> None:
        by_hour: dict[tuple[str, datetime], dict[tuple[datetime, str], list[int]]] = defaultdict(
            dict
        )
        for project, name, moment, value in rows:
            minute = minute_of(moment)
            by_hour[(project, _floor_hour(minute))][(minute, name)] = value  # last row wins
        keys = sorted(by_hour)
        for i in range(0, len(keys), _HOURS_PER_BATCH):
            chunk = {k: by_hour[k] for k in keys[i : i + _HOURS_PER_BATCH]}
            for attempt in range(_ATTEMPTS):
                if self._try_write(kind, chunk):
                    break
                if attempt == _ATTEMPTS - 1:
                    what = f"usage store write {kind.minutes}"
                    raise LedgerUnavailable(f"{what}: still conflicting after {_ATTEMPTS} tries")
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # let the other writer finish

    def _try_write(
        self, kind: _Kind, chunk: dict[tuple[str, datetime], dict[tuple[datetime, str], list[int]]]
    ) -> bool:
        """One read-compute-commit round; False when a concurrent writer got in between."""
        refs = {k: self._col.document(_hour_id(*k)) for k in chunk}
        snaps = self._call(
            "read", lambda: list(self._client.get_all(list(refs.values()), **self._opts))
        )
        by_id = {snap.id: snap for snap in snaps}
        batch = self._client.batch()
        for key, values in chunk.items():
            snap = by_id.get(refs[key].id)
            hour = self._apply(kind, key, values, snap)
            self._stage(kind, batch, refs[key], snap, hour)
        try:
            self._call("write", lambda: batch.commit(**self._opts))
        except LedgerUnavailable as exc:
            conflict = (self._gexc.FailedPrecondition, self._gexc.AlreadyExists, self._gexc.Aborted)
            if isinstance(exc.__cause__, conflict):
                return False
            raise
        return True

    def _apply(
        self,
        kind: _Kind,
        key: tuple[str, datetime],
        values: dict[tuple[datetime, str], list[int]],
        snap: Any,
    ) -> _Hour:
        stored = (
            (snap.to_dict() or {}).get(kind.minutes, {}) if snap is not None and snap.exists else {}
        )
        hour = _Hour(*key)
        for (minute, name), value in sorted(values.items()):
            slot = minute.strftime("%M")
            if slot not in hour.minutes:
                hour.minutes[slot] = json.loads(stored.get(slot, "{}"))
            old = hour.minutes[slot].get(name, [0] * len(value))
            hour.minutes[slot][name] = value
            hour.changed.add(slot)
            delta = hour.deltas.setdefault(name, [0] * len(value))
            for i, (new_part, old_part) in enumerate(zip(value, old, strict=True)):
                delta[i] += new_part - old_part
            hour.newest = max(hour.newest or minute, minute)
        return hour

    def _stage(self, kind: _Kind, batch: Any, ref: Any, snap: Any, hour: _Hour) -> None:
        from google.cloud.firestore_v1.field_path import FieldPath

        encoded = {s: json.dumps(hour.minutes[s], sort_keys=True) for s in sorted(hour.changed)}
        if snap is not None and snap.exists:
            update = {FieldPath(kind.minutes, s).to_api_repr(): v for s, v in encoded.items()}
            option = self._client.write_option(last_update_time=snap.update_time)
            batch.update(ref, update, option=option)
        else:
            batch.create(
                ref,
                {"project": hour.project, "hour": hour.hour, kind.minutes: encoded},
            )
        inc = self._fs.Increment
        day_data: dict[str, Any] = {
            "project": hour.project,
            "day": hour.hour.strftime("%Y-%m-%d"),
            kind.total: {},
            kind.hours: {hour.hour.strftime("%H"): {}},
        }
        for name, delta in hour.deltas.items():
            parts = dict(zip(kind.parts, (inc(d) for d in delta), strict=True))
            day_data[kind.total][name] = dict(parts)
            day_data[kind.hours][hour.hour.strftime("%H")][name] = dict(parts)
        if hour.newest is not None:
            day_data["last"] = self._fs.Maximum(int(hour.newest.timestamp()))
        day_ref = self._col.document(_day_id(hour.project, _floor_day(hour.hour)))
        batch.set(day_ref, day_data, merge=True)

    # reads -----------------------------------------------------------------------------------

    def _read(
        self, kind: _Kind, projects: Sequence[str], start: datetime, end: datetime
    ) -> Iterable[tuple[str, str, datetime, list[int]]]:
        """(project, name, first minute of the bucket, value parts) covering [start, end)."""
        start, end = minute_of(start), minute_of(end)
        projects = list(dict.fromkeys(projects))
        if end <= start or not projects:
            return []
        days, hours, minutes = _spans(start, end)
        day_ids = {_floor_day(m) for m in hours}.union(days)
        hour_ids = {_floor_hour(m) for m in minutes}
        refs = [self._col.document(_day_id(p, d)) for p in projects for d in sorted(day_ids)]
        refs += [self._col.document(_hour_id(p, h)) for p in projects for h in sorted(hour_ids)]
        snaps = self._call("read", lambda: list(self._client.get_all(refs, **self._opts)))
        docs = {snap.id: snap.to_dict() or {} for snap in snaps if snap.exists}
        found: list[tuple[str, str, datetime, list[int]]] = []
        for project in projects:
            for day in days:
                totals = docs.get(_day_id(project, day), {}).get(kind.total, {})
                found += [
                    (project, n, day, [int(v.get(p, 0)) for p in kind.parts])
                    for n, v in totals.items()
                ]
            for hour in hours:
                per_hour = docs.get(_day_id(project, _floor_day(hour)), {}).get(kind.hours, {})
                totals = per_hour.get(hour.strftime("%H"), {})
                found += [
                    (project, n, hour, [int(v.get(p, 0)) for p in kind.parts])
                    for n, v in totals.items()
                ]
            for minute in minutes:
                slots = docs.get(_hour_id(project, _floor_hour(minute)), {}).get(kind.minutes, {})
                values = json.loads(slots.get(minute.strftime("%M"), "{}"))
                found += [(project, n, minute, [int(x) for x in v]) for n, v in values.items()]
        return found

    def tokens_between(
        self, projects: Sequence[str], start: datetime, end: datetime
    ) -> list[TokenUsage]:
        """Token buckets of ``projects`` covering the minutes ``[start, end)``."""
        rows = [
            TokenUsage(project, model, minute, parts[0], parts[1])
            for project, model, minute, parts in self._read(TOKENS, projects, start, end)
            if parts[0] or parts[1]
        ]
        return sorted(rows, key=lambda r: (r.project, r.minute, r.model))

    def keys_between(
        self, projects: Sequence[str], start: datetime, end: datetime
    ) -> list[KeyUsage]:
        """Per-key request buckets of ``projects`` covering the minutes ``[start, end)``."""
        rows = [
            KeyUsage(project, uid, minute, parts[0])
            for project, uid, minute, parts in self._read(KEYS, projects, start, end)
            if parts[0]
        ]
        return sorted(rows, key=lambda r: (r.project, r.minute, r.key_uid))

    def last_minute(self) -> datetime | None:
        """The newest minute any usage was written for, or None before the first write."""
        query = self._col.order_by("last", direction=self._fs.Query.DESCENDING).limit(1)
        snaps = self._call("query", lambda: list(query.stream(**self._opts)))
        last = (snaps[0].to_dict() or {}).get("last") if snaps else None
        return None if last is None else datetime.fromtimestamp(int(last), UTC)
