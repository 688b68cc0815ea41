"""The budget's alerts topic on the Pub/Sub emulator: the billing model publishes there, the
simulation pulls each message and hands it to the guard as Eventarc would.

Messages go through the emulator in the exact wire format Cloud Billing uses (data, attributes;
``functions.alerts.Alert``). The emulator stamps ``publishTime`` with the wall clock; the
delivered CloudEvent carries the simulated time the billing model sent the message at instead,
as Pub/Sub would have stamped it then.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import datetime
from typing import Any

from functions.alerts import Alert, cloud_event
from standin.clock import rfc3339

__all__ = ["AlertsTopic"]


class AlertsTopic:
    """One topic and pull subscription per run (``project`` is an emulator project id)."""

    def __init__(self, project: str) -> None:
        import google.cloud.pubsub_v1 as pubsub_v1

        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        name = f"sim-alerts-{uuid.uuid4().hex[:10]}"
        self.topic = self.publisher.topic_path(project, name)
        self.subscription = self.subscriber.subscription_path(project, name)
        self.publisher.create_topic(request={"name": self.topic})
        self.subscriber.create_subscription(
            request={"name": self.subscription, "topic": self.topic, "ack_deadline_seconds": 60}
        )
        self._sent_at: dict[str, datetime] = {}

    def publish(self, alert: Alert, at: datetime) -> str:
        future = self.publisher.publish(self.topic, alert.payload(), **alert.attributes())
        message_id: str = future.result(timeout=30)
        self._sent_at[message_id] = at
        return message_id

    def deliveries(self, timeout: float = 20.0) -> list[Any]:
        """Every published message not yet delivered, as CloudEvents, in order of sending."""
        events: list[tuple[datetime, Any]] = []
        deadline = time.monotonic() + timeout
        while self._sent_at and time.monotonic() < deadline:
            response = self.subscriber.pull(
                request={"subscription": self.subscription, "max_messages": 100}, timeout=5
            )
            acks = []
            for received in response.received_messages:
                acks.append(received.ack_id)
                message = received.message
                at = self._sent_at.pop(message.message_id, None)
                if at is None:
                    continue  # a redelivery of one already handed over
                events.append((at, cloud_event(_message(message, at))))
            if acks:
                self.subscriber.acknowledge(
                    request={"subscription": self.subscription, "ack_ids": acks}
                )
        if self._sent_at:
            raise TimeoutError(f"{len(self._sent_at)} alert(s) not delivered by the emulator")
        return [event for _at, event in sorted(events, key=lambda pair: pair[0])]

    def close(self) -> None:
        self.subscriber.delete_subscription(request={"subscription": self.subscription})
        self.publisher.delete_topic(request={"topic": self.topic})


def _message(message: Any, at: datetime) -> dict[str, Any]:
    return {
        "data": base64.b64encode(message.data).decode(),
        "attributes": dict(message.attributes),
        "messageId": message.message_id,
        "publishTime": rfc3339(at),
    }
