"""The whole REST surface: every API's routes in one table."""

from __future__ import annotations

from standin.apis import (
    apikeys,
    billing,
    catalog,
    iam,
    quotas,
    resourcemanager,
    secretmanager,
    serviceusage,
)
from standin.permissions import GRPC_METHOD_IDS
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
    *catalog.ROUTES,
)

#: Every API method id, in table order (each once), then the gRPC ones (Cloud Monitoring).
METHOD_IDS: tuple[str, ...] = tuple(
    dict.fromkeys([r.method_id for r in ROUTES] + [*GRPC_METHOD_IDS])
)
