"""``operations.get`` for the APIs whose methods are long-running (API Keys, Service Usage).

An operation answers ``done: true`` from its first poll on. An operation of the other API, or an
unknown name, answers 404.
"""

from __future__ import annotations

from typing import Any

from standin.call import Call
from standin.errors import not_found
from standin.generate import new_operation_name
from standin.model import Operation, Project
from standin.routing import Route, route
from standin.state import World

__all__ = ["operation_route", "start_operation"]


def start_operation(
    call: Call,
    api: str,
    prefix: str,
    project: Project,
    response: dict[str, Any],
    *,
    done: bool,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a new operation of ``api`` and answer its JSON."""
    operation = Operation(
        name=new_operation_name(prefix, project.number),
        api=api,
        project_id=project.project_id,
        done=done,
        response=response,
        metadata=metadata,
    )
    return call.world.add_operation(operation).resource()


def _find(world: World, api: str, params: dict[str, str]) -> Operation | None:
    operation = world.operations.get(f"operations/{params['operation']}")
    return operation if operation is not None and operation.api == api else None


def operation_route(api: str, version: str, method_id: str) -> Route:
    """The ``GET /{version}/operations/{operation}`` route for ``api``."""

    def get_operation(call: Call) -> dict[str, Any]:
        operation = _find(call.world, api, call.params)
        if operation is None:
            raise not_found(f"Operation 'operations/{call.params['operation']}' not found.")
        operation.done = True
        return operation.resource()

    def locate(world: World, params: dict[str, str]) -> str | None:
        operation = _find(world, api, params)
        return None if operation is None else operation.project_id

    return route(
        "GET",
        f"/{version}/operations/{{operation}}",
        method_id,
        get_operation,
        resource="operations/{operation}",
        project_required=False,
        locate=locate,
    )
