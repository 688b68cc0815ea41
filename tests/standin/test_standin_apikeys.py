"""API Keys v2 over plain REST (google-auth ``AuthorizedSession``), as the guard calls it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession

from standin import StandIn

KEYS = "/v2/projects/gemini-prod/locations/global/keys"
GEMINI_ONLY = {"apiTargets": [{"service": "generativelanguage.googleapis.com"}]}
SA = "gemini-app@gemini-prod.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def session() -> Iterator[AuthorizedSession]:
    with AuthorizedSession(AnonymousCredentials()) as opened:
        yield opened


def _call(session: AuthorizedSession, standin: StandIn, http: str, path: str, **kw: Any) -> Any:
    response = session.request(http, standin.url + path, timeout=5, **kw)
    assert response.status_code == 200, response.text
    return response.json()


def _all_keys(session: AuthorizedSession, standin: StandIn, **params: str) -> list[dict[str, Any]]:
    keys, token = [], ""
    while True:
        page = _call(session, standin, "GET", KEYS, params={**params, "pageToken": token})
        assert len(page.get("keys", [])) <= 2
        keys += page.get("keys", [])
        token = page.get("nextPageToken", "")
        if not token:
            return keys


def _seed_key_strings(standin: StandIn) -> list[str]:
    return [k["keyString"] for p in standin.state["projects"].values() for k in p["keys"]]


def test_list_paginates_and_hides_key_strings(standin: StandIn, session: AuthorizedSession) -> None:
    first = _call(session, standin, "GET", KEYS)
    assert len(first["keys"]) == 2 and first["nextPageToken"]
    keys = _all_keys(session, standin)
    assert [k["displayName"] for k in keys] == [
        "Gemini API Key",
        "Gemini backend (standard key)",
        "Maps browser key",
    ]
    assert all(k["name"].startswith("projects/123456789012/locations/global/keys/") for k in keys)
    assert all("keyString" not in k for k in keys)
    assert keys[0]["serviceAccountEmail"] == SA
    by_number = _call(
        session,
        standin,
        "GET",
        KEYS.replace("gemini-prod", "123456789012"),
        params={"pageSize": 10},
    )
    assert [k["uid"] for k in by_number["keys"]] == [k["uid"] for k in keys]
    assert "nextPageToken" not in by_number


def test_create_keeps_every_field_and_polls_done(
    standin: StandIn, session: AuthorizedSession
) -> None:
    sent = {
        "displayName": "Gemini API Key",
        "restrictions": GEMINI_ONLY,
        "annotations": {"budget-guard/replaces": "projects/123456789012/locations/global/keys/x"},
        "serviceAccountEmail": SA,
    }
    operation = _call(session, standin, "POST", KEYS, params={"keyId": "rotated-1"}, json=sent)
    assert operation["name"].startswith("operations/akmf.p7-123456789012-")
    assert operation["done"] is False
    polled = _call(session, standin, "GET", "/v2/" + operation["name"])
    assert polled["done"] is True
    key = polled["response"]
    assert key["@type"] == "type.googleapis.com/google.api.apikeys.v2.Key"
    assert {field: key[field] for field in sent} == sent
    assert key["name"] == "projects/123456789012/locations/global/keys/rotated-1"
    assert "keyString" not in key

    key_string = _call(session, standin, "GET", f"{KEYS}/rotated-1/keyString")["keyString"]
    assert key_string.startswith("AQ.") and len(key_string) > 40
    assert _call(session, standin, "GET", f"{KEYS}/rotated-1")["uid"] == key["uid"]
    assert key_string not in json.dumps(standin.calls())

    plain = _call(session, standin, "POST", KEYS, json={"displayName": "plain"})
    uid = _call(session, standin, "GET", "/v2/" + plain["name"])["response"]["uid"]
    plain_string = _call(session, standin, "GET", f"{KEYS}/{uid}/keyString")["keyString"]
    assert plain_string.startswith("AIza") and len(plain_string) == 39


def test_duplicate_key_id_and_unknown_key(standin: StandIn, session: AuthorizedSession) -> None:
    _call(session, standin, "POST", KEYS, params={"keyId": "dup-1"}, json={})
    duplicate = session.post(standin.url + KEYS, params={"keyId": "dup-1"}, json={}, timeout=5)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["status"] == "ALREADY_EXISTS"
    bad_id = session.post(standin.url + KEYS, params={"keyId": "9-Upper"}, json={}, timeout=5)
    assert bad_id.status_code == 400
    missing = session.get(f"{standin.url}{KEYS}/no-such-key", timeout=5)
    assert (missing.status_code, missing.json()["error"]["status"]) == (404, "NOT_FOUND")
    foreign = session.get(standin.url + KEYS.replace("gemini-prod", "not-mine"), timeout=5)
    assert foreign.status_code == 403
    assert "Permission 'apikeys.keys.list' denied" in foreign.json()["error"]["message"]


def test_delete_is_soft_and_undelete_restores(standin: StandIn, session: AuthorizedSession) -> None:
    key = standin.state["projects"]["gemini-prod"]["keys"][1]
    path = f"{KEYS}/{key['uid']}"
    stale = session.delete(standin.url + path, params={"etag": 'W/"stale"'}, timeout=5)
    assert (stale.status_code, stale.json()["error"]["status"]) == (409, "ABORTED")

    current = _call(session, standin, "GET", path)
    deleted = _call(session, standin, "DELETE", path, params={"etag": current["etag"]})
    assert deleted["done"] is True and deleted["response"]["deleteTime"]
    assert key["uid"] not in [k["uid"] for k in _all_keys(session, standin)]
    listed = _all_keys(session, standin, showDeleted="true")
    assert [k.get("deleteTime") is not None for k in listed] == [False, True, False]
    assert _call(session, standin, "GET", path)["deleteTime"]
    again = session.delete(standin.url + path, timeout=5)
    assert (again.status_code, again.json()["error"]["status"]) == (400, "FAILED_PRECONDITION")

    restored = _call(session, standin, "POST", path + ":undelete", json={})
    assert restored["done"] is True and "deleteTime" not in restored["response"]
    assert key["uid"] in [k["uid"] for k in _all_keys(session, standin)]
    assert [c["method"] for c in standin.calls()][-1] == "apikeys.projects.locations.keys.list"


def test_operations_are_per_api(standin: StandIn, session: AuthorizedSession) -> None:
    operation = _call(session, standin, "POST", KEYS, json={"displayName": "x"})
    wrong_api = session.get(f"{standin.url}/v1/{operation['name']}", timeout=5)
    assert wrong_api.status_code == 404


def test_api_keys_gapic_client_pages_and_drops_service_account(standin: StandIn) -> None:
    """google-cloud-api-keys 0.9.1 works too, but its ``Key`` has no serviceAccountEmail."""
    from google.cloud import api_keys_v2

    client = api_keys_v2.ApiKeysClient(
        transport="rest",
        client_options={"api_endpoint": standin.url},
        credentials=AnonymousCredentials(),
    )
    parent = "projects/gemini-prod/locations/global"
    assert len(list(client.list_keys(parent=parent))) == 3
    assert len(standin.calls("apikeys.projects.locations.keys.list")) == 2
    created = client.create_key(
        parent=parent, key={"display_name": "via gapic"}, key_id="gapic-1"
    ).result(timeout=10)
    assert created.name == "projects/123456789012/locations/global/keys/gapic-1"
    assert "service_account_email" not in api_keys_v2.Key.meta.fields
    response = client.get_key_string(name=created.name)
    assert response.key_string.startswith("AIza")
