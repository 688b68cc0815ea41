"""rotate_keys and revoke_keys against the stand-in, through the real handler, executor and ledger.

The guarded project grants exactly the permissions each action declares (the stand-in answers
403 for anything else), so these tests also prove the declarations are enough.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from functions import gcp
from functions.actions.keys import RevokeKeys, RotateKeys
from functions.actions.keys_api import CROSSING, REPLACES
from functions.errors import TransientError
from functions.handler import Guard
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.policy import parse_policy
from standin import StandIn
from standin.model import ApiKey
from standin.permissions import ACT_AS_PERMISSION
from tests.sample import event, policy_doc

PROJECT = "gemini-prod"
NUMBER = "123456789012"
SECRET = "projects/guard-host/secrets/gemini-api-key"
GEMINI_KEY = "Gemini API Key"  # auth key bound to a service account
BACKEND_KEY = "Gemini backend (standard key)"
MAPS_KEY = "Maps browser key"
CREATE = "apikeys.projects.locations.keys.create"
DELETE = "apikeys.projects.locations.keys.delete"
ADD_VERSION = "secretmanager.projects.secrets.addVersion"
POLL = "apikeys.operations.get"
# Replacing a key bound to a service account binds the new key to it: actAs on that account.
ROTATE = RotateKeys.permissions | {ACT_AS_PERMISSION}


pytestmark = pytest.mark.usefixtures("guard_env")


class Run:
    """A guard over the stand-in with one rule, its memory ledger and its captured log."""

    def __init__(
        self,
        standin: StandIn,
        action: str,
        keys: dict[str, Any] | None = None,
        **policy_keys: Any,
    ) -> None:
        self.standin = standin
        self.stream = io.StringIO()
        self.ledger = MemoryLedger()
        rules = [{"name": "keys", "threshold": 0.5, "basis": "actual", "actions": [action]}]
        policy = parse_policy(policy_doc(rules=rules, keys=keys or {}, **policy_keys))
        self.guard = Guard(policy, ledger=lambda: self.ledger, log=Logger(stream=self.stream))

    def deliver(self, message_id: str = "m-1") -> list[dict[str, Any]]:
        return self.guard.handle(event(600, message_id=message_id))

    def record(self) -> dict[str, Any]:
        (record,) = self.ledger.records(rule="keys")
        return record

    def api_keys(self) -> list[dict[str, Any]]:
        return list(self.standin.state["projects"][PROJECT]["keys"])

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


def grant(standin: StandIn, permissions: frozenset[str]) -> None:
    """Let the guard do in the guarded project exactly ``permissions``, nothing else."""
    with standin.world.lock:
        standin.world.projects[PROJECT].granted_permissions = sorted(permissions)


def by_name(keys: list[dict[str, Any]], display_name: str) -> list[dict[str, Any]]:
    return [k for k in keys if k["displayName"] == display_name]


def secret_versions(standin: StandIn) -> list[dict[str, Any]]:
    return [
        json.loads(base64.b64decode(v["data"]))
        for v in standin.state["secrets"][SECRET]["versions"]
    ]


def key_strings(standin: StandIn) -> set[str]:
    return {k["keyString"] for p in standin.state["projects"].values() for k in p["keys"]}


def assert_no_key_string(run: Run, *more: Any) -> None:
    """No key string (old or new) in any log line, ledger record or handler result.

    Logs and records pass through ``redact``, which would hide a leak: so no mask either.
    """
    strings = key_strings(run.standin)
    texts = [run.stream.getvalue(), json.dumps(run.ledger.records()), json.dumps(more, default=str)]
    for text in texts:
        assert "[REDACTED]" not in text
        for string in strings:
            assert string not in text


def test_rotation_replaces_each_selected_key_once_however_often_delivered(standin: StandIn) -> None:
    grant(standin, ROTATE)
    run = Run(standin, "rotate_keys", {"match": "gemini", "secret": SECRET})
    before = {k["displayName"]: k for k in run.api_keys()}

    results = [run.deliver("m-1"), run.deliver("m-2"), run.deliver("m-1")]

    keys = run.api_keys()
    assert len(keys) == 5  # two replacements, nothing else
    assert len(standin.calls(CREATE)) == 2
    assert len(standin.calls("apikeys.projects.locations.keys.list")) >= 2  # pages followed
    record = run.record()
    action = record["actions"]["rotate_keys"]
    assert record["state"] == "done" and action["status"] == "done"
    crossing = results[0][0]["crossing"]
    assert results[1] == results[2] == [{"crossing": crossing, "duplicate": True}]
    progress = action["progress"]

    for display in (GEMINI_KEY, BACKEND_KEY):
        old, new = sorted(by_name(keys, display), key=lambda k: k["deleteTime"] is None)
        old_name = f"projects/{NUMBER}/locations/global/keys/{old['keyId']}"
        new_name = f"projects/{NUMBER}/locations/global/keys/{new['keyId']}"
        assert old["deleteTime"] is not None and new["deleteTime"] is None  # soft delete
        assert progress["replacements"][old_name] == new_name
        assert new["restrictions"] == before[display]["restrictions"]
        assert new.get("serviceAccountEmail") == before[display].get("serviceAccountEmail")
        assert new["annotations"] == {
            **before[display].get("annotations", {}),
            REPLACES: old_name,
            CROSSING: crossing,
        }
        assert new["keyString"] != old["keyString"]
    assert by_name(keys, GEMINI_KEY)[-1]["serviceAccountEmail"].startswith("gemini-app@")
    (maps,) = by_name(keys, MAPS_KEY)  # restricted to Maps: not selected, untouched
    assert maps["deleteTime"] is None
    selected = sorted(progress["selected"])
    assert selected == sorted(progress["deleted"]) == sorted(progress["replacements"])

    (secret,) = secret_versions(standin)  # one version, written once
    live = {k["displayName"]: k["keyString"] for k in keys if k["deleteTime"] is None}
    assert secret == {GEMINI_KEY: live[GEMINI_KEY], BACKEND_KEY: live[BACKEND_KEY]}
    assert progress["secret_version"] == f"{SECRET}/versions/1"
    assert_no_key_string(run, results)


@pytest.mark.parametrize(
    ("method", "fault"),
    [
        (DELETE, "503"),  # replacements and secret done, old keys not deleted
        (ADD_VERSION, "500"),  # replacements done, secret not written
        (POLL, "reset"),  # the first replacement exists, its creation never acknowledged
    ],
)
def test_interrupted_rotation_completes_on_redelivery_without_a_second_key(
    standin: StandIn, method: str, fault: str
) -> None:
    grant(standin, ROTATE)
    run = Run(standin, "rotate_keys", {"secret": SECRET})
    standin.add_fault(method, fault)  # every call, for the whole first delivery

    with pytest.raises(TransientError):
        run.deliver("m-1")
    interrupted = run.record()
    assert interrupted["state"] == "open"
    assert interrupted["actions"]["rotate_keys"]["status"] == "retrying"
    assert all(k["deleteTime"] is None for k in run.api_keys())  # no old key deleted yet
    assert any(line["severity"] == "ERROR" for line in run.logs())

    standin.clear_faults()
    run.deliver("m-1")  # Pub/Sub redelivers the same message

    keys = run.api_keys()
    assert len(keys) == 5, "a second replacement was made"
    assert len(by_name(keys, GEMINI_KEY)) == len(by_name(keys, BACKEND_KEY)) == 2
    assert sum(k["deleteTime"] is not None for k in keys) == 2
    assert len(secret_versions(standin)) == 1
    creates = [call["status"] for call in standin.calls(CREATE)]
    assert creates.count(200) == 2
    if method == POLL:  # the redelivery's create of the same keyId found the first replacement
        assert creates == [200, 409, 200]
    action = run.record()["actions"]["rotate_keys"]
    assert action["status"] == "done" and action["attempts"] == 2
    assert run.deliver("m-2")[0]["duplicate"]
    assert_no_key_string(run)


def test_old_key_deleted_meanwhile_is_not_deleted_twice(standin: StandIn) -> None:
    """A delete that happened but was never recorded (lost answer) is recognised on resume."""
    grant(standin, ROTATE)
    run = Run(standin, "rotate_keys", {"secret": SECRET})
    standin.add_fault(ADD_VERSION, "503")
    with pytest.raises(TransientError):
        run.deliver("m-1")
    standin.clear_faults()
    with standin.world.lock:  # as if an earlier attempt's delete had gone through unrecorded
        (old,) = [
            k
            for k in standin.world.projects[PROJECT].keys
            if k.display_name == BACKEND_KEY and REPLACES not in k.annotations
        ]
        old.delete_time = "2026-11-02T00:00:00Z"

    run.deliver("m-1")

    action = run.record()["actions"]["rotate_keys"]
    assert action["status"] == "done"
    assert len(action["progress"]["deleted"]) == 2
    assert len(run.api_keys()) == 5


def test_match_by_display_names_and_duplicate_names_in_the_secret(standin: StandIn) -> None:
    with standin.world.lock:  # a second key with the Maps key's name
        keys = standin.world.projects[PROJECT].keys
        twin = {
            "uid": "0b8d8f33-1c2a-4c55-9e1f-4a7b2d9e6c10",
            "keyString": "AIzaSyFAKE-standin-twin-maps-key-00001",
            "displayName": MAPS_KEY,
        }
        keys.append(ApiKey.from_seed(twin, "twin"))
    grant(standin, ROTATE)
    run = Run(standin, "rotate_keys", {"match": [MAPS_KEY], "secret": SECRET})

    run.deliver()

    keys = run.api_keys()
    assert [k["deleteTime"] is None for k in by_name(keys, GEMINI_KEY)] == [True]
    assert [k["deleteTime"] is None for k in by_name(keys, BACKEND_KEY)] == [True]
    new = [k for k in by_name(keys, MAPS_KEY) if k["deleteTime"] is None]
    assert len(new) == 2 and len(by_name(keys, MAPS_KEY)) == 4
    (secret,) = secret_versions(standin)
    assert secret == {f"{MAPS_KEY}#{k['uid']}": k["keyString"] for k in new}
    assert_no_key_string(run)


def test_rotation_without_a_secret_says_where_the_new_keys_are(standin: StandIn) -> None:
    grant(standin, ROTATE)
    run = Run(standin, "rotate_keys", {"match": [GEMINI_KEY]})
    run.deliver()
    action = run.record()["actions"]["rotate_keys"]
    assert action["status"] == "done"
    assert "console" in action["detail"]
    assert "secret_version" not in action["progress"]
    assert secret_versions(standin) == []
    assert len(run.api_keys()) == 4


def test_no_matching_key_is_a_noop(standin: StandIn) -> None:
    run = Run(standin, "rotate_keys", {"match": ["no such key"]})
    run.deliver()
    action = run.record()["actions"]["rotate_keys"]
    assert action["status"] == "noop"
    assert action["progress"]["selected"] == []
    assert standin.calls(CREATE) == []


BIGQUERY_AUTH = {
    "displayName": "BigQuery auth key",
    "keyString": "AQ.Ab8RN6FAKE-standin-bigquery-auth-key-000001",
    "serviceAccountEmail": "etl@gemini-prod.iam.gserviceaccount.com",
    "restrictions": {"apiTargets": [{"service": "bigquery.googleapis.com"}]},
}
SELECTION_SEEDS = [
    {"displayName": "unrestricted"},
    {  # a referrer restriction does not stop a server caller: still selected
        "displayName": "browser only",
        "restrictions": {"browserKeyRestrictions": {"allowedReferrers": ["*"]}},
    },
    {  # an auth key bound to a service account, restricted to Vertex AI
        "displayName": "vertex bound",
        "serviceAccountEmail": "app@gemini-prod.iam.gserviceaccount.com",
        "restrictions": {"apiTargets": [{"service": "aiplatform.googleapis.com"}]},
    },
    {
        "displayName": "vision",
        "restrictions": {"apiTargets": [{"service": "vision.googleapis.com"}]},
    },
    {"displayName": "gone", "deleteTime": "2026-10-01T00:00:00Z"},
    BIGQUERY_AUTH,
]


def seed_keys(standin: StandIn, seeds: list[dict[str, Any]]) -> None:
    with standin.world.lock:
        keys = standin.world.projects[PROJECT].keys
        for i, seed in enumerate(seeds):
            keys.append(ApiKey.from_seed({"keyString": f"AIzaSyFAKE-sel-{i:021d}", **seed}, "s"))


def deleted_names(run: Run) -> set[str]:
    return {k["displayName"] for k in run.api_keys() if k["deleteTime"] is not None}


def test_gemini_selection(standin: StandIn) -> None:
    """Unrestricted keys (browser restriction or not) and Gemini API keys are selected; a key
    restricted to other APIs is not, whether or not it is bound to a service account."""
    seed_keys(standin, SELECTION_SEEDS)
    grant(standin, RevokeKeys.permissions)
    run = Run(standin, "revoke_keys")

    run.deliver()

    assert deleted_names(run) == {GEMINI_KEY, BACKEND_KEY, "unrestricted", "browser only", "gone"}
    assert len(run.record()["actions"]["revoke_keys"]["progress"]["deleted"]) == 4
    (line,) = [entry for entry in run.logs() if entry["message"].startswith("selected")]
    reasons = {name.rsplit("/", 1)[1]: why for name, why in line["reasons"].items()}
    by_id = {k["displayName"]: k["keyId"] for k in run.api_keys()}
    assert "no Gemini service" in reasons[by_id["BigQuery auth key"]]
    assert "browserKeyRestrictions" in reasons[by_id["browser only"]]


def test_vertex_keys_are_selected_when_the_policy_names_vertex(standin: StandIn) -> None:
    seed_keys(standin, SELECTION_SEEDS)
    grant(standin, RevokeKeys.permissions)
    run = Run(
        standin,
        "revoke_keys",
        services=["generativelanguage.googleapis.com", "aiplatform.googleapis.com"],
    )

    run.deliver()

    assert "vertex bound" in deleted_names(run)
    assert "BigQuery auth key" not in deleted_names(run)


def test_rotation_leaves_a_bigquery_auth_key_alone(standin: StandIn) -> None:
    seed_keys(standin, [BIGQUERY_AUTH])
    grant(standin, ROTATE)
    run = Run(standin, "rotate_keys", {"secret": SECRET})

    run.deliver()

    (bigquery,) = by_name(run.api_keys(), "BigQuery auth key")  # not replaced, not deleted
    assert bigquery["deleteTime"] is None
    assert run.record()["actions"]["rotate_keys"]["status"] == "done"
    (secret,) = secret_versions(standin)
    assert set(secret) == {GEMINI_KEY, BACKEND_KEY}


def test_revoke_deletes_the_selected_keys_softly_and_makes_none(standin: StandIn) -> None:
    grant(standin, RevokeKeys.permissions)
    run = Run(standin, "revoke_keys")

    run.deliver("m-1")
    run.deliver("m-2")

    keys = run.api_keys()
    assert len(keys) == 3 and standin.calls(CREATE) == []
    assert len(standin.calls(DELETE)) == 2
    action = run.record()["actions"]["revoke_keys"]
    assert action["status"] == "done"
    assert action["progress"]["deleted"] == [
        f"projects/{NUMBER}/locations/global/keys/{k['keyId']}"
        for k in keys
        if k["displayName"] in (GEMINI_KEY, BACKEND_KEY)
    ]
    assert [k["displayName"] for k in keys if k["deleteTime"] is None] == [MAPS_KEY]
    grant(standin, frozenset({"apikeys.keys.undelete"}))
    for name in action["progress"]["deleted"]:  # soft: the operator can undelete
        gcp.rest_call("POST", "apikeys", f"v2/{name}:undelete")
    assert all(k["deleteTime"] is None for k in run.api_keys())
    assert_no_key_string(run)


def test_a_missing_permission_fails_with_the_remedy_and_touches_nothing(standin: StandIn) -> None:
    grant(standin, RotateKeys.permissions - {"apikeys.keys.create"})
    run = Run(standin, "rotate_keys", {"secret": SECRET})

    run.deliver()  # ActionFailed is recorded, not raised

    action = run.record()["actions"]["rotate_keys"]
    assert action["status"] == "failed"
    assert "apikeys.keys.create" in action["detail"]
    (error,) = [line for line in run.logs() if line["severity"] == "ERROR"]
    assert "apikeys.keys.create" in error["remedy"]
    assert all(k["deleteTime"] is None for k in run.api_keys()) and len(run.api_keys()) == 3


def test_rotating_a_bound_key_without_act_as_fails_naming_it_and_deletes_nothing(
    standin: StandIn,
) -> None:
    """Binding the replacement to the old key's service account needs actAs on that account."""
    grant(standin, RotateKeys.permissions)  # no iam.serviceAccounts.actAs
    run = Run(standin, "rotate_keys", {"match": [GEMINI_KEY], "secret": SECRET})

    run.deliver()

    action = run.record()["actions"]["rotate_keys"]
    assert action["status"] == "failed"
    (error,) = [line for line in run.logs() if line["severity"] == "ERROR"]
    assert "iam.serviceAccounts.actAs" in error["message"]
    assert "roles/iam.serviceAccountUser" in error["remedy"]
    assert "gemini-app@gemini-prod.iam.gserviceaccount.com" in error["remedy"]
    assert [c["status"] for c in standin.calls(CREATE)] == [403]
    assert all(k["deleteTime"] is None for k in run.api_keys()) and len(run.api_keys()) == 3
