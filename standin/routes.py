"""The whole REST surface: every API's routes in one table."""

from __future__ import annotations

from standin.apis import (
    apikeys,
    billing,
    iam,
    quotas,
    resourcemanager,
    secretmanager,
    serviceusage,
)
from standin.routing import Route

__all__ = ["METHOD_IDS", "ROUTES"]

ROUTES: tuple[Route, ...] = (
    *billing.ROUTES,
    *apikeys.ROUTES,
    *serviceusage.ROUTES,
    *secretmanager.ROUTES,
    *resourcemanager.ROUTES,
    *quotas.ROUTES,
    *iam.ROUTES,
)

#: Every API method id, in table order (each once).
METHOD_IDS: tuple[str, ...] = tuple(dict.fromkeys(r.method_id for r in ROUTES))
