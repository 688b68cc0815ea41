"""Local stand-in for the Google control-plane REST APIs Budget Guard calls.

Cloud Billing v1 (and its Catalog), API Keys v2, Service Usage v1, Secret Manager v1, Resource
Manager v1/v3 and Cloud Quotas v1, served from an in-memory world over plain HTTP, and Cloud
Monitoring's MetricService over gRPC, with fault injection and a call log for tests.
Not deployed with the function. See ``standin/README.md``.
"""

from __future__ import annotations

from standin.model import SeedError
from standin.permissions import METHOD_PERMISSIONS
from standin.routes import METHOD_IDS
from standin.server import StandIn

__all__ = ["METHOD_IDS", "METHOD_PERMISSIONS", "SeedError", "StandIn"]
