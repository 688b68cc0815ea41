"""The ``/_standin/`` admin endpoints, lifecycle, enum encoding and ``python -m standin``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from standin import StandIn

REPO = Path(__file__).resolve().parents[2]
BILLING_PATH = "/v1/projects/gemini-prod/billingInfo"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def test_state_round_trips_and_put_clears_faults_and_calls(
    standin: StandIn, http: requests.Session
) -> None:
    state = http.get(standin.url + "/_standin/state", timeout=5).json()
    assert state == standin.state
    assert state["projects"]["gemini-prod"]["keys"][0]["keyString"].startswith("AQ.")
    http.post(standin.url + "/_standin/faults", json={"method": "*", "fault": "500"}, timeout=5)
    assert http.get(standin.url + BILLING_PATH, timeout=5).status_code == 500

    state["projects"]["gemini-prod"]["billing_account"] = ""
    assert http.put(standin.url + "/_standin/state", json=state, timeout=5).status_code == 200
    assert http.get(standin.url + "/_standin/faults", timeout=5).json() == {"faults": []}
    assert http.get(standin.url + "/_standin/calls", timeout=5).json() == []
    assert http.get(standin.url + BILLING_PATH, timeout=5).json()["billingEnabled"] is False
    assert http.get(standin.url + "/_standin/state", timeout=5).json() == state


def test_bad_seed_is_refused_and_changes_nothing(standin: StandIn, http: requests.Session) -> None:
    before = standin.state
    bad = {"projects": {"p": {"number": "not-a-number"}}}
    answer = http.put(standin.url + "/_standin/state", json=bad, timeout=5)
    assert answer.status_code == 400
    assert "projects.p.number" in answer.json()["error"]["message"]
    assert standin.state == before


def test_faults_and_calls_endpoints(standin: StandIn, http: requests.Session) -> None:
    rule = {"method": "cloudbilling.projects.getBillingInfo", "fault": "503", "calls": [2]}
    added = http.post(standin.url + "/_standin/faults", json=rule, timeout=5).json()
    assert added == {**rule, "seen": 0}
    codes = [http.get(standin.url + BILLING_PATH, timeout=5).status_code for _ in range(3)]
    assert codes == [200, 503, 200]
    http.post(standin.url + "/v1/projects/gemini-prod/services/a.googleapis.com:enable", timeout=5)

    calls = http.get(standin.url + "/_standin/calls", timeout=5).json()
    assert [c["method"] for c in calls] == ["cloudbilling.projects.getBillingInfo"] * 3 + [
        "serviceusage.services.enable"
    ]
    assert set(calls[0]) == {"method", "http", "path", "status", "fault", "at"}
    only = http.get(
        standin.url + "/_standin/calls",
        params={"method": "serviceusage.services.enable"},
        timeout=5,
    ).json()
    assert [c["path"] for c in only] == [
        "/v1/projects/gemini-prod/services/a.googleapis.com:enable"
    ]
    assert http.delete(standin.url + "/_standin/faults", timeout=5).status_code == 200
    assert http.delete(standin.url + "/_standin/calls", timeout=5).status_code == 200
    assert standin.faults() == [] and standin.calls() == []


def test_unknown_paths_answer_404_and_are_logged(standin: StandIn, http: requests.Session) -> None:
    answer = http.get(standin.url + "/v9/nothing/here", timeout=5)
    assert answer.status_code == 404 and answer.json()["error"]["status"] == "NOT_FOUND"
    assert standin.calls() == [
        {**standin.calls()[0], "method": None, "path": "/v9/nothing/here", "status": 404}
    ]
    assert http.get(standin.url + "/_standin/nope", timeout=5).status_code == 404


def test_enum_encoding_follows_the_alt_parameter(standin: StandIn, http: requests.Session) -> None:
    path = "/v1/projects/gemini-prod/services/generativelanguage.googleapis.com"
    named = http.get(standin.url + path, timeout=5).json()
    numbered = http.get(standin.url + path, params={"$alt": "json;enum-encoding=int"}, timeout=5)
    assert (named["state"], numbered.json()["state"]) == ("ENABLED", 2)


def test_stop_closes_kept_alive_connections() -> None:
    with requests.Session() as http:
        standin = StandIn()
        url = standin.start()
        assert standin.start() == url
        assert http.get(url + BILLING_PATH, timeout=5).status_code == 200
        standin.stop()
        standin.stop()
        with pytest.raises(requests.ConnectionError):
            http.get(url + BILLING_PATH, timeout=5)
        with pytest.raises(RuntimeError):
            _ = standin.url


@pytest.mark.integration
def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"projects": {"p": {"number": "42"}}}))
    process = subprocess.Popen(
        [sys.executable, "-m", "standin", "--seed", str(seed), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("standin listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        state = requests.get(url + "/_standin/state", timeout=5).json()
        assert state["projects"]["p"]["number"] == "42"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
        process.wait()
