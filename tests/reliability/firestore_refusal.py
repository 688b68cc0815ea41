"""A Firestore that refuses for good: a gRPC server answering every Firestore RPC with one status.

The Firestore emulator creates any database on first use and has no Datastore mode and no IAM, so
it cannot show the guard a misconfigured ledger. This server can: point ``FIRESTORE_EMULATOR_HOST``
at ``host`` and every call of the real client (Commit, BatchGetDocuments, RunQuery...) fails with
the status and message Google sends for that misconfiguration (``refusals``), as Google sends it.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc

__all__ = ["FirestoreRefusal", "refusals"]

_STREAMING = {"BatchGetDocuments", "RunQuery", "RunAggregationQuery", "Listen", "Write"}


def refusals(project: str, database: str) -> dict[str, tuple[grpc.StatusCode, str]]:
    """Google's answers to the ledger's calls, by misconfiguration."""
    return {
        "database-missing": (
            grpc.StatusCode.NOT_FOUND,
            f"The database {database} does not exist for project {project} Please visit "
            f"https://console.cloud.google.com/datastore/setup?project={project} to add a Cloud "
            "Datastore or Cloud Firestore database.",
        ),
        "datastore-mode": (
            grpc.StatusCode.FAILED_PRECONDITION,
            "The Cloud Firestore API is not available for Firestore in Datastore Mode database "
            f"projects/{project}/databases/{database}.",
        ),
        "permission-denied": (
            grpc.StatusCode.PERMISSION_DENIED,
            "Missing or insufficient permissions.",
        ),
    }


class _Refuse(grpc.GenericRpcHandler):
    def __init__(self, server: FirestoreRefusal) -> None:
        self.server = server

    def service(self, details: Any) -> grpc.RpcMethodHandler | None:
        method = str(details.method)
        if not method.startswith("/google.firestore.v1.Firestore/"):
            return None

        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            self.server.calls.append(method.rsplit("/", 1)[1])
            code, message = self.server.refusal
            context.abort(code, message)

        if method.rsplit("/", 1)[1] in _STREAMING:
            return grpc.unary_stream_rpc_method_handler(refuse)
        return grpc.unary_unary_rpc_method_handler(refuse)


class FirestoreRefusal:
    """``with FirestoreRefusal((code, message)) as f: f.host`` -> every Firestore RPC refused."""

    def __init__(self, refusal: tuple[grpc.StatusCode, str]) -> None:
        self.refusal = refusal
        self.calls: list[str] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers((_Refuse(self),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FirestoreRefusal:
        self._server.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.stop(grace=None)
