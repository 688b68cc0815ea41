"""Cloud Monitoring's ``MetricService`` over gRPC: ListTimeSeries and ListMetricDescriptors.

Generic gRPC handlers with the messages of ``google.cloud.monitoring_v3`` (the client's own
types), so ``MetricServiceClient`` talks to it unchanged over an insecure channel. Each call goes
through the stand-in's fault rules (method ids below) and call log (HTTP-equivalent status),
and ``granted_permissions`` of the scope's host project when that project is in the world.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.api import label_pb2, metric_pb2
from google.cloud import monitoring_v3

from standin.backend import Backend
from standin.monitoring.query import (
    QueryError,
    TimeSeriesQuery,
    descriptors,
    metric_type,
    page,
    parse_filter,
    time_series,
)
from standin.permissions import GRPC_METHOD_IDS, METHOD_PERMISSIONS

__all__ = ["MonitoringServer"]

_SERVICE = "google.monitoring.v3.MetricService"
LIST_TIME_SERIES, LIST_DESCRIPTORS = GRPC_METHOD_IDS

_HTTP_FOR_CODE = {
    "OK": 200, "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500,
    "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}  # fmt: skip
_CODE_FOR_HTTP = {
    400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip
_FAULT_MESSAGES = {
    "RESOURCE_EXHAUSTED": "Quota exceeded for quota metric 'Time series queries' and limit "
    "'Time series queries per minute'.",
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "Deadline expired before operation could complete.",
}


class _Abort(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _project(name: str) -> str:
    if not name.startswith("projects/") or not name.removeprefix("projects/"):
        raise _Abort("INVALID_ARGUMENT", f"Invalid resource name: {name!r}; want projects/ID")
    return name.removeprefix("projects/")


def _aware(moment: datetime | None) -> datetime | None:
    """A proto Timestamp as a UTC datetime; None when unset (seconds and nanos 0)."""
    if moment is None or moment.timestamp() == 0:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Servicer:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # plumbing --------------------------------------------------------------------------------

    def _run(
        self, method_id: str, rpc: str, context: grpc.ServicerContext, fn: Callable[[], Any]
    ) -> Any:
        entry = self.backend.calls.start(method_id, "POST", f"/{_SERVICE}/{rpc}")
        rule = self.backend.faults.fault_for(method_id)
        try:
            if rule is not None and rule.http_code is None:
                if rule.fault == "reset":
                    raise _Abort("UNAVAILABLE", "Connection reset by peer")
                self.backend.stopping.wait(rule.delay)
                if rule.fault == "timeout":
                    raise _Abort("DEADLINE_EXCEEDED", _FAULT_MESSAGES["DEADLINE_EXCEEDED"])
            elif rule is not None:
                code = _CODE_FOR_HTTP.get(rule.http_code or 500, "INTERNAL")
                if code == "PERMISSION_DENIED":
                    raise _Abort(code, f"Permission '{METHOD_PERMISSIONS[method_id]}' denied.")
                raise _Abort(code, _FAULT_MESSAGES.get(code, "Injected fault."))
            response = fn()
        except QueryError as error:
            self._finish(entry, error.code, rule)
            context.abort(getattr(grpc.StatusCode, error.code), error.message)
        except _Abort as error:
            self._finish(entry, error.code, rule)
            context.abort(getattr(grpc.StatusCode, error.code), error.message)
        self._finish(entry, "OK", rule)
        return response

    def _finish(self, entry: dict[str, Any], code: str, rule: Any) -> None:
        status = (
            None
            if rule is not None and rule.fault in ("reset", "timeout")
            else _HTTP_FOR_CODE[code]
        )
        self.backend.calls.finish(entry, status, rule.fault if rule else None)

    def _check_permission(self, method_id: str, host: str) -> None:
        project = self.backend.world.project(host)
        granted = None if project is None else project.granted_permissions
        permission = METHOD_PERMISSIONS[method_id]
        if granted is not None and permission not in granted:
            raise _Abort(
                "PERMISSION_DENIED",
                f"Permission {permission} denied (or the resource may not exist).",
            )

    # RPCs ------------------------------------------------------------------------------------

    def list_time_series(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._run(LIST_TIME_SERIES, "ListTimeSeries", context, lambda: self._series(request))

    def list_metric_descriptors(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._run(
            LIST_DESCRIPTORS, "ListMetricDescriptors", context, lambda: self._descriptors(request)
        )

    def _series(self, request: Any) -> Any:
        host = _project(request.name)
        self._check_permission(LIST_TIME_SERIES, host)
        conds = parse_filter(request.filter)
        meta = metric_type(conds)
        end = _aware(request.interval.end_time)
        if end is None:
            raise _Abort("INVALID_ARGUMENT", "Field interval.end_time had an invalid value.")
        aggregation = request.aggregation
        period = aggregation.alignment_period
        query = TimeSeriesQuery(
            conds=conds,
            start=_aware(request.interval.start_time),
            end=end,
            period=period if isinstance(period, timedelta) and period else None,
            aligner=aggregation.per_series_aligner.name,
            reducer=aggregation.cross_series_reducer.name,
            group_by=list(aggregation.group_by_fields),
        )
        world = self.backend.world
        visible = world.monitoring.series(
            meta.type, host, self.backend.clock.now(), world.resource_container
        )
        answered = time_series(visible, query)
        headers = request.view == monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.HEADERS
        cap = world.monitoring.page_size
        chosen, token = page(
            answered,
            (lambda s: 1) if headers else (lambda s: max(len(s.points), 1)),
            min(request.page_size or cap, cap),
            request.page_token,
            _key(request),
        )
        response = _RESPONSE_PB(next_page_token=token, unit=meta.unit if chosen else "")
        for series in chosen:
            _add_time_series(response.time_series.add(), series, headers)
        return response

    def _descriptors(self, request: Any) -> Any:
        host = _project(request.name)
        self._check_permission(LIST_DESCRIPTORS, host)
        found = descriptors(request.filter)
        chosen, token = page(
            found, lambda m: 1, request.page_size or 100, request.page_token, _key(request)
        )
        return monitoring_v3.ListMetricDescriptorsResponse(
            metric_descriptors=[_descriptor(host, m) for m in chosen], next_page_token=token
        )


def _key(request: Any) -> str:
    """The request without its paging fields: what a page token is bound to."""
    copy = type(request)(request)
    copy.page_token = ""
    copy.page_size = 0
    return str(type(request).to_json(copy))


_RESPONSE_PB = monitoring_v3.ListTimeSeriesResponse.pb()


def _add_time_series(out: Any, series: Any, headers: bool) -> None:
    """Fill the raw protobuf ``TimeSeries`` ``out`` (proto-plus is too slow for 100k points)."""
    out.metric.type = series.info.type
    out.metric.labels.update(series.metric_labels)
    out.resource.type = series.info.resource_type
    out.resource.labels.update(series.resource_labels)
    out.metric_kind = metric_pb2.MetricDescriptor.MetricKind.Value(series.kind)
    out.value_type = metric_pb2.MetricDescriptor.ValueType.INT64
    out.unit = series.info.unit
    if headers:
        return
    for start, end, value in series.points:
        point = out.points.add()
        point.interval.start_time.seconds = int(start.timestamp())
        point.interval.end_time.seconds = int(end.timestamp())
        point.value.int64_value = value


def _descriptor(host: str, meta: Any) -> Any:
    return metric_pb2.MetricDescriptor(
        name=f"projects/{host}/metricDescriptors/{meta.type}",
        type=meta.type,
        labels=[
            label_pb2.LabelDescriptor(key=key, value_type=label_pb2.LabelDescriptor.STRING)
            for key in meta.metric_labels
        ],
        metric_kind=metric_pb2.MetricDescriptor.MetricKind.Value(meta.kind),
        value_type=metric_pb2.MetricDescriptor.ValueType.INT64,
        unit=meta.unit,
        description=meta.description,
        display_name=meta.type.rsplit("/", 1)[-1],
        monitored_resource_types=[meta.resource_type],
    )


class MonitoringServer:
    """The gRPC server; ``start()`` answers its port."""

    def __init__(self, backend: Backend, host: str = "127.0.0.1", port: int = 0) -> None:
        self._backend = backend
        self._address = f"{host}:{port}"
        self.host = host
        self.port: int | None = None
        self._server: grpc.Server | None = None

    def start(self) -> int:
        if self._server is not None and self.port is not None:
            return self.port
        servicer = _Servicer(self._backend)
        handlers = {
            "ListTimeSeries": grpc.unary_unary_rpc_method_handler(
                servicer.list_time_series,
                request_deserializer=monitoring_v3.ListTimeSeriesRequest.deserialize,
                response_serializer=_RESPONSE_PB.SerializeToString,
            ),
            "ListMetricDescriptors": grpc.unary_unary_rpc_method_handler(
                servicer.list_metric_descriptors,
                request_deserializer=monitoring_v3.ListMetricDescriptorsRequest.deserialize,
                response_serializer=monitoring_v3.ListMetricDescriptorsResponse.serialize,
            ),
        }
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="standin-grpc")
        )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, handlers),))
        self.port = server.add_insecure_port(self._address)
        if not self.port:
            raise OSError(f"cannot listen on {self._address}")
        server.start()
        self._server = server
        return self.port

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=0.5).wait(5)
            self.port = None
