"""The records of the stand-in world and their seed-format (JSON) form.

Seed format, one project::

    {"number": "123456789012", "billing_account": "billingAccounts/..." or "",
     "billing_locked": false, "services": {"svc": "ENABLED"|"DISABLED"},
     "disable_blocked": {"svc": "reason"}, "keys": [Key, ...],
     "granted_permissions": null | ["perm", ...]}

A key is its API Keys JSON (``uid``, ``displayName``, ``keyString``, ``restrictions``,
``annotations``, ``serviceAccountEmail``, ``createTime``, ``updateTime``, ``deleteTime``,
``etag``) plus an optional ``keyId`` (last part of the resource name; defaults to ``uid``).
A secret is ``{"createTime", "versions": [{"version", "data" (base64), "createTime", "state"}]}``.
Malformed seeds raise :class:`SeedError` naming the offending field.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from standin.generate import new_etag, new_uid, now_rfc3339

__all__ = ["ApiKey", "Operation", "Project", "Secret", "SecretVersion", "SeedError"]


class SeedError(ValueError):
    """A seed (or ``PUT /_standin/state`` body) that does not follow the seed format."""


def _field(
    data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any, where: str
) -> Any:
    value = data.get(name)
    if value is None:
        return copy.deepcopy(default)
    if not isinstance(value, kind):
        raise SeedError(
            f"{where}.{name}: expected {getattr(kind, '__name__', kind)}, got {value!r}"
        )
    return copy.deepcopy(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected an object")
    return value


@dataclass
class ApiKey:
    """An API Keys v2 ``Key``; ``key_id`` is the last segment of its resource name."""

    key_id: str
    uid: str
    key_string: str
    display_name: str = ""
    restrictions: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    service_account_email: str = ""
    create_time: str = field(default_factory=now_rfc3339)
    update_time: str = ""
    delete_time: str | None = None
    etag: str = field(default_factory=new_etag)

    @classmethod
    def from_seed(cls, data: Any, where: str) -> ApiKey:
        data = _mapping(data, where)
        uid = _field(data, "uid", str, new_uid(), where)
        key_string = _field(data, "keyString", str, "", where)
        if not key_string:
            raise SeedError(f"{where}.keyString: required")
        create_time = _field(data, "createTime", str, now_rfc3339(), where)
        return cls(
            key_id=_field(data, "keyId", str, uid, where),
            uid=uid,
            key_string=key_string,
            display_name=_field(data, "displayName", str, "", where),
            restrictions=_field(data, "restrictions", dict, {}, where),
            annotations=_field(data, "annotations", dict, {}, where),
            service_account_email=_field(data, "serviceAccountEmail", str, "", where),
            create_time=create_time,
            update_time=_field(data, "updateTime", str, create_time, where),
            delete_time=_field(data, "deleteTime", str, None, where),
            etag=_field(data, "etag", str, new_etag(), where),
        )

    def to_seed(self) -> dict[str, Any]:
        seed = {"keyId": self.key_id, **self.resource(None), "keyString": self.key_string}
        seed.pop("name")
        seed["deleteTime"] = self.delete_time
        return seed

    def resource(self, project_number: str | None) -> dict[str, Any]:
        """The ``Key`` JSON as the API returns it (never the key string)."""
        out: dict[str, Any] = {
            "name": f"projects/{project_number}/locations/global/keys/{self.key_id}",
            "uid": self.uid,
            "displayName": self.display_name,
            "createTime": self.create_time,
            "updateTime": self.update_time or self.create_time,
            "etag": self.etag,
        }
        if self.delete_time:
            out["deleteTime"] = self.delete_time
        if self.annotations:
            out["annotations"] = copy.deepcopy(self.annotations)
        if self.restrictions:
            out["restrictions"] = copy.deepcopy(self.restrictions)
        if self.service_account_email:
            out["serviceAccountEmail"] = self.service_account_email
        return out


@dataclass
class Project:
    """A project as the guard sees it: billing link, services, keys and the caller's rights."""

    project_id: str
    number: str
    billing_account: str = ""
    billing_locked: bool = False
    services: dict[str, str] = field(default_factory=dict)
    disable_blocked: dict[str, str] = field(default_factory=dict)
    keys: list[ApiKey] = field(default_factory=list)
    granted_permissions: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, project_id: str, data: Any) -> Project:
        where = f"projects.{project_id}"
        data = _mapping(data, where)
        number = _field(data, "number", str, "", where)
        if not number.isdigit():
            raise SeedError(f"{where}.number: expected a string of digits, got {number!r}")
        services = _field(data, "services", dict, {}, where)
        for name, state in services.items():
            if state not in ("ENABLED", "DISABLED"):
                raise SeedError(f"{where}.services.{name}: expected ENABLED or DISABLED")
        keys = _field(data, "keys", list, [], where)
        granted = _field(data, "granted_permissions", list, None, where)
        return cls(
            project_id=project_id,
            number=number,
            billing_account=_field(data, "billing_account", str, "", where),
            billing_locked=_field(data, "billing_locked", bool, False, where),
            services=services,
            disable_blocked=_field(data, "disable_blocked", dict, {}, where),
            keys=[ApiKey.from_seed(k, f"{where}.keys[{i}]") for i, k in enumerate(keys)],
            granted_permissions=granted,
            labels=_field(data, "labels", dict, {}, where),
        )

    def to_seed(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "billing_account": self.billing_account,
            "billing_locked": self.billing_locked,
            "services": dict(self.services),
            "disable_blocked": dict(self.disable_blocked),
            "keys": [key.to_seed() for key in self.keys],
            "granted_permissions": (
                None if self.granted_permissions is None else list(self.granted_permissions)
            ),
            **({"labels": dict(self.labels)} if self.labels else {}),
        }

    def key(self, key_id: str) -> ApiKey | None:
        return next((key for key in self.keys if key.key_id == key_id), None)


@dataclass
class SecretVersion:
    """One version of a secret; ``data`` is the payload, base64 as on the wire."""

    version: int
    data: str
    create_time: str = field(default_factory=now_rfc3339)
    state: str = "ENABLED"

    def to_seed(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "data": self.data,
            "createTime": self.create_time,
            "state": self.state,
        }


@dataclass
class Secret:
    """A Secret Manager secret, keyed by ``projects/{project}/secrets/{id}``."""

    name: str
    create_time: str = field(default_factory=now_rfc3339)
    versions: list[SecretVersion] = field(default_factory=list)

    @classmethod
    def from_seed(cls, name: str, data: Any) -> Secret:
        where = f"secrets.{name}"
        data = _mapping(data, where)
        versions = []
        for i, item in enumerate(_field(data, "versions", list, [], where)):
            vwhere = f"{where}.versions[{i}]"
            item = _mapping(item, vwhere)
            versions.append(
                SecretVersion(
                    version=_field(item, "version", int, i + 1, vwhere),
                    data=_field(item, "data", str, "", vwhere),
                    create_time=_field(item, "createTime", str, now_rfc3339(), vwhere),
                    state=_field(item, "state", str, "ENABLED", vwhere),
                )
            )
        return cls(
            name=name,
            create_time=_field(data, "createTime", str, now_rfc3339(), where),
            versions=versions,
        )

    def to_seed(self) -> dict[str, Any]:
        return {"createTime": self.create_time, "versions": [v.to_seed() for v in self.versions]}


@dataclass
class Operation:
    """A long-running operation; it reports ``done`` from its first poll on."""

    name: str
    api: str  # "apikeys" or "serviceusage": which /vN/operations/ path serves it
    project_id: str
    done: bool = False
    response: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    @classmethod
    def from_seed(cls, name: str, data: Any) -> Operation:
        where = f"operations.{name}"
        data = _mapping(data, where)
        return cls(
            name=name,
            api=_field(data, "api", str, "", where),
            project_id=_field(data, "project", str, "", where),
            done=_field(data, "done", bool, False, where),
            response=_field(data, "response", dict, None, where),
            metadata=_field(data, "metadata", dict, None, where),
        )

    def to_seed(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "project": self.project_id,
            "done": self.done,
            "response": copy.deepcopy(self.response),
            "metadata": copy.deepcopy(self.metadata),
        }

    def resource(self) -> dict[str, Any]:
        """The ``Operation`` JSON; the response only once done."""
        out: dict[str, Any] = {"name": self.name}
        if self.metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        out["done"] = self.done
        if self.done and self.response is not None:
            out["response"] = copy.deepcopy(self.response)
        return out
