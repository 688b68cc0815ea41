"""Fault injection: HTTP error answers, connection reset, timeout, slow answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import billing_v1

from standin import StandIn

PROD = "projects/gemini-prod"
GET_INFO = "cloudbilling.projects.getBillingInfo"
UPDATE_INFO = "cloudbilling.projects.updateBillingInfo"
BILLING_PATH = "/v1/projects/gemini-prod/billingInfo"


@pytest.fixture(scope="session")
def billing(standin_server: StandIn) -> billing_v1.CloudBillingClient:
    return billing_v1.CloudBillingClient(
        transport="rest",
        client_options={"api_endpoint": standin_server.url},
        credentials=AnonymousCredentials(),
    )


@pytest.fixture
def session() -> Iterator[AuthorizedSession]:
    with AuthorizedSession(AnonymousCredentials()) as opened:
        yield opened


def test_503_on_first_call_then_client_retry_succeeds(
    standin: StandIn, billing: billing_v1.CloudBillingClient
) -> None:
    standin.add_fault(GET_INFO, "503", calls=[1])
    assert billing.get_project_billing_info(name=PROD).billing_enabled
    assert [(c["status"], c["fault"]) for c in standin.calls(GET_INFO)] == [
        (503, "503"),
        (200, None),
    ]


def test_403_names_the_permission_the_call_needs(
    standin: StandIn, billing: billing_v1.CloudBillingClient, session: AuthorizedSession
) -> None:
    standin.add_fault(UPDATE_INFO, "403")
    with pytest.raises(exceptions.Forbidden) as raised:
        billing.update_project_billing_info(
            name=PROD, project_billing_info={"billing_account_name": ""}
        )
    assert (
        "Permission 'resourcemanager.projects.deleteBillingAssignment' denied on resource "
        "'projects/gemini-prod'" in raised.value.message
    )
    assert raised.value.reason == "IAM_PERMISSION_DENIED"
    link = session.put(
        standin.url + BILLING_PATH,
        json={"billingAccountName": "billingAccounts/01D4EE-079462-DFD6EC"},
        timeout=5,
    )
    assert link.status_code == 403
    assert "resourcemanager.projects.createBillingAssignment" in link.json()["error"]["message"]
    assert standin.state["projects"]["gemini-prod"]["billing_account"]


def test_times_and_call_numbers(standin: StandIn, session: AuthorizedSession) -> None:
    standin.add_fault(GET_INFO, "429", times=2)
    standin.add_fault(GET_INFO, "500", calls=[4])
    codes = [session.get(standin.url + BILLING_PATH, timeout=5).status_code for _ in range(5)]
    assert codes == [429, 429, 200, 500, 200]
    assert [rule["seen"] for rule in standin.faults()] == [5, 5]
    answer = session.get(standin.url + BILLING_PATH, timeout=5).json()
    assert answer["billingEnabled"] is True


def test_wildcard_rule_hits_every_method(standin: StandIn, session: AuthorizedSession) -> None:
    standin.add_fault("*", "503", times=1)
    first = session.get(f"{standin.url}/v1/{PROD}/services/x.googleapis.com", timeout=5)
    assert first.json()["error"]["status"] == "UNAVAILABLE"
    assert session.get(standin.url + BILLING_PATH, timeout=5).status_code == 200


def test_reset_is_a_connection_error(standin: StandIn, session: AuthorizedSession) -> None:
    standin.add_fault(GET_INFO, "reset", times=1)
    with pytest.raises(requests.ConnectionError):
        session.get(standin.url + BILLING_PATH, timeout=5)
    assert session.get(standin.url + BILLING_PATH, timeout=5).status_code == 200
    assert [(c["status"], c["fault"]) for c in standin.calls()] == [(None, "reset"), (200, None)]


def test_cut_answer_is_carried_out_and_a_chunked_encoding_error(
    standin: StandIn, session: AuthorizedSession
) -> None:
    standin.add_fault(UPDATE_INFO, "cut", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.put(standin.url + BILLING_PATH, json={}, timeout=5)
    assert session.get(standin.url + BILLING_PATH, timeout=5).json()["billingEnabled"] is False
    assert [(c["status"], c["fault"]) for c in standin.calls(UPDATE_INFO)] == [(None, "cut")]


def test_timeout_holds_the_connection(standin: StandIn, session: AuthorizedSession) -> None:
    standin.add_fault(GET_INFO, "timeout", times=1, delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        session.get(standin.url + BILLING_PATH, timeout=0.2)
    assert session.get(standin.url + BILLING_PATH, timeout=5).status_code == 200


def test_slow_answers_correctly_after_the_delay(
    standin: StandIn, session: AuthorizedSession
) -> None:
    standin.add_fault(UPDATE_INFO, "slow", delay=0.3)
    started = time.monotonic()
    answer = session.put(standin.url + BILLING_PATH, json={}, timeout=5)
    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 200 and answer.json()["billingEnabled"] is False
    assert standin.calls(UPDATE_INFO)[0]["fault"] == "slow"


def test_malformed_rules_are_refused(standin: StandIn, session: AuthorizedSession) -> None:
    with pytest.raises(ValueError, match="'fault' must be one of"):
        standin.add_fault(GET_INFO, "418")
    with pytest.raises(ValueError, match="not both"):
        standin.add_fault(GET_INFO, "503", calls=[1], times=1)
    refused = session.post(standin.url + "/_standin/faults", json={"fault": "503"}, timeout=5)
    assert refused.status_code == 400
    assert standin.faults() == []
