"""The usage store on the Firestore emulator: exact, idempotent, cheap to read by period."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from functions.errors import LedgerUnavailable
from functions.policy import LedgerConfig
from functions.watchdog import store as store_module
from functions.watchdog.store import UsageStore
from functions.watchdog.usage import KeyUsage, TokenUsage, period_start
from local.services import Service

T0 = datetime(2026, 11, 30, 9, 50, tzinfo=UTC)


def at(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def store(firestore_emulator: Service, unique_name: Callable[[str], str]) -> UsageStore:
    """A store in a project of its own on the emulator (so tests never see each other's data)."""
    return UsageStore(LedgerConfig(project=unique_name("usage"), database="(default)"))


def tick(minutes: range, value: Callable[[int], int], project: str = "p1") -> list[TokenUsage]:
    return [TokenUsage(project, "gemini-2.5-pro", at(n), value(n), 2 * value(n)) for n in minutes]


def total(rows: list[TokenUsage]) -> tuple[int, int]:
    return sum(r.input_tokens for r in rows), sum(r.output_tokens for r in rows)


def test_overlapping_and_repeated_writes_never_double_count(store: UsageStore) -> None:
    store.write_tokens(tick(range(0, 15), lambda n: 10))
    store.write_tokens(tick(range(0, 15), lambda n: 10))  # the same tick delivered twice
    # the next tick re-reads 5..19: late points made minutes 12..14 bigger
    store.write_tokens(tick(range(5, 20), lambda n: 30 if n >= 12 else 10))
    rows = store.tokens_between(["p1"], at(0), at(20))
    assert total(rows) == (12 * 10 + 8 * 30, 2 * (12 * 10 + 8 * 30))
    # the same span read through the rollups (hour 10:00-11:00 as one bucket) agrees
    hour = store.tokens_between(["p1"], datetime(2026, 11, 30, 10, tzinfo=UTC), at(70))
    minutes = [r for r in rows if r.minute >= datetime(2026, 11, 30, 10, tzinfo=UTC)]
    assert len(hour) == 1 and total(hour) == total(minutes)
    day = store.tokens_between(
        ["p1"], datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert [(r.minute, r.model) for r in day] == [
        (datetime(2026, 11, 30, tzinfo=UTC), "gemini-2.5-pro")
    ]
    assert total(day) == total(rows)


def test_models_with_dots_and_projects_are_kept_apart(store: UsageStore) -> None:
    store.write_tokens(
        [
            TokenUsage("p1", "gemini-2.5-pro", at(0), 1, 2),
            TokenUsage("p1", "gemini-3.1-flash-lite", at(0), 3, 4),
            TokenUsage("p2", "gemini-2.5-pro", at(0), 5, 6),
        ]
    )
    store.write_tokens([TokenUsage("p1", "gemini-2.5-pro", at(0), 7, 8)])  # one model rewritten
    day = (datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert [
        (r.project, r.model, r.input_tokens, r.output_tokens)
        for r in store.tokens_between(["p1", "p2"], *day)
    ] == [
        ("p1", "gemini-2.5-pro", 7, 8),
        ("p1", "gemini-3.1-flash-lite", 3, 4),
        ("p2", "gemini-2.5-pro", 5, 6),
    ]
    assert store.tokens_between(["p1"], at(0), at(1)) == [
        TokenUsage("p1", "gemini-2.5-pro", at(0), 7, 8),
        TokenUsage("p1", "gemini-3.1-flash-lite", at(0), 3, 4),
    ]


def test_a_missed_hour_is_caught_up_from_the_last_minute(store: UsageStore) -> None:
    assert store.last_minute() is None
    store.write_tokens(tick(range(0, 15), lambda n: 1))
    assert store.last_minute() == at(14)
    # an outage: the next tick runs 75 minutes later and reads from the last bucket on
    since = store.last_minute()
    assert since is not None
    catch_up = [r for r in tick(range(0, 90), lambda n: 1) if r.minute >= since]
    store.write_tokens(catch_up)
    assert store.last_minute() == at(89)
    assert total(store.tokens_between(["p1"], at(0), at(90))) == (90, 180)
    store.write_tokens(tick(range(3, 4), lambda n: 1))  # an old minute rewritten: last stays
    assert store.last_minute() == at(89)


def test_period_boundaries_are_exact_to_the_minute(store: UsageStore) -> None:
    november = period_start(datetime(2026, 11, 15, tzinfo=UTC))
    december = period_start(datetime(2026, 12, 15, tzinfo=UTC))
    assert november == datetime(2026, 11, 1, 7, tzinfo=UTC)  # 00:00 PDT
    assert december == datetime(2026, 12, 1, 8, tzinfo=UTC)  # 00:00 PST
    assert period_start(november) == november
    assert period_start(november - timedelta(minutes=1)) == datetime(2026, 10, 1, 7, tzinfo=UTC)
    edges = [
        november - timedelta(minutes=1),
        november,
        datetime(2026, 11, 15, 12, 34, tzinfo=UTC),
        december - timedelta(minutes=1),
        december,
    ]
    store.write_tokens([TokenUsage("p1", "m", moment, 1, 0) for moment in edges])
    inside = store.tokens_between(["p1"], november, december)
    assert sum(r.input_tokens for r in inside) == 3
    assert (
        store.tokens_between(["p1"], november, november + timedelta(minutes=1))[0].minute
        == november
    )
    assert (
        sum(
            r.input_tokens
            for r in store.tokens_between(["p1"], december, december + timedelta(days=1))
        )
        == 1
    )


def test_a_month_to_date_reads_few_documents() -> None:
    start = datetime(2026, 11, 1, 7, tzinfo=UTC)
    days, hours, minutes = store_module._spans(start, datetime(2026, 11, 30, 10, 17, tzinfo=UTC))
    assert (len(days), len(hours), len(minutes)) == (28, 17 + 10, 17)
    # day documents: Nov 1 (its hour totals) + 28 whole days + Nov 30; one hour document
    assert len({d.date() for d in days} | {h.date() for h in hours}) == 30


def test_key_requests_round_trip(store: UsageStore) -> None:
    rows = [KeyUsage("p1", "uid-1", at(n), 5) for n in range(12)]
    store.write_keys(rows)
    store.write_keys(rows[5:])  # overlap
    store.write_keys([KeyUsage("p1", "uid-2", at(11), 9)])
    found = store.keys_between(["p1"], at(0), at(12))
    assert sum(r.requests for r in found if r.key_uid == "uid-1") == 60
    assert [r for r in found if r.key_uid == "uid-2"] == [KeyUsage("p1", "uid-2", at(11), 9)]
    assert store.tokens_between(["p1"], at(0), at(12)) == []


def test_concurrent_writers_of_one_hour_lose_nothing(store: UsageStore) -> None:
    other = UsageStore(LedgerConfig(project=store._client.project, database="(default)"))
    errors: list[BaseException] = []

    def write(s: UsageStore, model: str) -> None:
        try:
            for n in range(10):
                s.write_tokens([TokenUsage("p1", model, at(n), 1, 1)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, m)) for s, m in ((store, "a"), (other, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    day = store.tokens_between(
        ["p1"], datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert {(r.model, r.input_tokens) for r in day} == {("a", 10), ("b", 10)}


def test_an_unreachable_database_is_ledger_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.services import free_port

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("BUDGET_GUARD_LEDGER_TIMEOUT", "1")
    dead = UsageStore(LedgerConfig(project="nowhere", database="(default)"))
    with pytest.raises(LedgerUnavailable, match="usage store"):
        dead.write_tokens(tick(range(1), lambda n: 1))
