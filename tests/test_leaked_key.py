"""Integration: LEAKED_CREDENTIALS log entries published to the sink's topic (Pub/Sub emulator),
pushed to the ``leaked_key`` entry point under functions-framework, revoking keys in the
stand-in through the real API Keys REST calls, the claim in the Firestore emulator."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import services
from local.services import Service
from standin.server import StandIn
from tests import abuse, keyzoo
from tests.sample import ACCOUNT, BUDGET

DELETE = "apikeys.projects.locations.keys.delete"


def _policy(name: str) -> dict[str, Any]:
    return {
        "billing_account": ACCOUNT,
        "budgets": {BUDGET: {"projects": [keyzoo.PROJECT]}},
        "rules": [{"name": "warn", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}],
        "ledger": {"project": services.DEFAULT_PROJECT, "database": name},
    }


class LeakPipe:
    """The ``leaked_key`` function behind a push subscription on its own sink topic."""

    def __init__(self, factory: Callable[..., Service], standin: StandIn, name: str) -> None:
        self.standin, self.name = standin, name
        self.function = factory(
            {
                "BUDGET_GUARD_POLICY": json.dumps(_policy(name)),
                "BUDGET_GUARD_GCP_ENDPOINT": standin.url,
                "BUDGET_GUARD_RETRY_DEADLINE": "2",
                "BUDGET_GUARD_RETRY_INITIAL": "0.1",
                "BUDGET_GUARD_TIMEOUT": "5",
            },
            target="leaked_key",
        )
        self.topic, self.subscription = services.create_push_topic(
            services.DEFAULT_PROJECT,
            name,
            services.push_endpoint(
                self.function.url, f"projects/{services.DEFAULT_PROJECT}/topics/{name}"
            ),
        )

    def publish(self, log_entry: dict[str, Any]) -> str:
        return services.publish(self.topic, abuse.data(log_entry), abuse.sink_attributes())

    def redeliver(self, message_id: str, log_entry: dict[str, Any]) -> int:
        message = {
            "data": base64.b64encode(abuse.data(log_entry)).decode(),
            "attributes": abuse.sink_attributes(),
            "messageId": message_id,
            "publishTime": "2026-12-01T18:04:13.000Z",
        }
        body = json.dumps({"message": message, "subscription": self.subscription}).encode()
        request = urllib.request.Request(
            f"{self.function.url}/{self.topic}",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)

    def wait(self, message_id: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [r for r in self.function.json_logs() if r.get("message_id") == message_id]
            if sum(map(services.finished, lines)) >= count:
                return lines
            time.sleep(0.05)
        raise AssertionError(f"{message_id} not handled:\n{self.function.log_tail()}")

    def deleted(self) -> list[str]:
        keys = self.standin.state["projects"][keyzoo.PROJECT]["keys"]
        return [k["uid"] for k in keys if k.get("deleteTime") and not k["uid"].endswith("9")]

    def ledger(self) -> list[dict[str, Any]]:
        from google.cloud import firestore

        db = firestore.Client(project=services.DEFAULT_PROJECT, database=self.name)
        return [d.to_dict() for d in db.collection("crossings").stream()]

    def close(self) -> None:
        services.delete_push_topic(self.topic, self.subscription)


@pytest.fixture
def pipe(
    standin: StandIn,
    function_server_factory: Callable[..., Service],
    unique_name: Callable[[str], str],
) -> Iterator[LeakPipe]:
    standin.set_state(keyzoo.world())
    made = LeakPipe(function_server_factory, standin, unique_name("leak"))
    yield made
    made.close()


def test_a_leaked_key_event_revokes_that_key_once_however_often_delivered(pipe: LeakPipe) -> None:
    event = abuse.entry(keyzoo.PROJECT, keyzoo.uid(3))
    first = pipe.publish(event)
    lines = pipe.wait(first)
    assert pipe.deleted() == [keyzoo.uid(3)]
    assert any("revoke_leaked_key: deleted 1 API key(s)" in r["message"] for r in lines)
    # Google logs it again (a new entry, same key), and Pub/Sub redelivers the first message.
    again = [pipe.publish({**event, "insertId": f"again-{i}"}) for i in range(2)]
    for message_id in again:
        assert any("duplicate" in r["message"] for r in pipe.wait(message_id))
    assert pipe.redeliver(first, event) == 200
    pipe.wait(first, count=2)
    assert len([c for c in pipe.standin.calls(DELETE) if c["status"] == 200]) == 1
    assert pipe.deleted() == [keyzoo.uid(3)]  # every other key of the project still works
    (record,) = pipe.ledger()
    assert record["rule"] == "leaked-key" and record["project"] == keyzoo.PROJECT
    assert record["actions"]["revoke_leaked_key"]["progress"]["deleted"] == [keyzoo.name(3)]
    assert record["actions"]["notify"]["status"] == "done"
    assert "leaked" in record["reason"] and record["first_message_id"] == first


def test_an_event_naming_the_key_string_revokes_that_key_and_never_logs_the_string(
    pipe: LeakPipe,
) -> None:
    string = keyzoo.world()["projects"][keyzoo.PROJECT]["keys"][0]["keyString"]
    message_id = pipe.publish(abuse.entry(keyzoo.PROJECT, string))
    pipe.wait(message_id)
    assert pipe.deleted() == [keyzoo.uid(1)]
    assert string not in "\n".join(pipe.function.log_lines())
    assert string not in json.dumps(pipe.ledger())


@pytest.mark.parametrize(
    ("case", "log_entry", "reason"),
    [
        (
            "another project",
            abuse.entry("other-project", "b2000000-0000-4000-8000-000000000001"),
            "project other-project is not a guarded project",
        ),
        (
            "an unknown key",
            abuse.entry(keyzoo.PROJECT, "c3000000-0000-4000-8000-00000000dead"),
            "no API key in key-zoo matches the event's key (sha256:",
        ),
        (
            "a foreign log name",
            abuse.entry(
                keyzoo.PROJECT, keyzoo.uid(1), log_id="cloudaudit.googleapis.com%2Factivity"
            ),
            "is not abuseevent.googleapis.com%2Fabuse_events",
        ),
        (
            "another detection type",
            abuse.entry(keyzoo.PROJECT, keyzoo.uid(1), detection="CRYPTO_MINING"),
            "detectionType: not LEAKED_CREDENTIALS",
        ),
    ],
)
def test_a_spoofed_event_revokes_nothing_and_is_logged(
    pipe: LeakPipe, case: str, log_entry: dict[str, Any], reason: str
) -> None:
    message_id = pipe.publish(log_entry)
    (line,) = [r for r in pipe.wait(message_id) if services.finished(r)]
    assert line["rejected"] == "spoofed" and reason in line["reason"], case
    assert pipe.deleted() == [] and pipe.standin.calls(DELETE) == []
    assert pipe.ledger() == []


def test_restore_hands_a_leaked_key_back_only_with_include_leaked(
    pipe: LeakPipe,
    guard_env: StandIn,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from functions.cli import main

    pipe.wait(pipe.publish(abuse.entry(keyzoo.PROJECT, keyzoo.uid(3))))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(_policy(pipe.name)))
    argv = ["restore", "--policy", str(policy), "--project", keyzoo.PROJECT, "--yes"]
    assert main(["status", "--policy", str(policy)]) == 0
    assert f"leaked key {keyzoo.name(3)} in key-zoo: done" in capsys.readouterr().out
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "named in a LEAKED_CREDENTIALS abuse event" in out
    assert pipe.deleted() == [keyzoo.uid(3)]
    assert main([*argv, "--include-leaked"]) == 0
    assert "DONE  undelete key " + keyzoo.name(3) in capsys.readouterr().out
    assert pipe.deleted() == []


def test_a_key_lookup_refused_is_an_error_and_raised_so_the_event_is_not_dropped(
    guard_env: StandIn,
) -> None:
    import io
    from types import SimpleNamespace

    from functions.errors import ActionFailed
    from functions.leakhandler import LeakGuard
    from functions.log import Logger
    from functions.policy import parse_policy

    guard_env.set_state(keyzoo.world())
    guard_env.add_fault("apikeys.projects.locations.keys.list", "403", times=5)
    stream = io.StringIO()
    leak = LeakGuard(parse_policy(_policy("unused")), lambda: None, Logger(stream=stream))
    message = {
        "data": base64.b64encode(abuse.data(abuse.entry(keyzoo.PROJECT, keyzoo.uid(3)))).decode(),
        "messageId": "m-403",
    }
    with pytest.raises(ActionFailed):
        leak.handle(SimpleNamespace(data={"message": message}))
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines() if '"ERROR"' in x]
    assert "look up the leaked key" in line["message"] and "apikeys.keys.list" in line["remedy"]
    assert guard_env.calls(DELETE) == []
