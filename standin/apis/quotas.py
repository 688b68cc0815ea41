"""Cloud Quotas v1: ``quotaInfos`` list/get and ``quotaPreferences`` create/patch/get/list.

Everything under ``/v1/projects/{p}/locations/global/``. Encoding as google-cloud-quotas 0.6.3
sends and reads it (captured, see ``tests/standin/test_standin_quotas.py``): int64 as strings,
enums as numbers under ``$alt=json;enum-encoding=int``, proto3 zero values omitted both ways
(``preferredValue`` 0 arrives as ``"quotaConfig": {}``), ``ignoreSafetyChecks`` a repeated query
parameter (numbers or names), PATCH bodies without ``name``.

Behaviour (choices where Google's is undocumented are marked *):
  - a preference lowering the value in force is granted at once; one raising it stays pending
    (``grantedValue`` unchanged, ``reconciling: true``) unless the project's seed says
    ``"increases": "granted"`` or a test calls :func:`grant_pending`;
  - a decrease is refused, unless its check is in ``ignoreSafetyChecks``, with 400
    FAILED_PRECONDITION* and an ``ErrorInfo`` whose ``reason`` is ``QUOTA_DECREASE_BELOW_USAGE``
    (new value below current usage) or ``QUOTA_DECREASE_PERCENTAGE_TOO_HIGH`` (a cut of more than
    10 % of the value in force; any cut of an unlimited value);
  - a fixed quota (``is_fixed``) refuses any change: 400 FAILED_PRECONDITION* "Could not change
    quota value because 'is_fixed' is true ...";
  - an unknown quota id: 404 NOT_FOUND "Limit '...' does not exist ...";
  - an existing preference id, or a second preference for the same quota id and dimensions:
    409 ALREADY_EXISTS; a stale ``etag`` on PATCH: 409 ABORTED; an unknown id on PATCH without
    ``allowMissing``, or on GET: 404; ``allowMissing=true`` creates and ignores the mask;
  - ``validateOnly=true`` runs every check and changes nothing;
  - ``quotaInfos`` report the value in force per model (``details.value``; ``{}`` for 0) and are
    paged :data:`INFO_PAGE_SIZE` at a time unless ``pageSize`` says otherwise; preference lists
    accept the filters ``reconciling=true|false`` only*.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

from standin.call import Call
from standin.errors import (
    ApiError,
    aborted,
    already_exists,
    failed_precondition,
    invalid_argument,
    not_found,
)
from standin.generate import new_etag, now_rfc3339
from standin.quotamodel import UNLIMITED, Preference, ProjectQuotas, QuotaInfo
from standin.routing import route
from standin.state import World

__all__ = ["INFO_PAGE_SIZE", "ROUTES", "SAFETY_CHECKS", "effective_quotas", "grant_pending"]

INFO_PAGE_SIZE = 5
PREFERENCE_PAGE_SIZE = 50
#: google.api.cloudquotas.v1.QuotaSafetyCheck
SAFETY_CHECKS = {
    "QUOTA_SAFETY_CHECK_UNSPECIFIED": 0,
    "QUOTA_DECREASE_BELOW_USAGE": 1,
    "QUOTA_DECREASE_PERCENTAGE_TOO_HIGH": 2,
}
_CONTAINER_PROJECT = ("PROJECT", 1)
_DOMAIN = "cloudquotas.googleapis.com"
_PREF_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MASKS = {
    "quotaConfig.preferredValue": "preferred",
    "quota_config.preferred_value": "preferred",
    "quotaConfig": "preferred",
    "quota_config": "preferred",
    "justification": "justification",
    "contactEmail": "contact_email",
    "contact_email": "contact_email",
}
_BASE = "/v1/projects/{project}/locations/global"
_INFOS = _BASE + "/services/{service}/quotaInfos"
_PREFS = _BASE + "/quotaPreferences"


# --- encoding ------------------------------------------------------------------------------------


def _int64(value: int) -> str:
    return str(value)


def _info_json(call: Call, quotas: ProjectQuotas, info: QuotaInfo, number: str) -> dict[str, Any]:
    dims = []
    for model in quotas.models(info.quota_id):
        value = quotas.effective(info.quota_id, model)
        details = {"value": _int64(value)} if value else {}
        dims.append(
            {"dimensions": {"model": model}, "details": details, "applicableLocations": ["global"]}
        )
    if info.default is not None:
        details = {"value": _int64(info.default)} if info.default else {}
        dims.append({"details": details, "applicableLocations": ["global"]})
    out: dict[str, Any] = {
        "name": f"projects/{number}/locations/global/services/{info.service}/quotaInfos/"
        f"{info.quota_id}",
        "quotaId": info.quota_id,
        "metric": info.metric,
        "service": info.service,
        "isPrecise": True,
        "containerType": _CONTAINER_PROJECT[1] if call.int_enums else _CONTAINER_PROJECT[0],
        "dimensions": ["model"],
        "metricDisplayName": info.metric.rsplit("/", 1)[-1],
        "quotaDisplayName": info.quota_id,
        "metricUnit": info.unit,
        "quotaIncreaseEligibility": {"isEligible": not info.is_fixed},
        "dimensionsInfos": dims,
    }
    if info.refresh:
        out["refreshInterval"] = info.refresh
    if info.is_fixed:
        out["isFixed"] = True
    return out


def _pref_json(pref: Preference, number: str) -> dict[str, Any]:
    config: dict[str, Any] = {"grantedValue": _int64(pref.granted_value)}  # a wrapper: always set
    if pref.preferred_value:
        config["preferredValue"] = _int64(pref.preferred_value)
    if pref.state_detail:
        config["stateDetail"] = pref.state_detail
    config["traceId"] = pref.etag.strip('W/"')[:16]
    out: dict[str, Any] = {
        "name": f"projects/{number}/locations/global/quotaPreferences/{pref.pref_id}",
        "dimensions": dict(pref.dimensions),
        "quotaConfig": config,
        "etag": pref.etag,
        "createTime": pref.create_time,
        "updateTime": pref.update_time,
        "service": pref.service,
        "quotaId": pref.quota_id,
    }
    if pref.reconciling:
        out["reconciling"] = True
    if pref.justification:
        out["justification"] = pref.justification
    if pref.contact_email:
        out["contactEmail"] = pref.contact_email
    return out


# --- paging --------------------------------------------------------------------------------------


def _page(call: Call, items: list[Any], default: int) -> tuple[list[Any], str]:
    token = call.query.get("pageToken", "")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("at:"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid_argument(f"Invalid page token: {token!r}") from None
    size = call.integer("pageSize", default) or default
    nxt = start + size
    more = base64.urlsafe_b64encode(f"at:{nxt}".encode()).decode() if nxt < len(items) else ""
    return items[start:nxt], more


# --- quotaInfos ----------------------------------------------------------------------------------


def _quotas(call: Call) -> ProjectQuotas:
    project = call.required_project()
    return call.world.quotas.setdefault(project.project_id, ProjectQuotas())


def _info(call: Call, quotas: ProjectQuotas, service: str, quota_id: str) -> QuotaInfo:
    info = quotas.infos.get(quota_id)
    if info is None or info.service != service:
        raise not_found(
            f"Limit '{quota_id}' does not exist for service '{service}' in "
            f"projects/{call.required_project().number}."
        )
    return info


def list_infos(call: Call) -> dict[str, Any]:
    quotas, number = _quotas(call), call.required_project().number
    service = call.params["service"]
    infos = [i for i in quotas.infos.values() if i.service == service]
    page, token = _page(call, infos, INFO_PAGE_SIZE)
    out: dict[str, Any] = {}
    if page:
        out["quotaInfos"] = [_info_json(call, quotas, info, number) for info in page]
    if token:
        out["nextPageToken"] = token
    return out


def get_info(call: Call) -> dict[str, Any]:
    quotas = _quotas(call)
    info = _info(call, quotas, call.params["service"], call.params["quota"])
    return _info_json(call, quotas, info, call.required_project().number)


# --- quotaPreferences ----------------------------------------------------------------------------


def _ignored(call: Call) -> set[int]:
    out = set()
    for value in call.repeated("ignoreSafetyChecks"):
        if value.isdigit() and int(value) in SAFETY_CHECKS.values():
            out.add(int(value))
        elif value in SAFETY_CHECKS:
            out.add(SAFETY_CHECKS[value])
        else:
            raise invalid_argument(f"Invalid value at 'ignore_safety_checks' ({value!r})")
    return out


def _preferred(body: dict[str, Any]) -> int:
    config = body.get("quotaConfig") or {}
    if not isinstance(config, dict):
        raise invalid_argument("Invalid value at 'quota_preference.quota_config'")
    raw = config.get("preferredValue", 0)  # proto3: absent is 0
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid_argument(
            f"Invalid value at 'quota_config.preferred_value' ({raw!r})"
        ) from None
    if value < UNLIMITED:
        raise invalid_argument("quota_config.preferred_value must be >= -1 (-1 is unlimited)")
    return value


def _safety_error(reason: str, message: str, metadata: dict[str, str]) -> ApiError:
    error = failed_precondition(message)
    error.details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": _DOMAIN,
            "metadata": metadata,
        }
    ]
    return error


def _apply(
    call: Call, quotas: ProjectQuotas, pref: Preference, value: int, ignored: set[int]
) -> None:
    """Check and apply ``value`` as ``pref``'s preferred value (in place)."""
    info = quotas.infos[pref.quota_id]
    model = pref.dimensions.get("model", "")
    if info.is_fixed:
        raise failed_precondition(
            f"Could not change quota value because 'is_fixed' is true for quota "
            f"'{pref.quota_id}' of service '{pref.service}'."
        )
    current = quotas.effective(pref.quota_id, model)
    assert current is not None
    decrease = (current == UNLIMITED and value != UNLIMITED) or 0 <= value < current
    meta = {"quotaId": pref.quota_id, "model": model, "preferredValue": str(value)}
    if decrease and 1 not in ignored:
        usage = quotas.usage.get(pref.quota_id, {}).get(model, 0)
        if usage > value:
            raise _safety_error(
                "QUOTA_DECREASE_BELOW_USAGE",
                f"The requested value {value} for quota '{pref.quota_id}' ({model}) is below "
                f"the current usage {usage}. To proceed, ignore the safety check "
                "QUOTA_DECREASE_BELOW_USAGE.",
                {**meta, "usage": str(usage)},
            )
    if decrease and 2 not in ignored and (current == UNLIMITED or (current - value) * 10 > current):
        raise _safety_error(
            "QUOTA_DECREASE_PERCENTAGE_TOO_HIGH",
            f"The requested value {value} for quota '{pref.quota_id}' ({model}) decreases the "
            f"value in force {current} by more than 10%. To proceed, ignore the safety check "
            "QUOTA_DECREASE_PERCENTAGE_TOO_HIGH.",
            {**meta, "currentValue": str(current)},
        )
    pref.preferred_value = value
    if decrease or value == current or quotas.increases == "granted":
        pref.granted_value, pref.reconciling, pref.state_detail = value, False, ""
    else:
        pref.reconciling = True
        pref.state_detail = (
            f"Quota increase to {value} is pending review; the granted value stays "
            f"{pref.granted_value}."
        )
    pref.etag, pref.update_time = new_etag(), now_rfc3339()


def _new(call: Call, quotas: ProjectQuotas, pref_id: str, body: dict[str, Any]) -> Preference:
    """A preference from a create (or allowMissing patch) body; checks id and uniqueness."""
    if not _PREF_ID.match(pref_id):
        raise invalid_argument(f"Invalid quota_preference_id {pref_id!r}")
    if pref_id in quotas.preferences:
        raise already_exists(f"QuotaPreference '{pref_id}' already exists.")
    service, quota_id = call.body_string("service"), call.body_string("quotaId")
    if not service or not quota_id:
        raise invalid_argument(
            "quota_preference.service and quota_preference.quota_id are required"
        )
    _info(call, quotas, service, quota_id)
    dims = call.body_object("dimensions")
    model = str(dims.get("model", ""))
    if quotas.preference_for(quota_id, model) is not None:
        raise already_exists(
            f"A QuotaPreference for quota '{quota_id}' and dimensions {dims} already exists."
        )
    current = quotas.effective(quota_id, model)
    assert current is not None
    return Preference(
        pref_id=pref_id,
        service=service,
        quota_id=quota_id,
        dimensions={str(k): str(v) for k, v in dims.items()},
        preferred_value=current,
        granted_value=current,
        justification=call.body_string("justification"),
        contact_email=call.body_string("contactEmail"),
    )


def _store(call: Call, quotas: ProjectQuotas, pref: Preference) -> dict[str, Any]:
    if not call.flag("validateOnly"):
        quotas.preferences[pref.pref_id] = pref
    return _pref_json(pref, call.required_project().number)


def create_pref(call: Call) -> dict[str, Any]:
    quotas = _quotas(call)
    pref_id = call.query.get("quotaPreferenceId") or f"bg-{uuid.uuid4().hex[:20]}"
    pref = _new(call, quotas, pref_id, call.body)
    _apply(call, quotas, pref, _preferred(call.body), _ignored(call))
    return _store(call, quotas, pref)


def patch_pref(call: Call) -> dict[str, Any]:
    quotas, pref_id = _quotas(call), call.params["pref"]
    existing = quotas.preferences.get(pref_id)
    ignored = _ignored(call)
    if existing is None:
        if not call.flag("allowMissing"):
            raise not_found(f"QuotaPreference '{pref_id}' not found.")
        pref = _new(call, quotas, pref_id, call.body)
        _apply(call, quotas, pref, _preferred(call.body), ignored)
        return _store(call, quotas, pref)
    etag = call.body_string("etag")
    if etag and etag != existing.etag:
        raise aborted(f"The etag of QuotaPreference '{pref_id}' does not match: re-read it.")
    for key, attr in (("quotaId", "quota_id"), ("service", "service")):
        sent = call.body_string(key)
        if sent and sent != getattr(existing, attr):
            raise invalid_argument(f"quota_preference.{attr} is immutable")
    paths = [p for p in call.query.get("updateMask", "").split(",") if p]
    unknown = [p for p in paths if p not in _MASKS]
    if unknown:
        raise invalid_argument(f"Invalid update_mask paths: {unknown}")
    fields = {_MASKS[p] for p in paths} or {"preferred", "justification", "contact_email"}
    pref = Preference(**{**existing.__dict__})
    if "justification" in fields:
        pref.justification = call.body_string("justification")
    if "contact_email" in fields:
        pref.contact_email = call.body_string("contactEmail")
    if "preferred" in fields:
        _apply(call, quotas, pref, _preferred(call.body), ignored)
    return _store(call, quotas, pref)


def get_pref(call: Call) -> dict[str, Any]:
    pref = _quotas(call).preferences.get(call.params["pref"])
    if pref is None:
        raise not_found(f"QuotaPreference '{call.params['pref']}' not found.")
    return _pref_json(pref, call.required_project().number)


def list_prefs(call: Call) -> dict[str, Any]:
    quotas = _quotas(call)
    prefs = list(quotas.preferences.values())
    wanted = call.query.get("filter", "").replace(" ", "")
    if wanted:
        found = re.fullmatch(r"reconciling=(true|false)", wanted)
        if not found:
            raise invalid_argument(f"Unsupported filter {wanted!r}")
        prefs = [p for p in prefs if p.reconciling == (found.group(1) == "true")]
    page, token = _page(call, prefs, PREFERENCE_PAGE_SIZE)
    out: dict[str, Any] = {}
    if page:
        out["quotaPreferences"] = [_pref_json(p, call.required_project().number) for p in page]
    if token:
        out["nextPageToken"] = token
    return out


# --- test-side API (used by standin.server and the admin endpoints) ------------------------------


def effective_quotas(world: World, project_id: str) -> dict[str, dict[str, int]]:
    """quota id -> model -> value in force (-1 unlimited) for every quota of the project."""
    with world.lock:
        quotas = world.quotas.get(project_id)
        if quotas is None:
            return {}
        out: dict[str, dict[str, int]] = {}
        for qid in quotas.infos:
            out[qid] = {}
            for model in quotas.models(qid):
                value = quotas.effective(qid, model)
                if value is not None:
                    out[qid][model] = value
        return out


def grant_pending(world: World, project_id: str) -> list[str]:
    """Grant every pending increase of the project (as a reviewer would); their ids."""
    with world.lock:
        quotas = world.quotas.get(project_id)
        granted = []
        for pref in quotas.preferences.values() if quotas else ():
            if pref.reconciling:
                pref.granted_value, pref.reconciling, pref.state_detail = (
                    pref.preferred_value,
                    False,
                    "",
                )
                pref.etag, pref.update_time = new_etag(), now_rfc3339()
                granted.append(pref.pref_id)
        return granted


_M = "cloudquotas.projects.locations."
ROUTES = [
    route("GET", _INFOS, _M + "services.quotaInfos.list", list_infos),
    route("GET", _INFOS + "/{quota}", _M + "services.quotaInfos.get", get_info),
    route("POST", _PREFS, _M + "quotaPreferences.create", create_pref),
    route("GET", _PREFS, _M + "quotaPreferences.list", list_prefs),
    route("GET", _PREFS + "/{pref}", _M + "quotaPreferences.get", get_pref),
    route("PATCH", _PREFS + "/{pref}", _M + "quotaPreferences.patch", patch_pref),
]
