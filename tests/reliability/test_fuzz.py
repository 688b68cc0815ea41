"""Property-based fuzzing (hypothesis) of what reaches the guard: message bytes, attributes, JSON.

In process, against ``functions.handler.Guard`` with the in-memory ledger and recording actions
(thousands of examples), then a smaller sample over HTTP to a real functions-framework server.
Properties, for every example:
  - the guard never raises (an unhandled exception would be a 500 and endless redelivery);
  - a rejected message is logged exactly once (one line, WARNING, ``rejected`` and ``reason``)
    and nothing acts on it: no action runs, the ledger is not written;
  - a message that is not rejected is a well-formed notification of the guarded budget.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.actions import Action, Context, Outcome
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from standin.server import StandIn
from tests.reliability import worlds
from tests.reliability.harness import (
    GuardProcess,
    cloud_event_request,
    ledger_records,
    post,
    record_figures,
    soak,
)
from tests.reliability.hostile_cases import PUBLISHED, good_attributes, good_data
from tests.reliability.secrets_scan import Evidence

EXAMPLES = 4000 if soak() else 500  # per in-process property
HTTP_EXAMPLES = 600 if soak() else 60

_counts: dict[str, int] = {}


# --- strategies --------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        ["1.0", "USD", "", "NaN", "2026-11-01T07:00:00Z", worlds.ACCOUNT, worlds.BUDGET]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = list(good_data())
ATTRIBUTES = list(good_attributes())


@st.composite
def mutated_data(draw: st.DrawFn) -> bytes:
    """The good notification with fields replaced, removed or added."""
    doc: dict[str, Any] = good_data()
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([*FIELDS, "extra"]))
        if draw(st.booleans()) and name in doc:
            del doc[name]
        else:
            doc[name] = draw(json_values)
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def mutated_attributes(draw: st.DrawFn) -> dict[str, Any]:
    attributes: dict[str, Any] = good_attributes()
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([*ATTRIBUTES, "extra", "severity"]))
        if draw(st.booleans()) and name in attributes:
            del attributes[name]
        else:
            attributes[name] = draw(st.one_of(st.text(max_size=60), json_values))
    return attributes


# A JSON number written as mantissa and exponent: tiny, huge and in between (1e-14 / 1e15...).
json_numbers = st.builds(
    lambda m, e, frac: f"{m}{'.5' if frac else ''}e{e}",
    st.integers(0, 10**15),
    st.integers(-30, 30),
    st.booleans(),
)


@st.composite
def extreme_amounts(draw: st.DrawFn) -> bytes:
    """The good notification with costAmount and budgetAmount as arbitrary JSON numbers."""
    text = json.dumps({**good_data(), "costAmount": "@cost", "budgetAmount": "@budget"})
    text = text.replace('"@cost"', draw(json_numbers)).replace('"@budget"', draw(json_numbers))
    return text.encode()


json_ish_text = st.text(alphabet='{}[]":,0123456789.eE-+ ntrufalsNIiyUSD\\', max_size=200)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _message(data: Any, attributes: Any = None, message_id: Any = "fuzz-1") -> dict[str, Any]:
    return {
        "data": data,
        "attributes": good_attributes() if attributes is None else attributes,
        "messageId": message_id,
        "publishTime": PUBLISHED,
    }


MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "bytes as data": st.binary(max_size=512).map(lambda raw: _message(_b64(raw))),
    "JSON-ish text as data": json_ish_text.map(lambda text: _message(_b64(text.encode()))),
    "mutated JSON data": mutated_data().map(lambda raw: _message(_b64(raw))),
    "extreme amounts": extreme_amounts().map(lambda raw: _message(_b64(raw))),
    "mutated attributes": mutated_attributes().map(
        lambda attrs: _message(_b64(json.dumps(good_data()).encode()), attrs)
    ),
    "any JSON as message": st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "data": st.one_of(json_values, st.binary(max_size=64).map(_b64)),
                "attributes": st.one_of(json_values, mutated_attributes()),
                "messageId": json_values,
                "publishTime": st.one_of(json_values, st.just(PUBLISHED)),
            },
        ),
    ),
}


# --- the in-process guard ---------------------------------------------------------------------


class _Event(dict[str, Any]):
    """What functions-framework hands the function: ``event["type"]`` and ``event.data``."""

    data: Any


def cloud_event(msg: Any) -> _Event:
    event = _Event(type="google.cloud.pubsub.topic.v1.messagePublished", id="fuzz")
    event.data = {"message": msg, "subscription": "projects/p/subscriptions/s"}
    return event


def _recording(name: str, ran: list[str]) -> type[Action]:
    class Recording(Action):
        summary = "record that it ran"
        mutates = name != "notify"
        idempotent: ClassVar[bool] = True

        def run(self, ctx: Context) -> Outcome:
            ran.append(name)
            return Outcome("done", "recorded")

    Recording.name = name
    return Recording


class InProcess:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.ledger = MemoryLedger()
        self.ran: list[str] = []
        policy = parse_policy(worlds.policy("fuzz"))
        self.guard = Guard(policy, ledger=lambda: self.ledger, log=Logger(stream=self.stream))
        self.guard.executor.registry = {n: _recording(n, self.ran) for n in worlds.ALL_ACTIONS}

    def check(self, strategy: str, msg: Any) -> None:
        start, ran, records = self.stream.tell(), len(self.ran), len(self.ledger.records())
        self.guard.handle(cloud_event(msg))  # must not raise
        self.stream.seek(start)
        lines = [json.loads(line) for line in self.stream.read().splitlines()]
        rejected = [line for line in lines if "rejected" in line]
        _counts[strategy] = _counts.get(strategy, 0) + 1
        if rejected:
            (line,) = lines
            assert line["severity"] == "WARNING" and line["reason"]
            assert line["rejected"] in ("malformed", "spoofed")
            assert len(self.ran) == ran and len(self.ledger.records()) == records
            _counts["rejected"] = _counts.get("rejected", 0) + 1
        else:
            assert lines, "a message must leave a trace"
            assert not [line for line in lines if line["severity"] == "ERROR"]
            _accepted_sanity(msg)
            _counts["accepted"] = _counts.get("accepted", 0) + 1


def _accepted_sanity(msg: Any) -> None:
    """What was accepted really is a notification of the guarded budget."""
    attributes = msg["attributes"]
    assert attributes["billingAccountId"] == worlds.ACCOUNT
    assert attributes["budgetId"] == worlds.BUDGET
    assert attributes["schemaVersion"] == "1.0"
    doc = json.loads(base64.b64decode(msg["data"]))
    assert doc["currencyCode"] == "USD"
    assert isinstance(doc["costAmount"], int | float) and math.isfinite(doc["costAmount"])
    assert doc["budgetAmount"] >= 0  # a zero budget is real (decision: any spend crosses)


@pytest.fixture(scope="module")
def in_process(evidence: Evidence) -> Iterator[InProcess]:
    fuzz = InProcess()
    yield fuzz
    evidence.add_log_text("fuzz in-process", fuzz.stream.getvalue())


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("strategy", list(MESSAGES))
def test_fuzz_in_process(in_process: InProcess, strategy: str) -> None:
    @FUZZ_SETTINGS
    @given(MESSAGES[strategy])
    def run(msg: Any) -> None:
        in_process.check(strategy, msg)

    run()


# --- a sample over HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_guard(
    start_guards: Callable[..., list[GuardProcess]], rel_standin: StandIn, evidence: Evidence
) -> Iterator[tuple[GuardProcess, StandIn, str]]:
    database = worlds.unique("fuzz")
    (guard,) = start_guards(worlds.policy(database))
    rel_standin.set_state(worlds.demo_seed())
    yield guard, rel_standin, database
    evidence.add_world(rel_standin.state)
    evidence.add_records("fuzz-http", ledger_records(database))


def test_fuzz_over_http(http_guard: tuple[GuardProcess, StandIn, str]) -> None:
    guard, standin, database = http_guard

    @settings(
        max_examples=HTTP_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.one_of(*MESSAGES.values()))
    def run(msg: Any) -> None:
        calls, records = len(standin.calls()), len(ledger_records(database))
        guard.mark()
        answer = post(guard.url, cloud_event_request(msg, ce_id="fuzz"))
        assert answer.status is not None and 200 <= answer.status < 300, guard.new_lines()
        lines = [json.loads(line) for line in guard.new_lines()]
        _counts["http"] = _counts.get("http", 0) + 1
        if any("rejected" in line for line in lines):
            (line,) = lines
            assert line["severity"] == "WARNING"
            assert len(standin.calls()) == calls, "a rejected message was acted on"
            assert len(ledger_records(database)) == records
            _counts["http rejected"] = _counts.get("http rejected", 0) + 1

    run()
    per_strategy = {k: v for k, v in _counts.items() if k in MESSAGES}
    record_figures(
        "fuzz",
        command="pytest tests/reliability/test_fuzz.py",
        in_process_examples=sum(per_strategy.values()),
        per_strategy=per_strategy,
        rejected=_counts.get("rejected", 0),
        accepted_valid=_counts.get("accepted", 0),
        http_examples=_counts.get("http", 0),
        http_rejected=_counts.get("http rejected", 0),
        unhandled_exceptions=0,
        actions_on_rejected=0,
    )
