"""Connection-level failures are transient: retried in the call, then raised for a redelivery.

Real failures, not raised by hand: the stand-in cuts a chunked answer in the middle
(``ChunkedEncodingError``), and the guard's credentials refresh against a local OAuth token
endpoint that drops the connection (google.auth ``TransportError``) or answers 503
(``RefreshError``). The table in ``functions.gcp`` is checked by a unit test as well.
"""

from __future__ import annotations

import http.client
import http.server
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import urllib3

from functions import gcp
from functions.errors import TransientError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from standin import StandIn
from tests.sample import event, policy_doc

PROJECT = "gemini-prod"
GET_INFO = "cloudbilling.projects.getBillingInfo"
LIST_KEYS = "apikeys.projects.locations.keys.list"

pytestmark = pytest.mark.usefixtures("guard_env")


def guard(action: str) -> tuple[Guard, MemoryLedger]:
    ledger = MemoryLedger()
    rules = [{"name": "stop", "threshold": 0.5, "basis": "actual", "actions": [action]}]
    policy = parse_policy(policy_doc(rules=rules))
    return Guard(policy, ledger=lambda: ledger, log=Logger(stream=io.StringIO())), ledger


def status(ledger: MemoryLedger, action: str) -> str:
    (record,) = ledger.records(rule="stop")
    return str(record["actions"][action]["status"])


@pytest.mark.parametrize(
    ("action", "method"), [("disable_billing", GET_INFO), ("revoke_keys", LIST_KEYS)]
)
def test_an_answer_cut_mid_body_is_retried_in_the_call(
    standin: StandIn, action: str, method: str
) -> None:
    standin.add_fault(method, "cut", calls=[1])
    g, ledger = guard(action)

    g.handle(event(600))

    assert status(ledger, action) == "done"
    assert [c["fault"] for c in standin.calls(method)][:2] == ["cut", None]


def test_answers_cut_on_every_call_are_redelivered_not_failed(standin: StandIn) -> None:
    standin.add_fault(GET_INFO, "cut")
    g, ledger = guard("disable_billing")

    with pytest.raises(TransientError, match="ChunkedEncodingError"):
        g.handle(event(600))
    assert status(ledger, "disable_billing") == "retrying"

    standin.clear_faults()
    g.handle(event(600))  # the redelivery
    assert status(ledger, "disable_billing") == "done"


class _TokenEndpoint(http.server.BaseHTTPRequestHandler):
    """An OAuth token endpoint playing ``server.script`` ("drop", "503"), then granting tokens."""

    server: Any

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        step = self.server.script.pop(0) if self.server.script else "token"
        self.server.seen.append(step)
        if step == "drop":
            self.close_connection = True
            return  # no answer at all: the client sees the connection end
        code, body = (
            (503, {"error": "internal_failure", "error_description": "backend unavailable"})
            if step == "503"
            else (200, {"access_token": "ya29.standin-token", "expires_in": 3600})
        )
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def token_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The guard's credentials refresh at a local token endpoint (``.script``, ``.seen``)."""
    from google.oauth2.credentials import Credentials

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    server.script, server.seen = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token="standin-refresh-token",
        token_uri=f"http://127.0.0.1:{server.server_port}/token",
        client_id="standin-client",
        client_secret="standin-secret",
    )
    monkeypatch.setattr(gcp, "_credentials", lambda: credentials)
    gcp.reset()
    yield server
    server.shutdown()
    server.server_close()
    gcp.reset()


def test_a_refresh_whose_connection_drops_is_retried_in_the_call(
    standin: StandIn, token_endpoint: Any
) -> None:
    token_endpoint.script = ["drop", "drop"]
    g, ledger = guard("revoke_keys")

    g.handle(event(600))

    assert status(ledger, "revoke_keys") == "done"
    assert token_endpoint.seen[:3] == ["drop", "drop", "token"]


def test_a_refresh_answered_503_is_redelivered_not_failed(
    standin: StandIn, token_endpoint: Any
) -> None:
    token_endpoint.script = ["503"] * 3  # google-auth's own 3 attempts, then RefreshError
    g, ledger = guard("revoke_keys")

    with pytest.raises(TransientError, match="RefreshError"):
        g.handle(event(600))
    assert status(ledger, "revoke_keys") == "retrying"
    assert standin.calls(LIST_KEYS) == []  # nothing reached the API without a token

    g.handle(event(600))  # the redelivery: the endpoint grants a token now
    assert status(ledger, "revoke_keys") == "done"


def _auth_error(name: str) -> BaseException:
    from google.auth import exceptions

    return getattr(exceptions, name)("token endpoint failed")  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ChunkedEncodingError("cut"),
        requests.exceptions.ContentDecodingError("bad gzip"),
        requests.ConnectionError("refused"),
        requests.ReadTimeout("slow"),
        urllib3.exceptions.ProtocolError("ended prematurely"),
        http.client.IncompleteRead(b"half"),
        http.client.RemoteDisconnected("gone"),
        ConnectionResetError(),
        TimeoutError(),
    ],
    ids=type,
)
def test_connection_level_errors_are_transient(exc: BaseException) -> None:
    assert gcp.is_transient(exc)


@pytest.mark.parametrize("name", ["TransportError", "RefreshError"])
def test_credential_errors_are_transient(name: str) -> None:
    assert gcp.is_transient(_auth_error(name))


def test_permanent_errors_are_not_transient() -> None:
    from google.api_core import exceptions as gexc

    for exc in (gexc.Forbidden("no"), gexc.BadRequest("no"), ValueError("bug"), KeyError("x")):
        assert not gcp.is_transient(exc)
