"""The Gemini API's acceptance rules, for one request or for N alike ones (the bulk path).

Owns what the stand-in's ``generateContent`` decides and counts; the HTTP route
(``standin/apis/gemini.py``) and the simulation's bulk traffic (``Gemini.admit``) both go through
:meth:`Gemini.admit`, so a simulated minute of N requests is answered exactly as N calls would be.
Checks, in Google's order (error shapes from real answers quoted in public issues):

    key unknown or deleted            400 INVALID_ARGUMENT   ErrorInfo API_KEY_INVALID
    key's apiTargets exclude Gemini   403 PERMISSION_DENIED  ErrorInfo API_KEY_SERVICE_BLOCKED
    Generative Language API disabled  403 PERMISSION_DENIED  ErrorInfo SERVICE_DISABLED
    unknown model                     404 NOT_FOUND
    past a per-minute quota           429 RESOURCE_EXHAUSTED QuotaFailure + RetryInfo
      (per project and model; a project without billing is on the free tier, where a paid-only
      model's limit is 0: that is how "no billing" refuses a paid model)

Client restrictions (referrers, app ids) are not checked: a server-side caller sets those headers
itself (USAGE.md §6). Quotas are counted per simulated minute of the world's clock; a quota can
cut a bulk batch mid-minute (the first ``allowed`` requests pass, the rest get the 429).
Every answer, accepted or refused, is reported to the sinks as a :class:`Usage` record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from standin.clock import Clock
from standin.errors import ApiError, not_found
from standin.gemini_quota import Limit, QuotaBook, limits_for
from standin.model import ApiKey, Project

__all__ = ["SERVICE", "Admission", "Gemini", "Shape", "Sink", "Usage"]

SERVICE = "generativelanguage.googleapis.com"
_METHOD = "google.ai.generativelanguage.v1beta.GenerativeService.GenerateContent"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


@dataclass(frozen=True)
class Shape:
    """What one request asks for: a model and its token counts."""

    model: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Usage:
    """Requests of one shape answered in one minute with one code, from one key."""

    minute: datetime
    project_id: str
    project_number: str
    key_uid: str
    model: str
    code: int
    reason: str
    requests: int
    input_tokens: int
    output_tokens: int
    billed: bool


Sink = Callable[[Usage], None]


@dataclass(frozen=True)
class Admission:
    """The answer to N alike requests: how many passed and the error the others got."""

    requested: int
    accepted: int
    error: ApiError | None = None

    @property
    def refused(self) -> int:
        return self.requested - self.accepted

    @property
    def reason(self) -> str:
        """The refusal's ErrorInfo reason or quota id ("" when none was refused)."""
        if self.error is None:
            return ""
        for detail in self.error.details:
            if detail.get("@type") == _ERROR_INFO:
                return str(detail.get("reason", ""))
            for violation in detail.get("violations", ()):
                return str(violation.get("quotaId", ""))
        return self.error.status


def _info(reason: str, metadata: dict[str, str], message: str) -> list[dict[str, Any]]:
    return [
        {"@type": _ERROR_INFO, "reason": reason, "domain": "googleapis.com", "metadata": metadata},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": message},
    ]  # fmt: skip


def api_key_invalid() -> ApiError:
    message = "API key not valid. Please pass a valid API key."
    details = _info("API_KEY_INVALID", {"service": SERVICE}, message)
    return ApiError(400, "INVALID_ARGUMENT", message, details)


def service_blocked(project: Project) -> ApiError:
    message = f"Requests to this API {SERVICE} method {_METHOD} are blocked."
    metadata = {"consumer": f"projects/{project.number}", "service": SERVICE,
                "apiName": SERVICE, "methodName": _METHOD}  # fmt: skip
    details = _info("API_KEY_SERVICE_BLOCKED", metadata, message)
    return ApiError(403, "PERMISSION_DENIED", message, details)


def service_disabled(project: Project) -> ApiError:
    url = f"https://console.developers.google.com/apis/api/{SERVICE}/overview?project={project.number}"
    message = (
        f"Generative Language API has not been used in project {project.number} before or it is "
        f"disabled. Enable it by visiting {url} then retry. If you enabled this API recently, "
        "wait a few minutes for the action to propagate to our systems and retry."
    )
    metadata = {
        "serviceTitle": "Generative Language API",
        "consumer": f"projects/{project.number}",
        "containerInfo": project.project_id,
        "service": SERVICE,
        "activationUrl": url,
    }
    details = [
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "Google developers console API activation", "url": url}]},
        *_info("SERVICE_DISABLED", metadata, message),
    ]  # fmt: skip
    return ApiError(403, "PERMISSION_DENIED", message, details)


def quota_exceeded(limit: Limit, model: str, value: int) -> ApiError:
    details: list[dict[str, Any]]
    message = (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
    )
    details = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaMetric": limit.metric, "quotaId": limit.quota_id,
                         "quotaDimensions": {"location": "global", "model": model},
                         "quotaValue": str(value)}]},
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "60s"},
    ]  # fmt: skip
    return ApiError(429, "RESOURCE_EXHAUSTED", message, details)


def _default_models() -> Callable[[str], str | None]:
    from functions.prices import load_prices

    return load_prices().resolve


class Gemini:
    """Per-world Gemini state: the clock, quotas, this minute's counters, the sinks."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.quotas = QuotaBook()
        self.sinks: list[Sink] = []
        self._lock = threading.Lock()
        # (project id, model, "requests"|"input_tokens") -> used in the current minute
        self._minute: datetime | None = None
        self._used: dict[tuple[str, str, str], int] = {}
        self._resolve: Callable[[str], str | None] = _default_models()

    def reset(self) -> None:
        """Forget counters and quota overrides (a new world); sinks and clock stay."""
        with self._lock:
            self._minute, self._used = None, {}
        self.quotas.clear()

    def admit(
        self, projects: dict[str, Project], key_string: str, shape: Shape, n: int = 1
    ) -> Admission:
        """Answer ``n`` requests of ``shape`` made with ``key_string`` this minute.

        The caller holds the world's lock (``projects`` is the world's live dict).
        """
        if n < 0 or shape.input_tokens < 0 or shape.output_tokens < 0:
            raise ValueError("requests and token counts must be >= 0")
        found = _find_key(projects, key_string)
        if found is None:
            return Admission(n, 0, api_key_invalid())  # unknown key: no project to count against
        project, key = found
        minute = self._tick()
        error = self._refusal(project, key, shape)
        model = self._resolve(shape.model) or shape.model
        accepted = 0 if error is not None else n
        if error is None:
            accepted, error = self._within_quota(project, model, shape, n)
        self._report(minute, project, key, model, shape, accepted, n - accepted, error)
        return Admission(n, accepted, error)

    def _tick(self) -> datetime:
        now = self.clock.now().replace(second=0, microsecond=0)
        with self._lock:
            if now != self._minute:
                self._minute, self._used = now, {}
        return now

    def _refusal(self, project: Project, key: ApiKey, shape: Shape) -> ApiError | None:
        if key.delete_time:
            return api_key_invalid()
        targets = key.restrictions.get("apiTargets") or []
        if targets and not any(t.get("service") == SERVICE for t in targets):
            return service_blocked(project)
        if project.services.get(SERVICE) != "ENABLED":
            return service_disabled(project)
        if self._resolve(shape.model) is None:
            return not_found(
                f"models/{shape.model} is not found for API version v1beta, or is not supported "
                "for generateContent. Call ListModels to see the list of available models and "
                "their supported methods."
            )
        return None

    def _within_quota(
        self, project: Project, model: str, shape: Shape, n: int
    ) -> tuple[int, ApiError | None]:
        paid = bool(project.billing_account)
        allowed, binding = n, None
        with self._lock:
            for limit in limits_for(paid):
                value = self.quotas.value(project.project_id, limit, model, paid)
                if value < 0:
                    continue
                per_request = 1 if limit.counts == "requests" else shape.input_tokens
                if per_request == 0:
                    continue
                used = self._used.get((project.project_id, model, limit.counts), 0)
                fits = max(0, value - used) // per_request
                if fits < allowed:
                    allowed, binding = fits, (limit, value)
            self._count(project.project_id, model, "requests", allowed)
            self._count(project.project_id, model, "input_tokens", allowed * shape.input_tokens)
        if binding is None:
            return allowed, None
        return allowed, quota_exceeded(binding[0], model, binding[1])

    def _count(self, project_id: str, model: str, what: str, amount: int) -> None:
        key = (project_id, model, what)
        self._used[key] = self._used.get(key, 0) + amount

    def _report(
        self,
        minute: datetime,
        project: Project,
        key: ApiKey,
        model: str,
        shape: Shape,
        accepted: int,
        refused: int,
        error: ApiError | None,
    ) -> None:
        records = []
        if accepted:
            records.append(
                Usage(minute, project.project_id, project.number, key.uid, model, 200, "",
                      accepted, accepted * shape.input_tokens, accepted * shape.output_tokens,
                      bool(project.billing_account))
            )  # fmt: skip
        if refused and error is not None:
            reason = Admission(refused, 0, error).reason
            records.append(
                Usage(minute, project.project_id, project.number, key.uid, model, error.code,
                      reason, refused, 0, 0, False)
            )  # fmt: skip
        for record in records:
            for sink in list(self.sinks):
                sink(record)


def _find_key(projects: dict[str, Project], key_string: str) -> tuple[Project, ApiKey] | None:
    if not key_string:
        return None
    for project in projects.values():
        for key in project.keys:
            if key.key_string == key_string:
                return project, key
    return None
