"""The seam between the guard and Google's APIs: endpoint, credentials, retry, error mapping.

Every client the actions use is built here, on first use, with the REST transport (the same
transport in tests and in production). ``BUDGET_GUARD_GCP_ENDPOINT=http://127.0.0.1:PORT`` points
them all at the local stand-in with anonymous credentials; unset, they use Google's endpoints and
the function's default credentials. Pub/Sub and Firestore follow their own emulator variables.

Transient failures (429, 500, 502, 503, 504, timeouts, dropped connections, answers cut off
mid-body, credential refreshes that failed: ``_TRANSIENT``) are retried with exponential backoff
up to ``RETRY_DEADLINE`` seconds, then raised as TransientError so Pub/Sub redelivers. Permanent
ones become ActionFailed with the remedy an operator needs. No retry, request or operation poll
outlives the invocation's deadline (``functions.deadline``): each is bounded by the time left, and
a call made once it has passed is a TransientError without a request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from functions import deadline
from functions.errors import ActionFailed, TransientError

__all__ = [
    "ENV_ENDPOINT",
    "authorized_session",
    "call",
    "client",
    "endpoint",
    "google_message",
    "is_transient",
    "reset",
    "rest_call",
    "rest_wait",
    "status",
    "timeout",
    "wait",
]

ENV_ENDPOINT = "BUDGET_GUARD_GCP_ENDPOINT"
# Seconds. Per request, for all the retries of one call together, and for one long-running
# operation to finish (polled from RETRY_INITIAL up to 5 s apart). Tests shorten them.
TIMEOUT = float(os.environ.get("BUDGET_GUARD_TIMEOUT", "20"))
RETRY_DEADLINE = float(os.environ.get("BUDGET_GUARD_RETRY_DEADLINE", "60"))
RETRY_INITIAL = float(os.environ.get("BUDGET_GUARD_RETRY_INITIAL", "0.5"))
OPERATION_TIMEOUT = float(os.environ.get("BUDGET_GUARD_OPERATION_TIMEOUT", "120"))

# google.rpc.Code numbers and names, paired with the google.api_core error raised for each.
_RPC_CODES = {
    1: ("CANCELLED", "Cancelled"), 2: ("UNKNOWN", "Unknown"),
    3: ("INVALID_ARGUMENT", "InvalidArgument"), 4: ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
    5: ("NOT_FOUND", "NotFound"), 6: ("ALREADY_EXISTS", "AlreadyExists"),
    7: ("PERMISSION_DENIED", "PermissionDenied"), 8: ("RESOURCE_EXHAUSTED", "ResourceExhausted"),
    9: ("FAILED_PRECONDITION", "FailedPrecondition"), 10: ("ABORTED", "Aborted"),
    11: ("OUT_OF_RANGE", "OutOfRange"), 12: ("UNIMPLEMENTED", "MethodNotImplemented"),
    13: ("INTERNAL", "InternalServerError"), 14: ("UNAVAILABLE", "ServiceUnavailable"),
    15: ("DATA_LOSS", "DataLoss"), 16: ("UNAUTHENTICATED", "Unauthenticated"),
}  # fmt: skip

T = TypeVar("T")


def reset() -> None:
    """Re-read the environment and forget built clients (tests switch stand-ins with it)."""
    global TIMEOUT, RETRY_DEADLINE, RETRY_INITIAL, OPERATION_TIMEOUT
    TIMEOUT = float(os.environ.get("BUDGET_GUARD_TIMEOUT", "20"))
    RETRY_DEADLINE = float(os.environ.get("BUDGET_GUARD_RETRY_DEADLINE", "60"))
    RETRY_INITIAL = float(os.environ.get("BUDGET_GUARD_RETRY_INITIAL", "0.5"))
    OPERATION_TIMEOUT = float(os.environ.get("BUDGET_GUARD_OPERATION_TIMEOUT", "120"))
    client.cache_clear()
    authorized_session.cache_clear()


def timeout() -> float:
    """One request's timeout: ``TIMEOUT``, but no later than the invocation's deadline."""
    return max(0.5, deadline.bound(TIMEOUT))


def endpoint() -> str | None:
    """The stand-in's base URL when set, else None (Google's endpoints)."""
    return os.environ.get(ENV_ENDPOINT) or None


def _credentials() -> Any:
    if endpoint():
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    return None  # the client finds the function's default credentials


@cache
def client(factory: Callable[..., T]) -> T:
    """One REST client per class, pointed at the stand-in when configured."""
    kwargs: dict[str, Any] = {"transport": "rest"}
    if endpoint():
        kwargs["client_options"] = {"api_endpoint": endpoint()}
        kwargs["credentials"] = _credentials()
    return factory(**kwargs)


@cache
def authorized_session() -> Any:
    """A requests session that signs calls with the function's credentials (or none locally)."""
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials = _credentials()
    if credentials is None:
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]


def rest_url(service: str, path: str) -> str:
    """The URL of ``path`` on ``service`` (e.g. "apikeys"), or on the stand-in."""
    base = endpoint() or f"https://{service}.googleapis.com"
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def _error_body(exc: BaseException) -> dict[str, Any]:
    """The ``error`` object of a REST error's JSON body, or {}."""
    response = getattr(exc, "response", None)
    try:
        body = response.json() if response is not None and hasattr(response, "json") else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def status(exc: BaseException) -> str | None:
    """Google's canonical status of an API error ("FAILED_PRECONDITION", "ALREADY_EXISTS"...).

    Over REST the error class follows the HTTP code only: FAILED_PRECONDITION arrives as a 400
    (BadRequest) and ALREADY_EXISTS and ABORTED both as a 409 (Conflict). The body says which.
    """
    name = _error_body(exc).get("status")
    if isinstance(name, str):
        return name
    from google.api_core import exceptions as gexc

    for name, cls in _RPC_CODES.values():  # an error read from an operation, or over gRPC
        if type(exc) is getattr(gexc, cls):
            return name
    return None


def google_message(exc: BaseException) -> str:
    """Google's own words for an API error, without the method and URL google.api_core adds."""
    message = _error_body(exc).get("message")
    return str(message) if message else str(getattr(exc, "message", None) or exc)


# Failures worth retrying, by module and class name (imported on first use, never at start-up):
# throttling and server errors; timeouts; and every connection-level failure, including a
# credential refresh that could not reach its token endpoint (google.auth TransportError, or
# RefreshError, which the metadata server's credentials raise for it) and an answer cut off
# mid-body (requests ChunkedEncodingError, urllib3 ProtocolError, http.client IncompleteRead).
# A RefreshError that is permanent (a deleted service account) is redelivered until Pub/Sub's
# dead-letter topic, with an ERROR line each delivery: the guard cannot tell it from an outage.
_TRANSIENT = {
    "google.api_core.exceptions": (
        "TooManyRequests", "InternalServerError", "BadGateway", "ServiceUnavailable",
        "GatewayTimeout", "DeadlineExceeded", "Aborted",
    ),
    "google.auth.exceptions": ("TransportError", "RefreshError"),
    "requests.exceptions": (
        "ConnectionError", "Timeout", "ChunkedEncodingError", "ContentDecodingError",
    ),
    "urllib3.exceptions": ("ProtocolError", "TimeoutError"),
    "http.client": ("HTTPException",),
    "builtins": ("ConnectionError", "TimeoutError"),
}  # fmt: skip


@cache
def _transient_classes() -> tuple[type[BaseException], ...]:
    import importlib

    return tuple(
        getattr(importlib.import_module(module), name)
        for module, names in _TRANSIENT.items()
        for name in names
    )


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: throttling, server errors, timeouts, resets (above)."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.Conflict) and status(exc) == "ABORTED":  # a REST 409 ABORTED
        return True
    return isinstance(exc, _transient_classes())


def rest_call(method: str, service: str, path: str, json: Any = None, **params: Any) -> Any:
    """One REST call through the authorized session; HTTP errors raise google.api_core errors."""
    from google.api_core import exceptions as gexc

    response = authorized_session().request(
        method, rest_url(service, path), json=json, params=params or None, timeout=timeout()
    )
    if response.status_code >= 400:
        raise gexc.from_http_response(response)  # type: ignore[no-untyped-call]
    return response.json() if response.content else {}


def rest_wait(service: str, version: str, operation: dict[str, Any]) -> dict[str, Any]:
    """Poll a REST long-running operation until done; its ``response``, or its error raised.

    Each poll is one ``rest_call`` (retried by the caller's ``call``); an operation still
    running after OPERATION_TIMEOUT raises TimeoutError, which ``call`` treats as transient.
    """
    import time

    from google.api_core import exceptions as gexc

    until = time.monotonic() + deadline.bound(OPERATION_TIMEOUT)
    delay = RETRY_INITIAL
    while not operation.get("done"):
        if time.monotonic() + delay > until:
            name = operation.get("name")
            raise TimeoutError(f"operation {name} not done after {OPERATION_TIMEOUT:g} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)
        operation = rest_call("GET", service, f"{version}/{operation['name']}")
    error = operation.get("error")
    if error:
        name, cls = _RPC_CODES.get(int(error.get("code", 2)), _RPC_CODES[2])
        message = f"operation {operation.get('name')} failed: {name}: {error.get('message', '')}"
        raise getattr(gexc, cls)(message, details=error.get("details", ()))
    response: dict[str, Any] = operation.get("response", {})
    return response


def wait(operation: Any) -> Any:
    """The result of a generated client's long-running operation, polled the guard's way.

    Polls from RETRY_INITIAL up to 5 s apart for OPERATION_TIMEOUT seconds (then TimeoutError);
    a failed polling call is raised for the caller's ``call`` to retry.
    """
    from google.api_core.future import polling
    from google.api_core.retry import Retry

    poll = Retry(
        predicate=polling.POLLING_PREDICATE,
        initial=RETRY_INITIAL,
        maximum=5.0,
        multiplier=1.5,
        timeout=deadline.bound(OPERATION_TIMEOUT),
    )
    return operation.result(retry=None, polling=poll)


def call(what: str, fn: Callable[[], T], remedies: Mapping[Any, str] | None = None) -> T:
    """Run ``fn`` with retries on transient failures; map the rest to the guard's errors.

    ``what`` names the call in errors ("unlink billing on gemini-prod"); ``remedies`` maps
    permanent google.api_core errors, by class or by Google's status name (``status``:
    over REST, FAILED_PRECONDITION arrives as a plain BadRequest and PERMISSION_DENIED as a
    Forbidden), to the fix an operator must apply. The first entry that matches wins.
    """
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry

    if deadline.expired():
        raise TransientError(f"{what}: not tried, the invocation's deadline was reached")
    retry = Retry(
        predicate=is_transient,
        initial=RETRY_INITIAL,
        maximum=8.0,
        multiplier=2.0,
        timeout=deadline.bound(RETRY_DEADLINE),
    )
    try:
        return retry(fn)()
    except gexc.RetryError as exc:
        cause = exc.cause or exc
        raise TransientError(f"{what}: still failing after retries: {_describe(cause)}") from exc
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{what}: {_describe(exc)}") from exc
        for kind, remedy in (remedies or {}).items():
            if status(exc) == kind if isinstance(kind, str) else isinstance(exc, kind):
                raise ActionFailed(f"{what}: {_describe(exc)}", remedy) from exc
        if isinstance(exc, gexc.GoogleAPICallError):
            raise ActionFailed(f"{what}: {_describe(exc)}", "see the error above") from exc
        raise


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"[:500]
