"""The guard's real pipeline for integration tests: Pub/Sub emulator push -> functions-framework
-> the guard -> the stand-in (Google APIs) and the Firestore emulator (ledger).

``Pipeline`` owns one guard process with one policy, its own push topic and its own named
Firestore database, so tests never see each other's crossings.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from functions.alerts import Alert
from local import services
from local.services import Service
from standin.server import StandIn
from tests.sample import POLICY

__all__ = ["Pipeline"]

BILLING_UPDATE = "cloudbilling.projects.updateBillingInfo"


class Pipeline:
    """One guard behind a push subscription, with helpers to publish and to wait."""

    def __init__(
        self,
        start_function: Callable[..., Service],
        standin: StandIn,
        name: str,
        policy: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.standin = standin
        self.policy = json.loads(json.dumps(policy or POLICY))
        self.policy["ledger"] = {"project": services.DEFAULT_PROJECT, "database": name}
        self.function = start_function(
            {
                "BUDGET_GUARD_POLICY": json.dumps(self.policy),
                "BUDGET_GUARD_GCP_ENDPOINT": standin.url,
                "BUDGET_GUARD_RETRY_DEADLINE": "2",
                "BUDGET_GUARD_RETRY_INITIAL": "0.1",
                "BUDGET_GUARD_TIMEOUT": "5",
                **(env or {}),
            }
        )
        self.topic_path, self.subscription = services.create_push_topic(
            services.DEFAULT_PROJECT,
            name,
            services.push_endpoint(
                self.function.url, f"projects/{services.DEFAULT_PROJECT}/topics/{name}"
            ),
        )

    def close(self) -> None:
        services.delete_push_topic(self.topic_path, self.subscription)

    def publish(self, alert: Alert) -> str:
        """Publish ``alert`` to the guard's topic; returns the Pub/Sub message id."""
        return services.publish(self.topic_path, alert.payload(), alert.attributes())

    def publish_raw(self, data: bytes, attributes: dict[str, str]) -> str:
        return services.publish(self.topic_path, data, attributes)

    def redeliver(self, message_id: str, alert: Alert) -> int:
        """POST the same push body again, as Pub/Sub does on a redelivery; returns the status."""
        body = json.dumps({"message": alert.message(message_id), "subscription": self.subscription})
        request = urllib.request.Request(
            f"{self.function.url}/{self.topic_path}",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)

    def logs(self) -> list[dict[str, Any]]:
        return self.function.json_logs()

    def lines_for(self, message_id: str) -> list[dict[str, Any]]:
        return [r for r in self.logs() if r.get("message_id") == message_id]

    def wait_handled(
        self, message_id: str, count: int = 1, timeout: float = 60
    ) -> list[dict[str, Any]]:
        """Wait until the guard has finished ``message_id`` ``count`` times; return its lines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines_for(message_id)
            if sum(map(services.finished, lines)) >= count:
                return lines
            time.sleep(0.05)
        raise AssertionError(
            f"message {message_id} not handled {count}x in {timeout}s:\n{self.function.log_tail()}"
        )

    def billing_updates(self, status: int | None = 200) -> list[dict[str, Any]]:
        return [
            c for c in self.standin.calls(BILLING_UPDATE) if status is None or c["status"] == status
        ]

    def billing_account(self, project: str = "gemini-prod") -> str:
        return str(self.standin.state["projects"][project]["billing_account"])

    def ledger(self) -> list[dict[str, Any]]:
        from google.cloud import firestore

        db = firestore.Client(
            project=self.policy["ledger"]["project"], database=self.policy["ledger"]["database"]
        )
        return [d.to_dict() for d in db.collection("crossings").stream()]
