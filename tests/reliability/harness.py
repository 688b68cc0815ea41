"""What the reliability tests share: deliveries as Pub/Sub and Eventarc make them, guard processes,
the ledger and events read back, and the figures the suite reports.

Two ways a budget notification reaches the guard, both sent to a real functions-framework server:

- ``cloud_event_request``: what the deployed path (an Eventarc Pub/Sub trigger) sends, a binary-mode
  CloudEvent: ``ce-*`` headers and the JSON body ``{"message": {...}, "subscription": ...}``;
- ``push_request``: a raw Pub/Sub push body (what the Pub/Sub emulator sends), which
  functions-framework converts into the same CloudEvent before the guard sees it.

A delivery answered 5xx (or not answered) is posted again, as Pub/Sub redelivers it.
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.notification import EVENT_TYPE
from local import services
from local.services import Service

__all__ = [
    "FIGURES",
    "PROJECT",
    "Delivery",
    "GuardProcess",
    "Response",
    "cloud_event_request",
    "deliver_until_acked",
    "events_topic",
    "ledger_records",
    "message",
    "post",
    "pull_events",
    "push_request",
    "record_figures",
    "soak",
]

PROJECT = services.DEFAULT_PROJECT
SOURCE = f"//pubsub.googleapis.com/projects/{PROJECT}/topics/budget-alerts"
SUBSCRIPTION = f"projects/{PROJECT}/subscriptions/eventarc-budget-alerts"
TOPIC_PATH = f"projects/{PROJECT}/topics/budget-alerts"

# Figures measured by the suite, printed at the end of the run (conftest) and written as JSON to
# $BUDGET_GUARD_RELIABILITY_FIGURES when set. docs/RELIABILITY.md quotes them.
FIGURES: dict[str, dict[str, Any]] = {}
_FIGURES_LOCK = threading.Lock()


def record_figures(section: str, **figures: Any) -> None:
    with _FIGURES_LOCK:
        FIGURES.setdefault(section, {}).update(figures)


def soak() -> bool:
    """``BUDGET_GUARD_SOAK=1`` runs the long versions (bigger storm, more fuzz examples)."""
    return os.environ.get("BUDGET_GUARD_SOAK", "") == "1"


# --- messages and requests ---------------------------------------------------------------------


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


def message(
    data: bytes | str | None,
    attributes: Any,
    message_id: Any,
    publish_time: str | None = None,
) -> dict[str, Any]:
    """A Pub/Sub message as Eventarc and push carry it; ``data`` bytes are base64-encoded."""
    msg: dict[str, Any] = {}
    if data is not None:
        msg["data"] = base64.b64encode(data).decode() if isinstance(data, bytes) else data
    if attributes is not None:
        msg["attributes"] = dict(attributes) if isinstance(attributes, Mapping) else attributes
    if message_id is not None:
        msg["messageId"] = message_id
    msg["publishTime"] = publish_time or now_rfc3339()
    return msg


def cloud_event_request(
    msg: Any,
    *,
    ce_type: str = EVENT_TYPE,
    ce_id: str | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) of a binary-mode CloudEvent as an Eventarc Pub/Sub trigger sends it."""
    if body is None:
        envelope = {"message": msg, "subscription": SUBSCRIPTION}
        if isinstance(msg, Mapping) and "messageId" in msg:  # Eventarc sends both spellings
            envelope["message"] = {**msg, "message_id": msg["messageId"]}
        body = json.dumps(envelope).encode()
    ident = ce_id or (str(msg.get("messageId")) if isinstance(msg, Mapping) else "") or "no-id"
    out = {
        "Content-Type": "application/json; charset=utf-8",
        "ce-id": ident[:200],
        "ce-source": SOURCE,
        "ce-specversion": "1.0",
        "ce-type": ce_type,
        "ce-time": now_rfc3339(),
    }
    out.update(headers or {})
    return "/", out, body


def push_request(msg: Any, *, body: bytes | None = None) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) of a raw Pub/Sub push (functions-framework converts it)."""
    if body is None:
        body = json.dumps({"message": msg, "subscription": SUBSCRIPTION}).encode()
    return "/" + TOPIC_PATH, {"Content-Type": "application/json"}, body


@dataclass
class Response:
    status: int | None  # None: no answer (connection error, timeout)
    seconds: float
    body: bytes = b""


def post(
    base_url: str, request: tuple[str, dict[str, str], bytes], timeout: float = 120
) -> Response:
    path, headers, body = request
    req = urllib.request.Request(base_url + path, data=body, headers=headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return Response(answer.status, time.monotonic() - started, answer.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, time.monotonic() - started, exc.read())
    except OSError:
        return Response(None, time.monotonic() - started)


@dataclass
class Delivery:
    """One Pub/Sub message to deliver (perhaps several times); ``via`` is "ce" or "push"."""

    msg: dict[str, Any]
    via: str = "ce"
    statuses: list[int | None] = field(default_factory=list)

    def request(self) -> tuple[str, dict[str, str], bytes]:
        return cloud_event_request(self.msg) if self.via == "ce" else push_request(self.msg)


def deliver_until_acked(
    urls: Sequence[str],
    delivery: Delivery,
    *,
    rng: random.Random | None = None,
    max_attempts: int = 60,
    backoff: float = 0.2,
    timeout: float = 120,
) -> list[int | None]:
    """Post until a 2xx, to a random instance each time (Pub/Sub's push behaviour)."""
    rng = rng or random.Random()
    for attempt in range(max_attempts):
        answer = post(rng.choice(list(urls)), delivery.request(), timeout=timeout)
        delivery.statuses.append(answer.status)
        if answer.status is not None and 200 <= answer.status < 300:
            return delivery.statuses
        time.sleep(min(backoff * (1.5**attempt), 3.0) * (0.5 + rng.random()))
    raise AssertionError(f"not acknowledged after {max_attempts} deliveries: {delivery.statuses}")


# --- guard processes ---------------------------------------------------------------------------


class GuardProcess:
    """A functions-framework server running the guard with one policy; its log, read back."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._offset = 0

    @property
    def url(self) -> str:
        return self.service.url

    def mark(self) -> None:
        """Remember where the log ends now; ``new_lines`` returns what was written since."""
        self._offset = self.log_size()

    def log_size(self) -> int:
        try:
            return self.service.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def new_lines(self) -> list[str]:
        with open(self.service.log_path, "rb") as fh:
            fh.seek(self._offset)
            text = fh.read().decode("utf-8", "replace")
        return [line for line in text.splitlines() if line.strip()]

    def logs(self) -> list[dict[str, Any]]:
        return self.service.json_logs()

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) summed over the server's process group, in KiB."""
        totals = {"VmRSS": 0, "VmHWM": 0}
        pgid = self.service.pgid
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                if stat.rpartition(")")[2].split()[2] != str(pgid):
                    continue
                for line in (entry / "status").read_text().splitlines():
                    name, _, value = line.partition(":")
                    if name in totals:
                        totals[name] += int(value.split()[0])
            except (OSError, IndexError, ValueError):
                continue
        return totals


def guard_env(policy: Mapping[str, Any], standin_url: str, **extra: str) -> dict[str, str]:
    """The guard's environment: its policy, the stand-in, short retries (tests)."""
    return {
        "BUDGET_GUARD_POLICY": json.dumps(policy),
        "BUDGET_GUARD_GCP_ENDPOINT": standin_url,
        "BUDGET_GUARD_RETRY_DEADLINE": "1",
        "BUDGET_GUARD_RETRY_INITIAL": "0.05",
        "BUDGET_GUARD_TIMEOUT": "2",
        "BUDGET_GUARD_OPERATION_TIMEOUT": "3",
        **extra,
    }


# --- the ledger and the events, read back ------------------------------------------------------


def ledger_records(database: str, host: str | None = None) -> list[dict[str, Any]]:
    """Every crossing record in ``database`` (named Firestore database on the emulator)."""
    from google.cloud import firestore

    if host is not None:
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
    client = firestore.Client(project=PROJECT, database=database)
    return [doc.to_dict() | {"_id": doc.id} for doc in client.collection("crossings").stream()]


def events_topic(name: str) -> tuple[str, str]:
    """Create topic ``name`` and a pull subscription on it; (topic path, subscription path)."""
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, name)
    subscription = subscriber.subscription_path(PROJECT, f"{name}-pull")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(name=subscription, topic=topic, ack_deadline_seconds=60)
    return topic, subscription


def create_topic(topic_path: str) -> None:
    from google.cloud import pubsub_v1

    pubsub_v1.PublisherClient().create_topic(name=topic_path)


def create_pull_subscription(topic_path: str, subscription_path: str) -> None:
    from google.cloud import pubsub_v1

    pubsub_v1.SubscriberClient().create_subscription(
        name=subscription_path, topic=topic_path, ack_deadline_seconds=60
    )


def pull_events(subscription: str, settle: float = 0.0) -> list[dict[str, Any]]:
    """Every event waiting on ``subscription`` (acknowledged): data JSON plus attributes.

    The guard publishes before it answers, so what a delivery published is there once it is
    answered; ``settle`` waits that long for stragglers (a publish retried in the background).
    """
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + settle
    while True:
        with warnings.catch_warnings():  # return_immediately is deprecated, and what we need
            warnings.simplefilter("ignore", DeprecationWarning)
            reply = subscriber.pull(
                request={
                    "subscription": subscription,
                    "max_messages": 500,
                    "return_immediately": True,
                },
                timeout=10,
            )
        if not reply.received_messages:
            if time.monotonic() >= deadline:
                return events
            time.sleep(0.05)
            continue
        for received in reply.received_messages:
            events.append(
                {
                    "data": json.loads(received.message.data),
                    "attributes": dict(received.message.attributes),
                    "raw": received.message.data.decode("utf-8", "replace"),
                }
            )
        subscriber.acknowledge(
            request={
                "subscription": subscription,
                "ack_ids": [r.ack_id for r in reply.received_messages],
            }
        )


def quiesce(standin: Any, timeout: float = 10.0) -> None:
    """Wait until the stand-in has answered every call it received (a call held by a ``slow``
    fault changes the world when it wakes up: it must not land in the next test's world)."""
    deadline = time.monotonic() + timeout
    while any(c["status"] is None and c["fault"] is None for c in standin.calls()):
        if time.monotonic() > deadline:
            raise AssertionError("the stand-in still holds calls")
        time.sleep(0.05)
