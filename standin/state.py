"""The in-memory world: projects, keys, services, secrets, operations, Monitoring, one lock.

Handlers run with :attr:`World.lock` held, so each API call sees and leaves a consistent world.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from standin.catalogseed import parse_catalog
from standin.model import Operation, Project, Secret, SeedError
from standin.monitoring.state import MonitoringState
from standin.quotamodel import ProjectQuotas, parse_quotas

__all__ = ["World"]


class World:
    """Everything the stand-in knows: built from a seed dict, exported by :meth:`to_seed`."""

    def __init__(self, seed: dict[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.secrets: dict[str, Secret] = {}
        self.operations: dict[str, Operation] = {}
        self.monitoring = MonitoringState()
        self.catalog: dict[str, Any] = parse_catalog(None)
        self.quotas: dict[str, ProjectQuotas] = {}  # Cloud Quotas, by project ID
        if seed is not None:
            self.replace(seed)

    def replace(self, seed: Any) -> None:
        """Swap in the world described by ``seed``; on :class:`SeedError` nothing changes."""
        if not isinstance(seed, dict):
            raise SeedError("seed: expected an object")
        unknown = set(seed) - {
            "projects",
            "secrets",
            "operations",
            "monitoring",
            "catalog",
            "quotas",
        }
        if unknown:
            raise SeedError(f"seed: unknown top-level fields {sorted(unknown)}")
        projects = {
            pid: Project.from_seed(pid, data) for pid, data in _section(seed, "projects").items()
        }
        secrets = {
            name: Secret.from_seed(name, data) for name, data in _section(seed, "secrets").items()
        }
        operations = {
            name: Operation.from_seed(name, data)
            for name, data in _section(seed, "operations").items()
        }
        monitoring = MonitoringState.from_seed(seed.get("monitoring"))
        catalog = parse_catalog(seed.get("catalog"))
        quotas = parse_quotas(seed.get("quotas"))
        with self.lock:
            self.projects, self.secrets, self.operations = projects, secrets, operations
            self.monitoring, self.catalog = monitoring, catalog
            self.quotas = quotas

    def to_seed(self) -> dict[str, Any]:
        """The whole world in seed format, key strings and secret payloads included."""
        with self.lock:
            return {
                "projects": {pid: p.to_seed() for pid, p in self.projects.items()},
                "secrets": {name: s.to_seed() for name, s in self.secrets.items()},
                "operations": {name: op.to_seed() for name, op in self.operations.items()},
                "monitoring": self.monitoring.to_seed(),
                "catalog": copy.deepcopy(self.catalog),
                "quotas": {pid: q.to_seed() for pid, q in self.quotas.items()},
            }

    def project(self, ref: str) -> Project | None:
        """The project whose ID or number is ``ref``."""
        with self.lock:
            found = self.projects.get(ref)
            if found is None and ref.isdigit():
                found = next((p for p in self.projects.values() if p.number == ref), None)
            return found

    def secret(self, project_ref: str, secret_id: str) -> Secret | None:
        """The secret ``projects/{project_ref}/secrets/{secret_id}`` (the ref may be a number)."""
        with self.lock:
            project = self.project(project_ref)
            refs = [project_ref] if project is None else [project.project_id, project.number]
            for ref in refs:
                found = self.secrets.get(f"projects/{ref}/secrets/{secret_id}")
                if found is not None:
                    return found
            return None

    def resource_container(self, project_id: str) -> str:
        """Monitoring's ``resource_container`` label for a project (id or ``projects/NUMBER``)."""
        with self.lock:
            project = self.projects.get(project_id)
            if self.monitoring.resource_container == "number" and project is not None:
                return f"projects/{project.number}"
            return project_id

    def add_operation(self, operation: Operation) -> Operation:
        with self.lock:
            self.operations[operation.name] = operation
            return operation


def _section(seed: dict[str, Any], name: str) -> dict[str, Any]:
    section = seed.get(name) or {}
    if not isinstance(section, dict):
        raise SeedError(f"{name}: expected an object")
    return section
