"""The Cloud Quotas part of the stand-in world: quota infos, usage and preferences per project.

Seed format, top-level ``"quotas"``, one entry per project ID::

    {"increases": "pending" | "granted",          # what a preference raising a quota gets
     "infos": {"<quota id>": {
         "service": "generativelanguage.googleapis.com", "metric": "<service>/<metric>",
         "unit": "1/min/{project}/{model}", "refresh": "minute" | "day" | "",
         "is_fixed": false, "values": {"<model>": 1000, ...}, "default": null | N}},
     "usage": {"<quota id>": {"<model>": N}},      # current usage (the safety checks read it)
     "preferences": {"<preference id>": Preference}}

A preference is ``{"service", "quotaId", "dimensions", "preferredValue", "grantedValue",
"reconciling", "stateDetail", "etag", "createTime", "updateTime", "justification",
"contactEmail"}`` (values as numbers). The value in force for (quota id, model) — what
``quotaInfos`` report in ``dimensionsInfos[].details.value`` and what a Gemini call is limited
by — is the matching preference's ``grantedValue``, else the info's value for that model, else
its ``default``, else -1 (unlimited). Malformed seeds raise :class:`SeedError`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

from standin.generate import new_etag, now_rfc3339
from standin.model import SeedError

__all__ = ["UNLIMITED", "Preference", "ProjectQuotas", "QuotaInfo", "parse_quotas"]

UNLIMITED = -1


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedError(f"{where}: expected an integer, got {value!r}")
    return value


def _obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected an object")
    return value


@dataclass
class QuotaInfo:
    """One quota of a service: its metric, whether it may change, and its default per model."""

    quota_id: str
    service: str
    metric: str
    unit: str = ""
    refresh: str = ""
    is_fixed: bool = False
    values: dict[str, int] = field(default_factory=dict)
    default: int | None = None

    @classmethod
    def from_seed(cls, quota_id: str, data: Any, where: str) -> QuotaInfo:
        data = _obj(data, where)
        service, metric = data.get("service"), data.get("metric")
        if not isinstance(service, str) or not isinstance(metric, str):
            raise SeedError(f"{where}: service and metric (strings) are required")
        values = {
            m: _int(v, f"{where}.values.{m}") for m, v in _obj(data.get("values"), where).items()
        }
        default = data.get("default")
        return cls(
            quota_id=quota_id,
            service=service,
            metric=metric,
            unit=str(data.get("unit", "")),
            refresh=str(data.get("refresh", "")),
            is_fixed=bool(data.get("is_fixed", False)),
            values=values,
            default=None if default is None else _int(default, f"{where}.default"),
        )

    def to_seed(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "metric": self.metric,
            "unit": self.unit,
            "refresh": self.refresh,
            "is_fixed": self.is_fixed,
            "values": dict(self.values),
            "default": self.default,
        }

    def base_value(self, model: str) -> int:
        """The value without any preference."""
        if model in self.values:
            return self.values[model]
        return UNLIMITED if self.default is None else self.default


@dataclass
class Preference:
    """A QuotaPreference; ``granted_value`` is what is in force."""

    pref_id: str
    service: str
    quota_id: str
    dimensions: dict[str, str]
    preferred_value: int
    granted_value: int
    reconciling: bool = False
    state_detail: str = ""
    etag: str = field(default_factory=new_etag)
    create_time: str = field(default_factory=now_rfc3339)
    update_time: str = field(default_factory=now_rfc3339)
    justification: str = ""
    contact_email: str = ""

    _SEED: ClassVar[dict[str, str]] = {
        "service": "service",
        "quotaId": "quota_id",
        "preferredValue": "preferred_value",
        "grantedValue": "granted_value",
        "reconciling": "reconciling",
        "stateDetail": "state_detail",
        "etag": "etag",
        "createTime": "create_time",
        "updateTime": "update_time",
        "justification": "justification",
        "contactEmail": "contact_email",
    }

    @classmethod
    def from_seed(cls, pref_id: str, data: Any, where: str) -> Preference:
        data = _obj(data, where)
        for name in ("service", "quotaId"):
            if not isinstance(data.get(name), str):
                raise SeedError(f"{where}.{name}: a string is required")
        preferred = _int(data.get("preferredValue", 0), f"{where}.preferredValue")
        kwargs = {attr: data[key] for key, attr in cls._SEED.items() if key in data}
        kwargs["preferred_value"] = preferred
        kwargs["granted_value"] = _int(data.get("grantedValue", preferred), f"{where}.grantedValue")
        dims = _obj(data.get("dimensions"), f"{where}.dimensions")
        return cls(pref_id=pref_id, dimensions={str(k): str(v) for k, v in dims.items()}, **kwargs)

    def to_seed(self) -> dict[str, Any]:
        out = {key: copy.deepcopy(getattr(self, attr)) for key, attr in self._SEED.items()}
        out["dimensions"] = dict(self.dimensions)
        return out

    def matches(self, quota_id: str, model: str) -> bool:
        return self.quota_id == quota_id and self.dimensions.get("model") == model


@dataclass
class ProjectQuotas:
    """One project's quotas: the infos of its services, its usage and its preferences."""

    infos: dict[str, QuotaInfo] = field(default_factory=dict)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    preferences: dict[str, Preference] = field(default_factory=dict)
    increases: str = "pending"

    @classmethod
    def from_seed(cls, project_id: str, data: Any) -> ProjectQuotas:
        where = f"quotas.{project_id}"
        data = _obj(data, where)
        increases = data.get("increases", "pending")
        if increases not in ("pending", "granted"):
            raise SeedError(f"{where}.increases: expected 'pending' or 'granted'")
        infos = {
            qid: QuotaInfo.from_seed(qid, spec, f"{where}.infos.{qid}")
            for qid, spec in _obj(data.get("infos"), f"{where}.infos").items()
        }
        usage = {
            qid: {m: _int(n, f"{where}.usage.{qid}.{m}") for m, n in _obj(per, where).items()}
            for qid, per in _obj(data.get("usage"), f"{where}.usage").items()
        }
        prefs = {
            pid: Preference.from_seed(pid, spec, f"{where}.preferences.{pid}")
            for pid, spec in _obj(data.get("preferences"), f"{where}.preferences").items()
        }
        return cls(infos, usage, prefs, increases)

    def to_seed(self) -> dict[str, Any]:
        return {
            "increases": self.increases,
            "infos": {qid: info.to_seed() for qid, info in self.infos.items()},
            "usage": copy.deepcopy(self.usage),
            "preferences": {pid: p.to_seed() for pid, p in self.preferences.items()},
        }

    def preference_for(self, quota_id: str, model: str) -> Preference | None:
        return next((p for p in self.preferences.values() if p.matches(quota_id, model)), None)

    def effective(self, quota_id: str, model: str) -> int | None:
        """The value in force for (quota id, model); None when the project has no such quota."""
        info = self.infos.get(quota_id)
        if info is None:
            return None
        pref = self.preference_for(quota_id, model)
        return pref.granted_value if pref is not None else info.base_value(model)

    def models(self, quota_id: str) -> list[str]:
        """The models a quota info lists, then those only a preference names."""
        info = self.infos.get(quota_id)
        named = list(info.values) if info else []
        for pref in self.preferences.values():
            model = pref.dimensions.get("model")
            if pref.quota_id == quota_id and model and model not in named:
                named.append(model)
        return named


def parse_quotas(section: Any) -> dict[str, ProjectQuotas]:
    """The ``quotas`` section of a seed."""
    return {
        pid: ProjectQuotas.from_seed(pid, data) for pid, data in _obj(section, "quotas").items()
    }
