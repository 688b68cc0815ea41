"""``StandIn``: the stand-in server, started and stopped from Python (tests) or ``__main__``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from standin.apis.quotas import effective_quotas, grant_pending
from standin.backend import Backend
from standin.faults import parse_rule
from standin.handler import StandInHTTPServer
from standin.quotamodel import ProjectQuotas
from standin.seedfile import SeedSource, load_seed
from standin.state import World

__all__ = ["StandIn"]


class StandIn:
    """Local stand-in for the Google control-plane REST APIs Budget Guard calls.

    ``StandIn(seed=None, host="127.0.0.1", port=0, grpc_port=0)``: ``seed`` is a seed dict, a
    path to a seed JSON file, or ``None`` for the packaged demo world; ``port=0`` picks a free
    port; ``grpc_port`` is Cloud Monitoring's gRPC port (0: a free one).
    """

    def __init__(
        self, seed: SeedSource = None, *, host: str = "127.0.0.1", port: int = 0, grpc_port: int = 0
    ) -> None:
        self._backend = Backend(load_seed(seed))
        self._address = (host, port)
        self._grpc_address = (host, grpc_port)
        self._server: StandInHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._grpc: Any = None  # standin.monitoring.service.MonitoringServer once started

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> str:
        """Bind, serve in a daemon thread and answer the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self.url
        from standin.monitoring.service import MonitoringServer  # grpc: only once started

        self._backend.stopping.clear()
        grpc_server = MonitoringServer(self._backend, *self._grpc_address)
        grpc_server.start()
        self._grpc = grpc_server
        self._server = StandInHTTPServer(self._address, self._backend)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="standin",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, wake held calls and close open connections. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._backend.stopping.set()
        grpc_server, self._grpc = self._grpc, None
        if grpc_server is not None:
            grpc_server.stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (only while started)."""
        if self._server is None:
            raise RuntimeError("StandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def grpc_port(self) -> int:
        """The port of the gRPC Cloud Monitoring ``MetricService`` (only while started)."""
        if self._grpc is None or self._grpc.port is None:
            raise RuntimeError("StandIn is not started")
        return int(self._grpc.port)

    @property
    def monitoring_endpoint(self) -> str:
        """``127.0.0.1:PORT`` for ``BUDGET_GUARD_MONITORING_ENDPOINT`` (only while started)."""
        return f"{self._address[0]}:{self.grpc_port}"

    # world -----------------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """A copy of the whole world in seed format (key strings included)."""
        return self._backend.world.to_seed()

    @property
    def world(self) -> World:
        """The live world; hold ``world.lock`` while changing it."""
        return self._backend.world

    def quotas(self, project: str) -> dict[str, dict[str, int]]:
        """Cloud Quotas in force in ``project``: quota id -> model -> value (-1 unlimited)."""
        return effective_quotas(self._backend.world, project)

    def quota(self, project: str, quota_id: str, model: str) -> int | None:
        """The value in force for one quota id and model (None: the project has no such quota)."""
        with self._backend.world.lock:
            quotas = self._backend.world.quotas.get(project)
            return None if quotas is None else quotas.effective(quota_id, model)

    def set_quota_usage(self, project: str, quota_id: str, model: str, usage: int) -> None:
        """Set the current usage the safety checks compare a decrease with."""
        with self._backend.world.lock:
            quotas = self._backend.world.quotas.setdefault(project, ProjectQuotas())
            quotas.usage.setdefault(quota_id, {})[model] = usage

    def grant_quota_increases(self, project: str) -> list[str]:
        """Grant the project's pending quota increases (a reviewer's approval); their ids."""
        return grant_pending(self._backend.world, project)

    def set_state(self, seed: SeedSource) -> None:
        """Replace the world (dict, file path, ``None``: demo seed); clears faults and calls."""
        self._backend.load(load_seed(seed))

    # faults and calls ------------------------------------------------------------------------

    def add_fault(
        self,
        method: str,
        fault: str,
        *,
        calls: list[int] | None = None,
        times: int | None = None,
        delay: float | None = None,
    ) -> None:
        """Add a fault rule (see :mod:`standin.faults`); ``ValueError`` if it is malformed."""
        rule: dict[str, Any] = {"method": method, "fault": fault}
        for name, value in (("calls", calls), ("times", times), ("delay", delay)):
            if value is not None:
                rule[name] = value
        self._backend.faults.add(parse_rule(rule))

    def faults(self) -> list[dict[str, Any]]:
        """The active fault rules with how many calls each has seen."""
        return self._backend.faults.rules()

    def clear_faults(self) -> None:
        self._backend.faults.clear()

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """The call log in order, optionally only the calls of one method id."""
        return self._backend.calls.entries(method)

    def clear_calls(self) -> None:
        self._backend.calls.clear()

    # Monitoring and the clock (see standin/monitoring/state.py for the point format) ----------

    def add_points(self, points: Sequence[dict[str, Any]]) -> int:
        """Write Monitoring points (all or none; ``SeedError`` names a bad field)."""
        return self.world.monitoring.write(list(points))

    def points(self, metric: str | None = None, project: str | None = None) -> list[Any]:
        """The scripted Monitoring points, optionally of one metric type and project."""
        return self.world.monitoring.points_json(metric, project)

    def record_gemini(self, project: str, model: str, minute: datetime, **usage: Any) -> int:
        """Add what Monitoring records for Gemini calls in one minute; see
        :func:`standin.monitoring.gemini.gemini_points` for ``usage`` (input_tokens,
        output_tokens, requests, key_uid, tier, response_code)."""
        from standin.monitoring.gemini import gemini_points

        return self.add_points(gemini_points(project, model, minute, **usage))

    def clear_points(self) -> None:
        self.world.monitoring.clear_points()

    def set_scope(self, host: str, projects: Sequence[str]) -> None:
        """Make ``host``'s metrics scope hold ``projects`` (and ``host`` itself)."""
        self.world.monitoring.set_scopes({host: list(projects)})

    def set_delay(self, prefix: str, seconds: float) -> None:
        """The ingestion delay of metric types starting with ``prefix``."""
        self.world.monitoring.set_delays({prefix: seconds})

    def set_clock(self, now: datetime | None, *, running: bool = False) -> None:
        """Fix the clock at ``now`` (``running``: start it there at real speed); None: real time."""
        if now is None:
            self._backend.clock.reset()
        else:
            self._backend.clock.set(now, running=running)

    def now(self) -> datetime:
        """The stand-in's clock."""
        return self._backend.clock.now()
