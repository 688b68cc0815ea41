"""The guard's Cloud Quotas calls: read a project's Gemini quotas and set one preference.

Through google-cloud-quotas (REST transport, built by ``functions.gcp``; imported only inside the
functions here, so nothing loads it at cold start). Every call goes through ``gcp.call``: transient
failures are retried then raised as TransientError; permanent ones become ActionFailed with the
remedy (``REMEDIES``). Every write passes both safety checks as ignored: a brake to 0 under load
trips both (USAGE.md §5).

A preference's id is derived from what sets it (``preference_id``), so a retry after a lost answer
finds its own preference. Google keeps one preference per quota id and dimensions: when another
one (an operator's, an earlier crossing's) holds the quota, it is patched instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from functions import gcp
from functions.errors import ActionFailed
from functions.quotas.ids import SERVICE

__all__ = [
    "Info",
    "Preference",
    "infos",
    "preference_id",
    "preferences",
    "set_value",
]


@dataclass(frozen=True)
class Info:
    """One quota of the Gemini API in a project: the value in force per model."""

    quota_id: str
    is_fixed: bool
    values: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Preference:
    """A QuotaPreference as read back: what was asked and what Google grants."""

    name: str
    quota_id: str
    model: str
    preferred: int
    granted: int | None
    reconciling: bool
    state_detail: str = ""

    @property
    def id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def pending(self) -> bool:
        """An increase Google has not granted (yet): the quota stays at ``granted``."""
        return self.reconciling or (self.granted is not None and self.granted < self.preferred)


def preference_id(purpose: str, quota_id: str, model: str) -> str:
    """A stable preference id for (what sets it, quota id, model): ``bg-`` + 24 hex digits."""
    digest = hashlib.sha256(f"{purpose}|{quota_id}|{model}".encode()).hexdigest()
    return f"bg-{digest[:24]}"


def _parent(project: str) -> str:
    return f"projects/{project}/locations/global"


def _client() -> Any:
    from google.cloud import cloudquotas_v1

    return gcp.client(cloudquotas_v1.CloudQuotasClient)


def _remedies(project: str, verb: str) -> dict[Any, str]:
    from google.api_core import exceptions as gexc

    return {
        gexc.Forbidden: (
            f"grant the guard cloudquotas.quotas.{verb} on projects/{project} (the infra module's "
            "custom role)"
        ),
        gexc.NotFound: (
            f"the quota does not exist in {project} (its usage tier changed?): list them with "
            f"`gcloud beta quotas info list --service={SERVICE} --project={project}` and set the "
            "policy's throttle.tier"
        ),
        "FAILED_PRECONDITION": (
            "Google refuses to change this quota (a fixed quota cannot be lowered); leave it out "
            "of the policy, or rely on the next brake"
        ),
    }


def infos(project: str) -> dict[str, Info]:
    """Every Gemini quota of ``project`` (quotaInfos.list, all pages), by quota id."""
    client = _client()

    def read() -> list[Any]:
        return list(
            client.list_quota_infos(
                parent=f"{_parent(project)}/services/{SERVICE}", retry=None, timeout=gcp.timeout()
            )
        )

    found = gcp.call(f"list the Gemini quotas of {project}", read, _remedies(project, "get"))
    out = {}
    for info in found:
        values = {
            str(d.dimensions.get("model")): int(d.details.value)
            for d in info.dimensions_infos
            if d.dimensions.get("model")
        }
        out[info.quota_id] = Info(info.quota_id, bool(info.is_fixed), values)
    return out


def _preference(pref: Any) -> Preference:
    config = pref.quota_config
    granted = config.granted_value if "granted_value" in config else None
    return Preference(
        name=pref.name,
        quota_id=pref.quota_id,
        model=str(pref.dimensions.get("model", "")),
        preferred=int(config.preferred_value),
        granted=None if granted is None else int(granted),
        reconciling=bool(pref.reconciling),
        state_detail=str(config.state_detail),
    )


def preferences(project: str) -> list[Preference]:
    """Every Gemini quota preference of ``project`` (all pages)."""
    client = _client()

    def read() -> list[Any]:
        return list(
            client.list_quota_preferences(
                parent=_parent(project), retry=None, timeout=gcp.timeout()
            )
        )

    found = gcp.call(f"list the quota preferences of {project}", read, _remedies(project, "get"))
    return [_preference(p) for p in found if p.service == SERVICE]


def find(project: str, quota_id: str, model: str, own_id: str) -> Preference | None:
    """The preference holding (quota id, model): our own id first, else any other."""
    held = [p for p in preferences(project) if p.quota_id == quota_id and p.model == model]
    return next((p for p in held if p.id == own_id), held[0] if held else None)


def set_value(
    project: str, own_id: str, quota_id: str, model: str, value: int, existing: Preference | None
) -> Preference:
    """Set (quota id, model) to ``value``: patch ``existing``, else create ``own_id``.

    A create that finds the preference already there (ALREADY_EXISTS: our own, after a lost
    answer, or another one for the same quota and model) reads it and patches it.
    """
    from google.api_core import exceptions as gexc
    from google.cloud import cloudquotas_v1 as cq
    from google.protobuf import field_mask_pb2

    client = _client()
    checks = [
        cq.QuotaSafetyCheck.QUOTA_DECREASE_BELOW_USAGE,
        cq.QuotaSafetyCheck.QUOTA_DECREASE_PERCENTAGE_TOO_HIGH,
    ]
    what = f"set {quota_id} for {model} in {project} to {value}"
    remedies = _remedies(project, "update")
    body = cq.QuotaPreference(
        service=SERVICE,
        quota_id=quota_id,
        dimensions={"model": model},
        quota_config=cq.QuotaConfig(preferred_value=value),
    )

    def patch(name: str) -> Preference:
        body.name = name
        request = cq.UpdateQuotaPreferenceRequest(
            quota_preference=body,
            update_mask=field_mask_pb2.FieldMask(paths=["quota_config.preferred_value"]),
            ignore_safety_checks=checks,
        )
        return _preference(
            gcp.call(
                what,
                lambda: client.update_quota_preference(
                    request=request, retry=None, timeout=gcp.timeout()
                ),
                remedies,
            )
        )

    if existing is not None:
        return patch(existing.name)
    request = cq.CreateQuotaPreferenceRequest(
        parent=_parent(project),
        quota_preference_id=own_id,
        quota_preference=body,
        ignore_safety_checks=checks,
    )

    def create() -> Any:
        try:
            return client.create_quota_preference(
                request=request, retry=None, timeout=gcp.timeout()
            )
        except gexc.Conflict as exc:
            if gcp.status(exc) != "ALREADY_EXISTS":
                raise
            return None

    made = gcp.call(what, create, remedies)
    if made is not None:
        return _preference(made)
    holder = find(project, quota_id, model, own_id)
    if holder is None:
        raise ActionFailed(
            f"{what}: Google answered ALREADY_EXISTS but lists no preference for it",
            "run the command again in a minute",
        )
    return patch(holder.name)
