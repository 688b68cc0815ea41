"""The hostile corpus: messages the guard must refuse, each with the reason it must give.

Every case is built on a notification that WOULD act (actual spend 120 % of the guarded budget,
in the policy's currency), with one thing wrong. The guard must acknowledge it (HTTP 2xx, so
Pub/Sub does not redeliver it), write exactly one log line (WARNING, ``rejected`` = ``kind``,
``reason`` containing ``reason``), call no Google API and write nothing to the ledger.

``test_hostile.py`` sends each case as an Eventarc CloudEvent (binary mode) to a real
functions-framework server and, when a Pub/Sub push body can carry it (it has ``data`` and a
``messageId``, and no envelope-level change), as a push body too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.notification import EVENT_TYPE, MAX_DATA_BYTES
from tests.reliability.harness import message
from tests.reliability.worlds import ACCOUNT, BUDGET

__all__ = ["CASES", "FRAMEWORK_REFUSALS", "Case", "good_attributes", "good_data"]

PERIOD = "2026-11-01T07:00:00Z"
PUBLISHED = "2026-11-20T10:00:00.000Z"
KEY_LIKE = "AIzaSyFAKE-standin-demo-gemini-key-0001"  # the stand-in's seed key string


def good_data() -> dict[str, Any]:
    """A notification's data that crosses every threshold of the guarded budget."""
    return {
        "budgetDisplayName": "Gemini API budget",
        "costAmount": 1200.0,
        "costIntervalStart": PERIOD,
        "budgetAmount": 1000.0,
        "budgetAmountType": "SPECIFIED_AMOUNT",
        "currencyCode": "USD",
        "alertThresholdExceeded": 1.0,
        "forecastThresholdExceeded": 1.2,
    }


def good_attributes() -> dict[str, Any]:
    return {"billingAccountId": ACCOUNT, "budgetId": BUDGET, "schemaVersion": "1.0"}


@dataclass(frozen=True)
class Case:
    """One hostile message. ``build`` returns the Pub/Sub message placed in the envelope;
    ``body`` (raw CloudEvent body) or ``ce_type`` change the envelope itself (CloudEvent only)."""

    name: str
    kind: str  # "malformed" or "spoofed"
    reason: str  # a substring of the logged reason
    build: Callable[[], Any] = field(repr=False, default=lambda: None)
    body: bytes | None = field(repr=False, default=None)
    ce_type: str = EVENT_TYPE
    push: bool | None = None  # None: decided from the message (data and messageId present)

    def message(self) -> Any:
        return self.build()

    def carried_by_push(self) -> bool:
        if self.push is not None:
            return self.push
        if self.body is not None or self.ce_type != EVENT_TYPE:
            return False
        msg = self.build()
        return isinstance(msg, dict) and "data" in msg and "messageId" in msg


def _msg(
    data: Any = None,
    attributes: Any = None,
    message_id: Any = "hostile-1",
    publish_time: str = PUBLISHED,
    *,
    raw_data: Any = ...,
) -> dict[str, Any]:
    """A message from ``data`` (dict -> JSON; str -> raw JSON text; bytes -> as is) or, with
    ``raw_data``, the ``data`` field exactly as given (``None``: no field at all)."""
    if raw_data is not ...:
        msg = message(None, attributes if attributes is not None else good_attributes(), None)
        if raw_data is not None:
            msg["data"] = raw_data
    else:
        doc = good_data() if data is None else data
        payload = (
            json.dumps(doc).encode()
            if isinstance(doc, dict | list)
            else doc.encode()
            if isinstance(doc, str)
            else doc
        )
        msg = message(payload, attributes if attributes is not None else good_attributes(), None)
    if message_id is not None:
        msg["messageId"] = message_id
    msg["publishTime"] = publish_time
    return msg


def _data(**changes: Any) -> Callable[[], dict[str, Any]]:
    """The good data with fields replaced (a value of ``...`` removes the field)."""

    def build() -> dict[str, Any]:
        doc = good_data()
        for key, value in changes.items():
            if value is ...:
                doc.pop(key, None)
            else:
                doc[key] = value
        return _msg(doc)

    return build


def _json(text: str) -> Callable[[], dict[str, Any]]:
    """Raw JSON text as the data (for what json.dumps cannot write: NaN, duplicates...)."""
    return lambda: _msg(text)


def _text_field(name: str, raw: str) -> Callable[[], dict[str, Any]]:
    """The good data with ``name``'s JSON value written as ``raw`` verbatim."""

    def build() -> dict[str, Any]:
        doc = good_data()
        doc[name] = "__RAW__"
        return _msg(json.dumps(doc).replace('"__RAW__"', raw))

    return build


def _attrs(**changes: Any) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        attributes = good_attributes()
        for key, value in changes.items():
            if value is ...:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        return _msg(attributes=attributes)

    return build


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _many_attributes() -> dict[str, Any]:
    attributes = {f"x-extra-{i}": "v" * 100 for i in range(1000)}
    attributes.update(good_attributes(), budgetId="00000000-0000-4000-8000-000000000000")
    return _msg(attributes=attributes)


def _ten_megabytes() -> dict[str, Any]:
    filler = "x" * (10 * 1024 * 1024)
    return _msg({**good_data(), "budgetDisplayName": filler})


def _nested(depth: int, opener: str, closer: str) -> Callable[[], dict[str, Any]]:
    return lambda: _msg(opener * depth + closer * depth)


GOOD_MESSAGE = _msg  # for the fuzzer: a message that would act

CASES: list[Case] = [
    # --- the envelope (CloudEvent only: Pub/Sub and Eventarc build it, a publisher cannot) ---
    Case(
        "ce_type_storage",
        "malformed",
        "CloudEvent type 'google.cloud.storage.object.v1.finalized'",
        _msg,
        ce_type="google.cloud.storage.object.v1.finalized",
    ),
    Case(
        "ce_type_wrong_case",
        "malformed",
        "is not google.cloud.pubsub.topic.v1.messagePublished",
        _msg,
        ce_type="google.cloud.PubSub.topic.v1.messagePublished",
    ),
    Case(
        "ce_type_suffixed",
        "malformed",
        "is not google.cloud.pubsub.topic.v1.messagePublished",
        _msg,
        ce_type=EVENT_TYPE + ".v2",
    ),
    Case("ce_type_huge", "malformed", "CloudEvent type 'xxxxxxxx", _msg, ce_type="x" * 8000),
    Case("ce_empty_body", "malformed", "CloudEvent data has no Pub/Sub message", body=b""),
    Case("ce_body_json_array", "malformed", "CloudEvent data has no Pub/Sub message", body=b"[]"),
    Case(
        "ce_body_json_string",
        "malformed",
        "CloudEvent data has no Pub/Sub message",
        body=b'"message"',
    ),
    Case(
        "ce_body_without_message",
        "malformed",
        "CloudEvent data has no Pub/Sub message",
        body=b'{"subscription": "projects/p/subscriptions/s"}',
    ),
    Case(
        "ce_message_is_string",
        "malformed",
        "CloudEvent data has no Pub/Sub message",
        body=b'{"message": "hello"}',
    ),
    Case(
        "ce_message_is_null",
        "malformed",
        "CloudEvent data has no Pub/Sub message",
        body=b'{"message": null}',
    ),
    Case(
        "ce_body_not_json",
        "malformed",
        "CloudEvent data has no Pub/Sub message",
        body=b"this is not json",
    ),
    Case(
        "ce_body_not_utf8",
        "malformed",
        "CloudEvent data has no Pub/Sub message",
        body=b"\xff\xfe\x00\x81 not utf-8",
    ),
    # --- the Pub/Sub message ---
    Case(
        "message_id_missing",
        "malformed",
        "messageId is missing or not a short string",
        lambda: _msg(message_id=None),
    ),
    Case(
        "message_id_number",
        "malformed",
        "messageId is missing or not a short string",
        lambda: _msg(message_id=1234567890),
    ),
    Case(
        "message_id_empty",
        "malformed",
        "messageId is missing or not a short string",
        lambda: _msg(message_id=""),
    ),
    Case(
        "message_id_huge",
        "malformed",
        "messageId is missing or not a short string",
        lambda: _msg(message_id="9" * 100_000),
    ),
    Case(
        "message_id_object",
        "malformed",
        "messageId is missing or not a short string",
        lambda: _msg(message_id={"id": "1"}),
    ),
    Case(
        "attributes_string",
        "malformed",
        "message.attributes must be an object",
        lambda: _msg(attributes="billingAccountId=" + ACCOUNT),
    ),
    Case(
        "attributes_list",
        "malformed",
        "message.attributes must be an object",
        lambda: _msg(attributes=["billingAccountId", ACCOUNT]),
    ),
    Case(
        "attributes_empty",
        "malformed",
        "attribute billingAccountId is missing",
        lambda: _msg(attributes={}),
    ),
    # --- attributes: missing, forged, wrong types, injection ---
    Case(
        "billing_account_missing",
        "malformed",
        "attribute billingAccountId is missing",
        _attrs(billingAccountId=...),
    ),
    Case("budget_id_missing", "malformed", "attribute budgetId is missing", _attrs(budgetId=...)),
    Case(
        "schema_version_missing",
        "malformed",
        "attribute schemaVersion is missing",
        _attrs(schemaVersion=...),
    ),
    Case(
        "forged_billing_account",
        "spoofed",
        "billingAccountId 000000-000000-000000 is not the guarded account",
        _attrs(billingAccountId="000000-000000-000000"),
    ),
    Case(
        "forged_budget",
        "spoofed",
        "budgetId 00000000-0000-4000-8000-000000000000 is not a budget in the policy",
        _attrs(budgetId="00000000-0000-4000-8000-000000000000"),
    ),
    Case(
        "schema_version_2", "spoofed", "schemaVersion '2.0' is not 1.0", _attrs(schemaVersion="2.0")
    ),
    Case(
        "schema_version_empty", "spoofed", "schemaVersion '' is not 1.0", _attrs(schemaVersion="")
    ),
    Case(
        "schema_version_number",
        "malformed",
        "attribute schemaVersion must be a string, got float",
        _attrs(schemaVersion=1.0),
    ),
    Case(
        "billing_account_lowercase",
        "malformed",
        "attribute billingAccountId must be a billing account id",
        _attrs(billingAccountId=ACCOUNT.lower()),
    ),
    Case(
        "billing_account_homoglyph",
        "malformed",
        "attribute billingAccountId must be a billing account id",
        _attrs(billingAccountId=ACCOUNT[:-1] + "\u0421"),
    ),  # Cyrillic ES for the final C
    Case(
        "billing_account_prefixed",
        "malformed",
        "attribute billingAccountId must be a billing account id",
        _attrs(billingAccountId="billingAccounts/" + ACCOUNT),
    ),
    Case(
        "billing_account_null",
        "malformed",
        "attribute billingAccountId must be a string, got NoneType",
        _attrs(billingAccountId=None),
    ),
    Case(
        "billing_account_object",
        "malformed",
        "attribute billingAccountId must be a string, got dict",
        _attrs(billingAccountId={"$ne": ""}),
    ),
    Case(
        "budget_id_uppercase",
        "malformed",
        "attribute budgetId must be a budget id (UUID)",
        _attrs(budgetId=BUDGET.upper()),
    ),
    Case(
        "budget_id_zero_width_space",
        "malformed",
        "attribute budgetId must be a budget id (UUID)",
        _attrs(budgetId=BUDGET + "\u200b"),
    ),
    Case(
        "budget_id_trailing_newline",
        "malformed",
        "attribute budgetId must be a budget id (UUID)",
        _attrs(budgetId=BUDGET + "\n"),
    ),
    Case(
        "injection_newline_in_account",
        "malformed",
        "attribute billingAccountId must be a billing account id",
        _attrs(billingAccountId=ACCOUNT + '\n{"severity": "ERROR", "message": "forged"}'),
    ),
    Case(
        "injection_crlf_in_budget",
        "malformed",
        "attribute budgetId must be a budget id (UUID)",
        _attrs(budgetId=BUDGET + "\r\nX-Injected: 1"),
    ),
    Case(
        "injection_newline_in_schema",
        "spoofed",
        "schemaVersion '1.0\\nseverity",
        _attrs(schemaVersion="1.0\nseverity: ERROR"),
    ),
    Case(
        "injection_line_separator", "spoofed", "is not 1.0", _attrs(schemaVersion="1.0\u2028\u2029")
    ),
    Case(
        "injection_log_fields",
        "spoofed",
        "schemaVersion '0.9' is not 1.0",
        _attrs(schemaVersion="0.9", severity="ERROR", message="forged", remedy="rm -rf /"),
    ),
    Case(
        "attribute_huge_value",
        "malformed",
        "attribute billingAccountId is longer than 1024 characters",
        _attrs(billingAccountId="A" * 100_000),
    ),
    Case(
        "attribute_key_string",
        "malformed",
        "must be a billing account id, got '[REDACTED]'",
        _attrs(billingAccountId=KEY_LIKE),
    ),
    Case("attributes_thousand_extra", "spoofed", "is not a budget in the policy", _many_attributes),
    Case(
        "attribute_name_wrong_case",
        "malformed",
        "attribute billingAccountId is missing",
        _attrs(billingAccountId=..., BillingAccountId=ACCOUNT),
    ),
    # --- data: encoding ---
    Case(
        "data_missing",
        "malformed",
        "message.data must be base64 text, got NoneType",
        lambda: _msg(raw_data=None),
    ),
    Case(
        "data_null",
        "malformed",
        "message.data must be base64 text, got NoneType",
        lambda: {**_msg(raw_data=None), "data": None},
    ),
    Case("data_empty", "malformed", "message.data is empty", lambda: _msg(raw_data="")),
    Case(
        "data_number",
        "malformed",
        "message.data must be base64 text, got int",
        lambda: _msg(raw_data=42),
    ),
    Case(
        "data_object",
        "malformed",
        "message.data must be base64 text, got dict",
        lambda: _msg(raw_data=good_data()),
    ),
    Case(
        "data_not_base64",
        "malformed",
        "message.data is not valid base64",
        lambda: _msg(raw_data="!!not base64!!"),
    ),
    Case(
        "data_base64_with_newlines",
        "malformed",
        "message.data is not valid base64",
        lambda: _msg(
            raw_data=_b64(json.dumps(good_data()).encode())[:20]
            + "\n"
            + _b64(json.dumps(good_data()).encode())[20:]
        ),
    ),
    Case(
        "data_urlsafe_base64",
        "malformed",
        "message.data is not valid base64",
        lambda: _msg(raw_data=base64.urlsafe_b64encode(b"\xfb\xff" * 30).decode()),
    ),
    Case(
        "data_not_utf8",
        "malformed",
        "message.data is not UTF-8 (byte 0)",
        lambda: _msg(b"\xff\xfe\xfd"),
    ),
    Case(
        "data_utf16",
        "malformed",
        "message.data is not UTF-8",
        lambda: _msg(json.dumps(good_data()).encode("utf-16")),
    ),
    Case(
        "data_latin1",
        "malformed",
        "message.data is not UTF-8",
        lambda: _msg(
            json.dumps(
                {**good_data(), "budgetDisplayName": "caf\u00e9"}, ensure_ascii=False
            ).encode("latin-1")
        ),
    ),
    Case(
        "data_utf8_bom",
        "malformed",
        "message.data is not JSON",
        lambda: _msg(b"\xef\xbb\xbf" + json.dumps(good_data()).encode()),
    ),
    Case(
        "data_oversized_10mb",
        "malformed",
        f"message.data is larger than {MAX_DATA_BYTES} bytes",
        _ten_megabytes,
    ),
    Case(
        "data_just_over_limit",
        "malformed",
        f"message.data is larger than {MAX_DATA_BYTES} bytes",
        lambda: _msg({**good_data(), "budgetDisplayName": "x" * MAX_DATA_BYTES}),
    ),
    # --- data: JSON ---
    Case(
        "data_not_json", "malformed", "message.data is not JSON", lambda: _msg("budget exceeded!")
    ),
    Case(
        "data_json_trailing_garbage",
        "malformed",
        "message.data is not JSON: Extra data",
        lambda: _msg(json.dumps(good_data()) + " trailing"),
    ),
    Case(
        "data_json_array",
        "malformed",
        "message.data must be a JSON object, got list",
        lambda: _msg([good_data()]),
    ),
    Case(
        "data_json_string",
        "malformed",
        "message.data must be a JSON object, got str",
        lambda: _msg('"costAmount"'),
    ),
    Case(
        "data_json_null",
        "malformed",
        "message.data must be a JSON object, got NoneType",
        lambda: _msg("null"),
    ),
    Case(
        "data_json_number",
        "malformed",
        "message.data must be a JSON object, got Decimal",
        lambda: _msg("1200.5"),
    ),
    Case(
        "data_deeply_nested_arrays",
        "malformed",
        "message.data is JSON nested too deeply",
        _nested(6000, "[", "]"),
    ),
    Case(
        "data_deeply_nested_objects",
        "malformed",
        "message.data is JSON nested too deeply",
        lambda: _msg('{"a":' * 2000 + "1" + "}" * 2000),
    ),
    Case(
        "data_nan",
        "malformed",
        "message.data is not JSON: NaN is not a number",
        _text_field("costAmount", "NaN"),
    ),
    Case(
        "data_infinity",
        "malformed",
        "message.data is not JSON: Infinity is not a number",
        _text_field("budgetAmount", "Infinity"),
    ),
    Case(
        "data_negative_infinity",
        "malformed",
        "message.data is not JSON: -Infinity is not a number",
        _text_field("costAmount", "-Infinity"),
    ),
    Case(
        "data_duplicate_keys_last_wins",
        "malformed",
        "data.costAmount must be a number, got str",
        lambda: _msg(json.dumps(good_data())[:-1] + ', "costAmount": "1200"}'),
    ),
    # --- data: amounts ---
    Case("cost_missing", "malformed", "data.costAmount is missing", _data(costAmount=...)),
    Case("cost_null", "malformed", "data.costAmount is missing", _data(costAmount=None)),
    Case(
        "cost_string",
        "malformed",
        "data.costAmount must be a number, got str",
        _data(costAmount="1200"),
    ),
    Case(
        "cost_bool",
        "malformed",
        "data.costAmount must be a number, got bool",
        _data(costAmount=True),
    ),
    Case(
        "cost_list",
        "malformed",
        "data.costAmount must be a number, got list",
        _data(costAmount=[1200]),
    ),
    Case(
        "cost_negative", "malformed", "data.costAmount must not be negative", _data(costAmount=-5)
    ),
    Case(
        "cost_huge_exponent",
        "malformed",
        "data.costAmount must be below 1e+15",
        _text_field("costAmount", "1e400"),
    ),
    Case(
        "cost_huge_integer",
        "malformed",
        "data.costAmount must be below 1e+15",
        _data(costAmount=10**30),
    ),
    Case(
        "cost_five_thousand_digits",
        "malformed",
        "message.data is not JSON",
        _text_field("costAmount", "9" * 5000),
    ),
    Case(  # a crafted ratio of 1e29 once raised InvalidOperation: HTTP 500, no log line
        "budget_below_a_nano_with_huge_cost",
        "malformed",
        "data.budgetAmount must be 0 or at least 1e-9",
        lambda: _msg(
            json.dumps({**good_data(), "costAmount": 999999999999999}).replace(
                '"budgetAmount": 1000.0', '"budgetAmount": 1e-14'
            )
        ),
    ),
    Case(
        "cost_below_a_nano",
        "malformed",
        "data.costAmount must be 0 or at least 1e-9",
        _text_field("costAmount", "1e-12"),
    ),
    Case(
        "budget_negative",
        "malformed",
        "data.budgetAmount must not be negative",
        _data(budgetAmount=-1000),
    ),
    Case(
        "budget_tiny_negative",
        "malformed",
        "data.budgetAmount must not be negative",
        _text_field("budgetAmount", "-1e-30"),
    ),
    Case("budget_missing", "malformed", "data.budgetAmount is missing", _data(budgetAmount=...)),
    Case(
        "budget_string",
        "malformed",
        "data.budgetAmount must be a number, got str",
        _data(budgetAmount="1000"),
    ),
    Case(
        "budget_huge",
        "malformed",
        "data.budgetAmount must be below 1e+15",
        _text_field("budgetAmount", "1e308"),
    ),
    Case(
        "alert_threshold_huge",
        "malformed",
        "data.alertThresholdExceeded must be at most 1e+6",
        _data(alertThresholdExceeded=10_000_000),
    ),
    Case(
        "alert_threshold_string",
        "malformed",
        "data.alertThresholdExceeded must be a number, got str",
        _data(alertThresholdExceeded="1.0"),
    ),
    Case(
        "forecast_negative",
        "malformed",
        "data.forecastThresholdExceeded must not be negative",
        _data(forecastThresholdExceeded=-1.2),
    ),
    Case(
        "forecast_bool",
        "malformed",
        "data.forecastThresholdExceeded must be a number, got bool",
        _data(forecastThresholdExceeded=False),
    ),
    # --- data: other fields ---
    Case(
        "currency_mismatch",
        "spoofed",
        "currencyCode EUR is not the budget's USD",
        _data(currencyCode="EUR"),
    ),
    Case(
        "currency_lowercase",
        "malformed",
        "data.currencyCode must be an ISO 4217 code",
        _data(currencyCode="usd"),
    ),
    Case(
        "currency_symbol",
        "malformed",
        "data.currencyCode must be an ISO 4217 code",
        _data(currencyCode="US$"),
    ),
    Case(
        "currency_number",
        "malformed",
        "data.currencyCode must be a string, got int",
        _data(currencyCode=840),
    ),
    Case("currency_missing", "malformed", "data.currencyCode is missing", _data(currencyCode=...)),
    Case(
        "amount_type_unknown",
        "malformed",
        "data.budgetAmountType must be one of",
        _data(budgetAmountType="FIXED"),
    ),
    Case(
        "display_name_number",
        "malformed",
        "data.budgetDisplayName must be a string, got int",
        _data(budgetDisplayName=7),
    ),
    Case(
        "display_name_huge",
        "malformed",
        "data.budgetDisplayName is longer than 1024 characters",
        _data(budgetDisplayName="b" * 2000),
    ),
    # --- the period and the clock ---
    Case(
        "period_missing",
        "malformed",
        "data.costIntervalStart is missing",
        _data(costIntervalStart=...),
    ),
    Case(
        "period_date_only",
        "malformed",
        "data.costIntervalStart must be an RFC 3339 timestamp",
        _data(costIntervalStart="2026-11-01"),
    ),
    Case(
        "period_without_timezone",
        "malformed",
        "data.costIntervalStart must be an RFC 3339 timestamp",
        _data(costIntervalStart="2026-11-01T07:00:00"),
    ),
    Case(
        "period_invalid_date",
        "malformed",
        "data.costIntervalStart is not a valid timestamp",
        _data(costIntervalStart="2026-13-45T07:00:00Z"),
    ),
    Case(
        "period_number",
        "malformed",
        "data.costIntervalStart must be a string, got int",
        _data(costIntervalStart=1793516400),
    ),
    Case(
        "period_next_month",
        "malformed",
        "is after the message's publishTime",
        _data(costIntervalStart="2026-12-01T08:00:00Z"),
    ),
    Case(
        "period_far_future",
        "malformed",
        "data.costIntervalStart 2999-01-01T00:00:00Z is after",
        _data(costIntervalStart="2999-01-01T00:00:00Z"),
    ),
    Case(
        "period_offset_future",
        "malformed",
        "is after the message's publishTime",
        _data(costIntervalStart="2026-11-21T10:00:00+09:00"),
    ),
    Case(
        "publish_time_years_before",
        "malformed",
        "is after the message's publishTime",
        lambda: _msg(publish_time="2001-01-01T00:00:00Z"),
    ),
    Case(
        "publish_time_malformed",
        "malformed",
        "publishTime must be an RFC 3339 timestamp",
        lambda: _msg(publish_time="yesterday at noon"),
    ),
]

# What functions-framework refuses before the guard's code runs (documented in RELIABILITY.md):
# (name, transport, request body, expected HTTP status).
FRAMEWORK_REFUSALS: list[tuple[str, str, Callable[[], bytes], int]] = [
    (
        "push_without_data",
        "push",
        lambda: json.dumps({"message": _msg(raw_data=None), "subscription": "s"}).encode(),
        400,
    ),
    (
        "push_without_message_id",
        "push",
        lambda: json.dumps({"message": _msg(message_id=None), "subscription": "s"}).encode(),
        400,
    ),
    ("push_not_json", "push", lambda: b"not json at all", 400),
    ("ce_envelope_nested_too_deeply", "ce", lambda: b"[" * 100_000 + b"]" * 100_000, 500),
]
