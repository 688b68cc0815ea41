"""Google-style API errors: the exception handlers raise and the JSON body it answers with."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "STATUS_FOR_CODE",
    "ApiError",
    "aborted",
    "already_exists",
    "failed_precondition",
    "invalid_argument",
    "json_payload",
    "not_found",
    "permission_denied",
]

#: The canonical status Google pairs with each HTTP code it answers with.
STATUS_FOR_CODE: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An error answer: HTTP ``code``, canonical ``status`` and a human ``message``."""

    def __init__(
        self, code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """The JSON body Google sends: ``{"error": {"code", "message", "status"[, "details"]}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def json_payload(raw: bytes) -> Any:
    """An admin request's JSON body (empty: None); 400 INVALID_ARGUMENT when it is not JSON."""
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise invalid_argument("Invalid JSON payload received.") from None


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, "FAILED_PRECONDITION", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def already_exists(message: str) -> ApiError:
    return ApiError(409, "ALREADY_EXISTS", message)


def aborted(message: str) -> ApiError:
    return ApiError(409, "ABORTED", message)


def permission_denied(
    permission: str | None, resource: str, *, may_not_exist: bool = False
) -> ApiError:
    """403 naming the missing IAM permission, with the ``ErrorInfo`` detail Google attaches."""
    if permission is None:
        return ApiError(403, "PERMISSION_DENIED", "The caller does not have permission")
    suffix = " (or it may not exist)" if may_not_exist else ""
    message = f"Permission '{permission}' denied on resource '{resource}'{suffix}."
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "iam.googleapis.com",
        "metadata": {"permission": permission, "resource": resource},
    }
    return ApiError(403, "PERMISSION_DENIED", message, [info])
