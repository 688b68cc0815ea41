"""Cloud Quotas v1 in the stand-in, through the real google-cloud-quotas 0.6.3 REST client.

Each request the client sends is recorded off its HTTP session (a ``requests`` response hook), so
the wire shapes asserted here are the library's own: the query string, the body, the encoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import cloudquotas_v1 as cq
from google.protobuf import field_mask_pb2

from standin import StandIn

PARENT = "projects/gemini-prod/locations/global"
SERVICE = "generativelanguage.googleapis.com"
RPM = "GenerateRequestsPerMinutePerProjectPerModel"
PRO, FLASH = "gemini-2.5-pro", "gemini-2.5-flash"
BOTH = [
    cq.QuotaSafetyCheck.QUOTA_DECREASE_BELOW_USAGE,
    cq.QuotaSafetyCheck.QUOTA_DECREASE_PERCENTAGE_TOO_HIGH,
]


class Wire:
    """The requests a client sent, as (method, path, query pairs, JSON body)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list[tuple[str, str]], Any]] = []

    def hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        request = response.request
        parts = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        self.sent.append((request.method, parts.path, parse_qsl(parts.query), body))

    @property
    def last(self) -> tuple[str, str, list[tuple[str, str]], Any]:
        return self.sent[-1]


@pytest.fixture
def client(standin: StandIn) -> Iterator[tuple[cq.CloudQuotasClient, Wire]]:
    quotas = cq.CloudQuotasClient(
        transport="rest",
        client_options={"api_endpoint": standin.url},
        credentials=AnonymousCredentials(),
    )
    wire = Wire()
    quotas._transport._session.hooks["response"].append(wire.hook)  # type: ignore[attr-defined]
    yield quotas, wire


def _pref(model: str, value: int, quota: str = RPM) -> cq.QuotaPreference:
    return cq.QuotaPreference(
        service=SERVICE,
        quota_id=quota,
        dimensions={"model": model},
        quota_config=cq.QuotaConfig(preferred_value=value),
    )


def _create(c: cq.CloudQuotasClient, pid: str, model: str, value: int, ignore: Any = BOTH) -> Any:
    return c.create_quota_preference(
        request=cq.CreateQuotaPreferenceRequest(
            parent=PARENT,
            quota_preference_id=pid,
            quota_preference=_pref(model, value),
            ignore_safety_checks=ignore,
        )
    )


def test_list_infos_pages_and_reports_values_per_model(client: Any) -> None:
    c, wire = client
    infos = list(c.list_quota_infos(parent=f"{PARENT}/services/{SERVICE}"))
    assert len(wire.sent) == 1  # 3 quota ids fit one page of 5
    ids = {i.quota_id for i in infos}
    assert ids == {
        RPM,
        "GenerateRequestsPerDayPerProjectPerModel",
        "GenerateContentPaidTierInputTokensPerModelPerMinute",
    }
    rpm = next(i for i in infos if i.quota_id == RPM)
    values = {d.dimensions["model"]: d.details.value for d in rpm.dimensions_infos}
    assert values[PRO] == 150 and values[FLASH] == 1000
    assert rpm.container_type == cq.QuotaInfo.ContainerType.PROJECT
    method, path, query, body = wire.sent[0]
    assert (method, path, body) == ("GET", f"/v1/{PARENT}/services/{SERVICE}/quotaInfos", None)
    assert ("$alt", "json;enum-encoding=int") in query


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    from standin.apis import quotas

    monkeypatch.setattr(quotas, "INFO_PAGE_SIZE", 2)


def test_list_infos_follows_next_page_token(client: Any, small_pages: None) -> None:
    c, wire = client
    infos = list(c.list_quota_infos(parent=f"{PARENT}/services/{SERVICE}"))
    assert len(infos) == 3
    assert len(wire.sent) == 2
    assert dict(wire.sent[1][2])["pageToken"]


def test_create_wire_shape_and_an_immediate_decrease(client: Any, standin: StandIn) -> None:
    c, wire = client
    made = _create(c, "bg-test-1", PRO, 0)
    method, path, query, body = wire.last
    assert (method, path) == ("POST", f"/v1/{PARENT}/quotaPreferences")
    assert query == [
        ("quotaPreferenceId", "bg-test-1"),
        ("ignoreSafetyChecks", "1"),
        ("ignoreSafetyChecks", "2"),
        ("$alt", "json;enum-encoding=int"),
    ]
    # preferredValue 0 is a proto3 zero value: omitted, so quotaConfig is empty.
    assert body == {
        "dimensions": {"model": PRO},
        "quotaConfig": {},
        "service": SERVICE,
        "quotaId": RPM,
    }
    assert made.quota_config.granted_value == 0 and not made.reconciling
    assert made.name == "projects/123456789012/locations/global/quotaPreferences/bg-test-1"
    assert standin.quota("gemini-prod", RPM, PRO) == 0
    info = c.get_quota_info(name=f"{PARENT}/services/{SERVICE}/quotaInfos/{RPM}")
    shown = {d.dimensions["model"]: d.details.value for d in info.dimensions_infos}
    assert shown[PRO] == 0 and shown[FLASH] == 1000


def test_safety_checks_refuse_unless_ignored(client: Any, standin: StandIn) -> None:
    c, _ = client
    # FLASH has usage 120 in the seed: 100 is below it, and a cut of 90 %.
    with pytest.raises(exceptions.BadRequest) as below:
        _create(c, "bg-a", FLASH, 100, ignore=[BOTH[1]])
    assert below.value.reason == "QUOTA_DECREASE_BELOW_USAGE"
    with pytest.raises(exceptions.BadRequest) as cut:
        _create(c, "bg-a", FLASH, 500, ignore=[BOTH[0]])
    assert cut.value.reason == "QUOTA_DECREASE_PERCENTAGE_TOO_HIGH"
    _create(c, "bg-a", FLASH, 950, ignore=[])  # 5 % and above usage: allowed
    assert standin.quota("gemini-prod", RPM, FLASH) == 950


def test_patch_wire_shape_increase_pending_until_granted(client: Any, standin: StandIn) -> None:
    c, wire = client
    _create(c, "bg-b", PRO, 1)
    pref = cq.QuotaPreference(
        name=f"{PARENT}/quotaPreferences/bg-b",
        service=SERVICE,
        quota_id=RPM,
        dimensions={"model": PRO},
        quota_config=cq.QuotaConfig(preferred_value=150),
    )
    raised = c.update_quota_preference(
        request=cq.UpdateQuotaPreferenceRequest(
            quota_preference=pref,
            update_mask=field_mask_pb2.FieldMask(paths=["quota_config.preferred_value"]),
            ignore_safety_checks=BOTH,
        )
    )
    method, path, query, body = wire.last
    assert (method, path) == ("PATCH", f"/v1/{PARENT}/quotaPreferences/bg-b")
    assert query == [
        ("updateMask", "quotaConfig.preferredValue"),
        ("ignoreSafetyChecks", "1"),
        ("ignoreSafetyChecks", "2"),
        ("$alt", "json;enum-encoding=int"),
    ]
    assert "name" not in body and body["quotaConfig"] == {"preferredValue": "150"}
    assert raised.reconciling and raised.quota_config.granted_value == 1
    assert raised.quota_config.preferred_value == 150
    assert standin.quota("gemini-prod", RPM, PRO) == 1
    assert standin.grant_quota_increases("gemini-prod") == ["bg-b"]
    got = c.get_quota_preference(name=f"{PARENT}/quotaPreferences/bg-b")
    assert got.quota_config.granted_value == 150 and not got.reconciling


def test_allow_missing_creates_and_validate_only_changes_nothing(
    client: Any, standin: StandIn
) -> None:
    c, wire = client
    pref = _pref(PRO, 3)
    pref.name = f"{PARENT}/quotaPreferences/bg-c"
    c.update_quota_preference(
        request=cq.UpdateQuotaPreferenceRequest(
            quota_preference=pref, allow_missing=True, validate_only=True, ignore_safety_checks=BOTH
        )
    )
    assert ("validateOnly", "true") in wire.last[2] and ("allowMissing", "true") in wire.last[2]
    assert standin.quota("gemini-prod", RPM, PRO) == 150
    c.update_quota_preference(
        request=cq.UpdateQuotaPreferenceRequest(
            quota_preference=pref, allow_missing=True, ignore_safety_checks=BOTH
        )
    )
    assert standin.quota("gemini-prod", RPM, PRO) == 3
    listed = list(c.list_quota_preferences(parent=PARENT))
    assert [p.name.rsplit("/", 1)[1] for p in listed] == ["bg-c"]


def test_refusals_duplicates_etag_fixed_unknown(client: Any, standin: StandIn) -> None:
    c, _ = client
    _create(c, "bg-d", PRO, 5)
    with pytest.raises(exceptions.Conflict) as dup:
        _create(c, "bg-d", PRO, 5)
    assert dup.value.response.json()["error"]["status"] == "ALREADY_EXISTS"
    with pytest.raises(exceptions.Conflict):  # another id, same quota and model
        _create(c, "bg-e", PRO, 4)
    stale = _pref(PRO, 2)
    stale.name, stale.etag = f"{PARENT}/quotaPreferences/bg-d", 'W/"stale"'
    with pytest.raises(exceptions.Conflict) as aborted:
        c.update_quota_preference(quota_preference=stale)
    assert aborted.value.response.json()["error"]["status"] == "ABORTED"
    with pytest.raises(exceptions.NotFound, match="does not exist"):
        c.create_quota_preference(
            parent=PARENT,
            quota_preference=_pref(PRO, 1, quota="NoSuchQuota"),
            quota_preference_id="bg-f",
        )
    with standin.world.lock:
        standin.world.quotas["gemini-prod"].infos[RPM].is_fixed = True
    with pytest.raises(exceptions.BadRequest, match="is_fixed"):
        _create(c, "bg-g", FLASH, 999)
    with pytest.raises(exceptions.NotFound):
        c.get_quota_preference(name=f"{PARENT}/quotaPreferences/bg-none")


def test_admin_reads_effective_quota_and_faults_apply(client: Any, standin: StandIn) -> None:
    import urllib.request

    c, _ = client
    _create(c, "bg-h", PRO, 7)
    with urllib.request.urlopen(
        f"{standin.url}/_standin/quotas?project=gemini-prod&model={PRO}"
    ) as r:
        doc = json.load(r)
    assert doc["quotas"][RPM] == {PRO: 7}
    assert standin.quotas("gemini-prod")["GenerateRequestsPerDayPerProjectPerModel"][PRO] == 10000
    standin.add_fault("cloudquotas.projects.locations.quotaPreferences.get", "503", times=1)
    with pytest.raises(exceptions.ServiceUnavailable):
        c.get_quota_preference(name=f"{PARENT}/quotaPreferences/bg-h", retry=None)
    assert standin.calls("cloudquotas.projects.locations.quotaPreferences.get")[0]["status"] == 503
