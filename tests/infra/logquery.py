"""A small evaluator of the Cloud Logging query language, for the subset infra/ filters use.

Owns two things: turning a line the function wrote on stdout into the LogEntry Cloud Logging
stores for it (``log_entry``), and deciding whether a filter matches an entry (``matches``).

Subset (cloud.google.com/logging/docs/view/logging-query-language):

- boolean: ``AND``, ``OR``, ``NOT`` (and ``-`` before a comparison), parentheses; juxtaposed terms
  are ANDed; ``NOT`` binds tighter than ``AND``, which binds tighter than ``OR``;
- comparisons ``field OP value`` with OP one of ``= != : > >= < <=``; ``field:*`` tests presence;
- fields: dotted paths into the entry (``resource.type``, ``resource.labels.X``, ``severity``,
  ``logName``, ``jsonPayload.a.b``); values: quoted strings, bare words, numbers;
- semantics: ``=`` is exact equality, ``:`` a case-insensitive substring test; ``severity`` compares
  by rank (DEBUG < INFO < ... < EMERGENCY); numbers compare as numbers; a comparison with a missing
  field is false (so ``NOT`` of it is true); an array field matches if any element does.

Anything outside the subset raises ``QueryError``, so a filter cannot silently drift out of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["QueryError", "log_entry", "matches", "parse"]

SEVERITIES = (
    "DEFAULT",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "ALERT",
    "EMERGENCY",
)
# Structured-logging fields Cloud Logging lifts out of jsonPayload
# (cloud.google.com/run/docs/logging
# "special JSON fields"); ``message`` is not one of them: it stays as jsonPayload.message.
_LIFTED = {"severity", "time", "timestamp", "logging.googleapis.com/labels"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        (?P<op>>=|<=|!=|=|:|>|<) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<word>[A-Za-z0-9_.*/@+-]+)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """The filter is not in the supported subset."""


def log_entry(line: Mapping[str, Any], service: str, project: str = "guard-host") -> dict[str, Any]:
    """The LogEntry Cloud Logging makes of one JSON line on a Cloud Run service's stdout."""
    payload = {k: v for k, v in line.items() if k not in _LIFTED}
    return {
        "logName": f"projects/{project}/logs/run.googleapis.com%2Fstdout",
        "resource": {
            "type": "cloud_run_revision",
            "labels": {
                "project_id": project,
                "service_name": service,
                "revision_name": f"{service}-00001-abc",
                "configuration_name": service,
                "location": "us-central1",
            },
        },
        "severity": str(line.get("severity", "DEFAULT")),
        "timestamp": line.get("time"),
        "labels": dict(line.get("logging.googleapis.com/labels") or {}),
        "jsonPayload": payload,
    }


# --- parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: str  # unquoted text; "*" with ":" is a presence test


@dataclass(frozen=True)
class Not:
    term: Any


@dataclass(frozen=True)
class And:
    terms: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError(f"cannot read the filter at {text[pos : pos + 30]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("the filter ends too early")
        self.i += 1
        return token

    def parse(self) -> Any:
        expr = self.or_()
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return expr

    def or_(self) -> Any:
        terms = [self.and_()]
        while self.peek() == ("word", "OR"):
            self.take()
            terms.append(self.and_())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_(self) -> Any:
        terms = [self.not_()]
        while (token := self.peek()) is not None and token not in (("word", "OR"), ("rparen", ")")):
            if token == ("word", "AND"):
                self.take()
            terms.append(self.not_())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def not_(self) -> Any:
        token = self.peek()
        if token == ("word", "NOT"):
            self.take()
            return Not(self.not_())
        if token is not None and token[0] == "word" and token[1].startswith("-"):
            self.tokens[self.i] = ("word", token[1][1:])
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "lparen":
            expr = self.or_()
            if self.take() != ("rparen", ")"):
                raise QueryError("a parenthesis is not closed")
            return expr
        if kind != "word" or text in ("AND", "OR", "NOT"):
            raise QueryError(f"expected a field, got {text!r}")
        op_kind, op = self.take()
        if op_kind != "op":
            raise QueryError(f"{text}: a bare word (global search) is outside the subset")
        value_kind, value = self.take()
        if value_kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif value_kind != "word":
            raise QueryError(f"{text}{op}: expected a value, got {value!r}")
        if value == "*" and op != ":":
            raise QueryError(f"{text}{op}*: only ':*' tests presence")
        return Compare(text, op, value)


def parse(text: str) -> Any:
    """Parse ``text`` into an expression tree (raises QueryError outside the subset)."""
    return _Parser(text).parse()


# --- evaluation ---------------------------------------------------------------------------------


def _lookup(entry: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = entry
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return node is not None, node


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare_one(field: str, actual: Any, op: str, literal: str) -> bool:
    if op == ":":
        return literal == "*" or literal.lower() in _text(actual).lower()
    if field == "severity":
        if literal not in SEVERITIES or _text(actual) not in SEVERITIES:
            raise QueryError(f"unknown severity {literal!r}")
        left, right = SEVERITIES.index(_text(actual)), SEVERITIES.index(literal)
        return bool(_ORDER[op](left, right))
    a, b = _number(actual), _number(literal)
    if a is not None and b is not None and not isinstance(actual, str):
        return bool(_ORDER[op](a, b))
    return bool(_ORDER[op](_text(actual), literal))


_ORDER = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _eval(expr: Any, entry: Mapping[str, Any]) -> bool:
    if isinstance(expr, Or):
        return any(_eval(t, entry) for t in expr.terms)
    if isinstance(expr, And):
        return all(_eval(t, entry) for t in expr.terms)
    if isinstance(expr, Not):
        return not _eval(expr.term, entry)
    assert isinstance(expr, Compare)
    found, actual = _lookup(entry, expr.field)
    if not found:
        return False
    values = actual if isinstance(actual, list) else [actual]
    return any(_compare_one(expr.field, v, expr.op, expr.value) for v in values)


def matches(text: str, entry: Mapping[str, Any]) -> bool:
    """True when the filter ``text`` matches the LogEntry ``entry``."""
    return _eval(parse(text), entry)
