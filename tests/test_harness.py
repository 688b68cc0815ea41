"""The harness itself: process management, the emulators, Pub/Sub push into functions-framework."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local import services
from local.services import Service, ServiceError

# A throwaway CloudEvent function: records each delivery as OUT_DIR/<messageId>-<n>.json and
# fails (HTTP 500) while n <= the message's "fail_times" attribute.
RECORDER_SOURCE = """
import json, os, pathlib
import functions_framework

OUT = pathlib.Path(os.environ["OUT_DIR"])

@functions_framework.cloud_event
def record(cloud_event):
    message = cloud_event.data["message"]
    mid = message["messageId"]
    n = len(list(OUT.glob(f"{mid}-*.json"))) + 1
    body = {
        "attributes": dict(cloud_event.get_attributes()),
        "data": cloud_event.data,
    }
    tmp = OUT / f".{mid}-{n}.tmp"
    tmp.write_text(json.dumps(body))
    tmp.rename(OUT / f"{mid}-{n}.json")
    print(json.dumps({"severity": "INFO", "message": "recorded", "messageId": mid, "n": n}))
    if n <= int(message.get("attributes", {}).get("fail_times", "0")):
        raise RuntimeError(f"failing delivery {n} on purpose")
"""


def _deliveries(out: Path, message_id: str) -> list[dict[str, Any]]:
    files = sorted(out.glob(f"{message_id}-*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [json.loads(p.read_text()) for p in files]


@pytest.fixture
def recorder(
    tmp_path: Path, function_server_factory: Callable[..., Service]
) -> tuple[Service, Path]:
    source = tmp_path / "recorder.py"
    source.write_text(RECORDER_SOURCE)
    out = tmp_path / "out"
    out.mkdir()
    server = function_server_factory({"OUT_DIR": str(out)}, target="record", source=source)
    return server, out


# -- process management (no emulator) ------------------------------------------------------


def test_exit_before_ready_reports_log_tail(tmp_path: Path) -> None:
    service = Service(
        "boom",
        ["sh", "-c", "echo starting; echo kaboom >&2; exit 3"],
        port=services.free_port(),
        log_dir=tmp_path,
    )
    with pytest.raises(ServiceError, match=r"(?s)exited with status 3.*kaboom"):
        service.start(timeout=10)


def test_not_ready_times_out_and_group_is_stopped(tmp_path: Path) -> None:
    service = Service(
        "sleeper",
        ["sh", "-c", "echo waiting; sleep 60 & wait"],
        port=services.free_port(),
        log_dir=tmp_path,
    )
    with pytest.raises(ServiceError, match=r"(?s)not ready after 0\.5s.*waiting"):
        service.start(timeout=0.5)
    assert service.pgid is not None
    assert not services.process_group_alive(service.pgid)


def test_stop_escalates_to_sigkill_for_the_whole_group(tmp_path: Path) -> None:
    # The shell and its background child ignore SIGTERM; only SIGKILL ends them.
    service = Service(
        "stubborn",
        ["sh", "-c", "trap '' TERM; (trap '' TERM; sleep 60) & echo up; wait"],
        port=services.free_port(),
        log_dir=tmp_path,
        ready=lambda s: "up" in s.log_lines(),  # the line, not the echoed command
    )
    with service:
        assert service.running
        pgid = service.pgid
        started = time.monotonic()
        service.stop(grace=0.5)
        assert 0.5 <= time.monotonic() - started < 3
    assert pgid is not None
    assert not services.process_group_alive(pgid)
    assert service.returncode == -9


def test_stop_is_idempotent_and_safe_before_launch(tmp_path: Path) -> None:
    service = Service("never", ["true"], port=services.free_port(), log_dir=tmp_path)
    assert service.stop() is None
    assert "stopped" in repr(service)


def test_parse_json_lines_skips_non_json() -> None:
    lines = ['{"a": 1}', "plain text", "", "[1, 2]", '{"broken": ', '  {"b": "x"}  ']
    assert services.parse_json_lines(lines) == [{"a": 1}, {"b": "x"}]


def test_sdk_root_honours_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOUDSDK_ROOT_DIR", str(tmp_path))
    assert services.sdk_root() == tmp_path
    with pytest.raises(ServiceError, match="pubsub-emulator"):
        services.pubsub_emulator(tmp_path)


# -- emulators -----------------------------------------------------------------------------


@pytest.mark.integration
def test_emulators_start_and_stop(tmp_path: Path) -> None:
    pubsub = services.pubsub_emulator(tmp_path)
    firestore = services.firestore_emulator(tmp_path)
    started = time.monotonic()
    services.start_all([pubsub, firestore])
    elapsed = time.monotonic() - started
    try:
        assert services.http_status(pubsub.url + "/") == 200
        assert services.http_status(firestore.url + "/") == 200
        assert pubsub.env == {"PUBSUB_EMULATOR_HOST": pubsub.host}
        assert firestore.env == {"FIRESTORE_EMULATOR_HOST": firestore.host}
    finally:
        pubsub.stop()
        firestore.stop()
    for service in (pubsub, firestore):
        assert service.pgid is not None
        assert not services.process_group_alive(service.pgid), service
        assert services.http_status(service.url + "/") is None
        assert service.log_path.is_file()
    print(f"both emulators ready and warm in {elapsed:.1f}s")


def test_session_emulators_env(pubsub_emulator: Service, firestore_emulator: Service) -> None:
    import os

    assert os.environ["PUBSUB_EMULATOR_HOST"] == pubsub_emulator.host
    assert os.environ["FIRESTORE_EMULATOR_HOST"] == firestore_emulator.host


def test_firestore_clear_default_and_named(
    firestore_clear: Callable[..., None], project_id: str, unique_name: Callable[[str], str]
) -> None:
    from google.cloud import firestore

    doc = unique_name("doc")
    default_db = firestore.Client(project=project_id)
    named_db = firestore.Client(project=project_id, database="other-db")
    for client in (default_db, named_db):
        client.collection("harness").document(doc).set({"x": 1})

    firestore_clear(project_id)
    assert not default_db.collection("harness").document(doc).get().exists
    assert named_db.collection("harness").document(doc).get().exists

    firestore_clear(project_id, "other-db")
    assert not named_db.collection("harness").document(doc).get().exists


# -- Pub/Sub push into functions-framework --------------------------------------------------


def test_push_delivers_cloudevent(
    recorder: tuple[Service, Path], project_id: str, unique_name: Callable[[str], str]
) -> None:
    server, out = recorder
    topic = unique_name("harness")
    topic_path = f"projects/{project_id}/topics/{topic}"
    topic_path, sub_path = services.create_push_topic(
        project_id, topic, services.push_endpoint(server.url, topic_path)
    )
    try:
        payload = json.dumps({"costAmount": 12.5, "budgetAmount": 10}).encode()
        attributes = {"billingAccountId": "01D4EE-079462-DFD6EC", "schemaVersion": "1.0"}
        message_id = services.publish(topic_path, payload, attributes)

        services.wait_for(lambda: _deliveries(out, message_id), timeout=15, message="delivery")
    finally:
        services.delete_push_topic(topic_path, sub_path)

    (delivery,) = _deliveries(out, message_id)
    ce = delivery["attributes"]
    assert ce["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert ce["source"] == f"//pubsub.googleapis.com/{topic_path}"
    assert ce["id"] == message_id
    message = delivery["data"]["message"]
    assert message["messageId"] == message_id
    assert message["attributes"] == attributes
    assert base64.b64decode(message["data"]) == payload
    assert message["publishTime"]
    records = [r for r in server.json_logs() if r.get("message") == "recorded"]
    assert records == [{"severity": "INFO", "message": "recorded", "messageId": message_id, "n": 1}]


def test_push_redelivered_after_500(
    recorder: tuple[Service, Path], project_id: str, unique_name: Callable[[str], str]
) -> None:
    server, out = recorder
    topic = unique_name("harness")
    topic_path, sub_path = services.create_push_topic(project_id, topic, server.url + "/")
    try:
        started = time.monotonic()
        message_id = services.publish(topic_path, b"{}", {"fail_times": "2"})
        services.wait_for(
            lambda: len(_deliveries(out, message_id)) >= 3, timeout=20, message="3 deliveries"
        )
        elapsed = time.monotonic() - started
        time.sleep(2.5)  # a success is acknowledged: no fourth delivery
    finally:
        services.delete_push_topic(topic_path, sub_path)

    deliveries = _deliveries(out, message_id)
    assert len(deliveries) == 3
    assert {d["attributes"]["id"] for d in deliveries} == {message_id}
    assert 1.5 < elapsed < 10, elapsed  # retried about once a second without a retry policy
    assert "failing delivery 2 on purpose" in server.log_text()


def test_delete_subscription_stops_redelivery(
    recorder: tuple[Service, Path], project_id: str, unique_name: Callable[[str], str]
) -> None:
    server, out = recorder
    topic_path, sub_path = services.create_push_topic(
        project_id, unique_name("harness"), server.url + "/"
    )
    message_id = services.publish(topic_path, b"x", {"fail_times": "1000"})
    services.wait_for(lambda: len(_deliveries(out, message_id)) >= 2, timeout=15)
    services.delete_push_topic(topic_path, sub_path)
    time.sleep(0.5)  # a push already in flight may still land
    count = len(_deliveries(out, message_id))
    time.sleep(2.5)
    assert len(_deliveries(out, message_id)) == count
