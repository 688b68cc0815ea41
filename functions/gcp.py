"""The seam between the guard and Google's APIs: endpoint, credentials, retry, error mapping.

Every client the actions use is built here, on first use, with the REST transport (the same
transport in tests and in production). ``BUDGET_GUARD_GCP_ENDPOINT=http://127.0.0.1:PORT`` points
them all at the local stand-in with anonymous credentials; unset, they use Google's endpoints and
the function's default credentials. Pub/Sub and Firestore follow their own emulator variables.

Transient failures (429, 500, 502, 503, 504, timeouts, dropped connections) are retried with
exponential backoff up to ``RETRY_DEADLINE`` seconds, then raised as TransientError so Pub/Sub
redelivers. Permanent ones become ActionFailed with the remedy an operator needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from functions.errors import ActionFailed, TransientError

__all__ = [
    "ENV_ENDPOINT",
    "authorized_session",
    "call",
    "client",
    "endpoint",
    "is_transient",
    "rest_call",
]

ENV_ENDPOINT = "BUDGET_GUARD_GCP_ENDPOINT"
# Seconds. Per request, and for all the retries of one call together. Tests shorten them.
TIMEOUT = float(os.environ.get("BUDGET_GUARD_TIMEOUT", "20"))
RETRY_DEADLINE = float(os.environ.get("BUDGET_GUARD_RETRY_DEADLINE", "60"))
RETRY_INITIAL = float(os.environ.get("BUDGET_GUARD_RETRY_INITIAL", "0.5"))

T = TypeVar("T")


def endpoint() -> str | None:
    """The stand-in's base URL when set, else None (Google's endpoints)."""
    return os.environ.get(ENV_ENDPOINT) or None


def _credentials() -> Any:
    if endpoint():
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
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
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials)


def rest_url(service: str, path: str) -> str:
    """The URL of ``path`` on ``service`` (e.g. "apikeys"), or on the stand-in."""
    base = endpoint() or f"https://{service}.googleapis.com"
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: throttling, server errors, timeouts, resets."""
    from google.api_core import exceptions as gexc
    import requests

    if isinstance(
        exc,
        (
            gexc.TooManyRequests,
            gexc.InternalServerError,
            gexc.BadGateway,
            gexc.ServiceUnavailable,
            gexc.GatewayTimeout,
            gexc.DeadlineExceeded,
            gexc.Aborted,
        ),
    ):
        return True
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError))


def rest_call(method: str, service: str, path: str, json: Any = None, **params: Any) -> Any:
    """One REST call through the authorized session; HTTP errors raise google.api_core errors."""
    from google.api_core import exceptions as gexc

    response = authorized_session().request(
        method, rest_url(service, path), json=json, params=params or None, timeout=TIMEOUT
    )
    if response.status_code >= 400:
        raise gexc.from_http_response(response)
    return response.json() if response.content else {}


def call(what: str, fn: Callable[[], T], remedies: dict[type[BaseException], str] | None = None) -> T:
    """Run ``fn`` with retries on transient failures; map the rest to the guard's errors.

    ``what`` names the call in errors ("unlink billing on gemini-prod"); ``remedies`` maps
    permanent google.api_core errors to the fix an operator must apply.
    """
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry

    retry = Retry(
        predicate=is_transient, initial=RETRY_INITIAL, maximum=8.0, multiplier=2.0, timeout=RETRY_DEADLINE
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
            if isinstance(exc, kind):
                raise ActionFailed(f"{what}: {_describe(exc)}", remedy) from exc
        if isinstance(exc, gexc.GoogleAPICallError):
            raise ActionFailed(f"{what}: {_describe(exc)}", "see the error above") from exc
        raise


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"[:500]
