"""Start, probe and stop the local processes Budget Guard is exercised against.

Shared by the test suite (``tests/conftest.py``) and the demo script. Everything here runs on
loopback only: the Pub/Sub and Firestore emulators that ship with the Google Cloud SDK, the
guard itself under functions-framework, and the Google API stand-in (``python -m standin``).

Each process is started in a new session (its own process group), writes stdout and stderr to
one log file, and is stopped by signalling the whole group: the emulators' shell wrappers start
``java`` as a child, and gunicorn forks workers, so killing only the leader would leak them.

Pub/Sub emulator push behaviour, measured with emulator 0.8.20 (SDK bundled):

* A push answered with a non-2xx status is redelivered. Without a retry policy the emulator
  retries about every 1 s, indefinitely. With a retry policy, the first retry still comes after
  about 1 s, later ones follow the backoff coarsely (min 1 s/max 2 s gives one every ~3 s;
  min 10 s gives ~15 s). Delete the subscription to stop redelivery.
* A push that is not answered within the ack deadline is redelivered each ack deadline, while
  the first request is still running (so the ack deadline is also the push timeout).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "DEFAULT_PROJECT",
    "REPO_ROOT",
    "Service",
    "ServiceError",
    "create_push_topic",
    "delete_push_topic",
    "finished",
    "firestore_clear",
    "firestore_emulator",
    "free_port",
    "function_server",
    "http_status",
    "parse_json_lines",
    "process_group_alive",
    "publish",
    "pubsub_emulator",
    "push_endpoint",
    "sdk_root",
    "standin_server",
    "start_all",
    "wait_for",
]

#: Project id used by the tests and the demo. The ``demo-`` prefix marks an emulator-only project.
DEFAULT_PROJECT = "demo-budget-guard"

#: The repository root: functions-framework and the stand-in run with this as working directory.
REPO_ROOT = Path(__file__).resolve().parent.parent

_HOST = "127.0.0.1"
_LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """A service could not be started, or its tooling is missing."""


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@functools.cache
def _sdk_root_from_gcloud() -> Path:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise ServiceError(
            "gcloud is not on PATH: install the Google Cloud SDK with the pubsub-emulator and "
            "cloud-firestore-emulator components, or set CLOUDSDK_ROOT_DIR to the SDK root"
        )
    try:
        out = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", "") or ""
        raise ServiceError(f"`gcloud info` failed: {exc}\n{stderr}") from exc
    if not out:
        raise ServiceError("`gcloud info` printed no installation.sdk_root")
    return Path(out)


def sdk_root() -> Path:
    """Return the Google Cloud SDK root directory.

    ``CLOUDSDK_ROOT_DIR`` wins when set; otherwise asks
    ``gcloud info --format=value(installation.sdk_root)`` once per process (about 1.7 s).
    """
    override = os.environ.get("CLOUDSDK_ROOT_DIR")
    if override:
        return Path(override)
    return _sdk_root_from_gcloud()


def _sdk_file(*parts: str) -> Path:
    path = sdk_root().joinpath(*parts)
    if not path.exists():
        raise ServiceError(
            f"{path} not found: install the emulator with "
            "`gcloud components install pubsub-emulator cloud-firestore-emulator` "
            "(or the matching google-cloud-cli-* Debian package)"
        )
    return path


def http_status(url: str, *, method: str = "GET", timeout: float = 1.0) -> int | None:
    """Return the HTTP status of ``url``, or None when nothing answered (refused, timed out)."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def _tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((_HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
) -> Any:
    """Call ``predicate`` until it returns something truthy, and return that value.

    Raises ``TimeoutError`` naming ``message`` when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {message}")
        time.sleep(interval)


def _live_group_members(pgid: int) -> bool | None:
    """True/False from /proc (zombies ignored), None where /proc is not available."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat.rpartition(")")[2].split()
        if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def process_group_alive(pgid: int) -> bool:
    """Return True while a live process remains in process group ``pgid``.

    Zombies do not count: members orphaned by the leader's death are reparented to init, which
    may take a second or two to reap them, but they hold no port and run no code.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    live = _live_group_members(pgid)
    return True if live is None else live


#: The guard's last log line for a message: quiet, handled, or rejected (functions/handler.py).
_FINAL_MESSAGES = (
    "under every threshold",
    "notification handled",
    "message ignored",
    "abuse event handled",  # functions/leakhandler.py
    "abuse event ignored",
)


def finished(record: Mapping[str, Any]) -> bool:
    """True when ``record`` (one guard log line) is the guard's last word on its message."""
    message = str(record.get("message", ""))
    return any(final in message for final in _FINAL_MESSAGES)


def parse_json_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Parse the lines that are JSON objects; skip blank, non-JSON and non-object lines."""
    records: list[dict[str, Any]] = []
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


# --------------------------------------------------------------------------------------------
# Service
# --------------------------------------------------------------------------------------------

# Strong references: a launched service is stopped at interpreter exit even if nobody holds it.
_RUNNING: set[Service] = set()


def _stop_leftovers() -> None:
    for service in list(_RUNNING):
        with contextlib.suppress(Exception):
            service.stop(grace=2.0)


atexit.register(_stop_leftovers)


class Service:
    """One local server process: its command, environment, port, readiness probe and log file.

    ``env`` holds the variables added to the child's environment (on top of ``os.environ``).
    For the emulators it holds what a client needs to reach them (``PUBSUB_EMULATOR_HOST``,
    ``FIRESTORE_EMULATOR_HOST``), which the emulator itself ignores.

    ``ready`` is the readiness probe (default: the port accepts a TCP connection); ``warmup``,
    if given, runs once after the probe succeeds (the emulators answer their first real request
    only after several seconds of lazy initialisation: better paid at start than in a test).

    ``start()`` = ``launch()`` + ``wait_ready()``; ``start_all`` launches several and waits on
    them concurrently. Usable as a context manager.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        port: int,
        log_dir: Path | str,
        ready: Callable[[Service], bool] | None = None,
        warmup: Callable[[Service], None] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        start_timeout: float = 60.0,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_grace: float = 5.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.env: dict[str, str] = dict(env or {})
        self.cwd = Path(cwd) if cwd is not None else None
        self.start_timeout = start_timeout
        self.stop_signal = stop_signal
        self.stop_grace = stop_grace
        self.log_path = Path(log_dir) / f"{name}-{port}.log"
        self._ready = ready if ready is not None else (lambda service: _tcp_open(service.port))
        self._warmup = warmup
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<Service {self.name} {self.url} {state}>"

    # -- addresses --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the form the ``*_EMULATOR_HOST`` variables take."""
        return f"{_HOST}:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}"

    # -- process state -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The leader's pid (also the process group id), or None before launch."""
        return self._proc.pid if self._proc is not None else None

    @property
    def pgid(self) -> int | None:
        """The process group id (equal to the leader's pid: it was started in a new session)."""
        return self.pid

    @property
    def running(self) -> bool:
        """True while the leader process has not exited."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The leader's exit status once it has exited."""
        return self._proc.poll() if self._proc is not None else None

    # -- lifecycle ----------------------------------------------------------------------------

    def launch(self) -> Service:
        """Start the process in a new session, stdout+stderr appended to ``log_path``.

        A service can be launched again after ``stop()``; its log file is appended to.
        """
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                raise ServiceError(f"{self.name} already running (pid {self._proc.pid})")
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            child_env = {**os.environ, **self.env}
            with open(self.log_path, "ab") as log:
                log.write(f"$ {' '.join(self.argv)}\n".encode())
                log.flush()
                self._proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    env=child_env,
                    start_new_session=True,
                )
            self._stopped = False
            _RUNNING.add(self)
            return self

    def is_ready(self) -> bool:
        """Run the readiness probe once."""
        return bool(self._ready(self))

    def wait_ready(self, timeout: float | None = None) -> Service:
        """Poll readiness until ``timeout`` (default ``start_timeout``) seconds have passed.

        Raises ``ServiceError`` with the log tail when the process exits or the deadline passes;
        the process group is stopped first in both cases.
        """
        if self._proc is None:
            raise ServiceError(f"{self.name} was not launched")
        limit = self.start_timeout if timeout is None else timeout
        started = time.monotonic()
        deadline = started + limit
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self.stop()
                raise ServiceError(
                    f"{self.name} exited with status {code} before it was ready\n{self._describe()}"
                )
            if self.is_ready() and self._proc.poll() is None:
                break
            if time.monotonic() >= deadline:
                self.stop()
                raise ServiceError(
                    f"{self.name} not ready after {limit:.1f}s on {self.url}\n{self._describe()}"
                )
            time.sleep(0.05)
        if self._warmup is not None:
            try:
                self._warmup(self)
            except Exception as exc:
                self.stop()
                raise ServiceError(
                    f"{self.name} warm-up failed: {exc!r}\n{self._describe()}"
                ) from exc
        return self

    def start(self, timeout: float | None = None) -> Service:
        """``launch()`` then ``wait_ready()``; returns self."""
        self.launch()
        return self.wait_ready(timeout)

    def stop(self, grace: float | None = None) -> int | None:
        """Stop the whole process group: ``stop_signal``, then SIGKILL after ``grace`` seconds.

        ``grace`` defaults to ``stop_grace``. Returns the leader's exit status (None if never
        launched). Idempotent.
        """
        with self._lock:
            proc = self._proc
            if proc is None:
                return None
            if self._stopped:  # never signal a process group id that may have been reused
                return proc.wait()
            pgid = proc.pid
            _RUNNING.discard(self)
            self._stopped = True
            if proc.poll() is None or process_group_alive(pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, self.stop_signal)
                deadline = time.monotonic() + (self.stop_grace if grace is None else grace)
                while time.monotonic() < deadline:
                    proc.poll()  # reap the leader so it stops counting as a group member
                    if not process_group_alive(pgid):
                        break
                    time.sleep(0.02)
                else:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pgid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=5)
                    # Members that are not our children are reaped by init; wait briefly.
                    end = time.monotonic() + 5
                    while process_group_alive(pgid) and time.monotonic() < end:
                        time.sleep(0.02)
            return proc.wait()

    def __enter__(self) -> Service:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- logs ---------------------------------------------------------------------------------

    def log_text(self) -> str:
        """The whole log file as text (empty if it does not exist yet)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self) -> list[str]:
        """The log file's lines, without line endings."""
        return self.log_text().splitlines()

    def json_logs(self) -> list[dict[str, Any]]:
        """The log lines that parse as JSON objects (structured logs); others are skipped."""
        return parse_json_lines(self.log_lines())

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log."""
        return "\n".join(self.log_lines()[-lines:])

    def _describe(self) -> str:
        return (
            f"command: {' '.join(self.argv)}\nlog: {self.log_path}\n"
            f"--- last {_LOG_TAIL_LINES} log lines ---\n{self.log_tail()}"
        )


def start_all(services: Iterable[Service], timeout: float | None = None) -> list[Service]:
    """Launch every service, then wait for all concurrently; on failure stop every one."""
    launched: list[Service] = []
    try:
        for service in services:
            launched.append(service.launch())
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(launched))) as pool:
            futures = [pool.submit(service.wait_ready, timeout) for service in launched]
            for future in futures:
                future.result()
    except BaseException:
        for service in launched:
            service.stop()
        raise
    return launched


# --------------------------------------------------------------------------------------------
# Concrete services
# --------------------------------------------------------------------------------------------


def _http_ready(path: str, *, any_status: bool = False) -> Callable[[Service], bool]:
    def probe(service: Service) -> bool:
        status = http_status(service.url + path, timeout=1.0)
        return status is not None and (any_status or status == 200)

    return probe


def _warm_up_request(method: str, path: str) -> Callable[[Service], None]:
    def warm_up(service: Service) -> None:
        status = http_status(service.url + path, method=method, timeout=60.0)
        if status is None:
            raise ServiceError(f"no answer to {method} {path}")

    return warm_up


def pubsub_emulator(workdir: Path | str, port: int | None = None) -> Service:
    """The Pub/Sub emulator (not started). ``.env`` is ``{"PUBSUB_EMULATOR_HOST": ...}``."""
    port = port or free_port()
    binary = _sdk_file("platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")
    return Service(
        "pubsub-emulator",
        [str(binary), f"--host={_HOST}", f"--port={port}"],
        port=port,
        log_dir=workdir,
        cwd=workdir,
        ready=_http_ready("/"),
        warmup=_warm_up_request("PUT", f"/v1/projects/harness-warmup/topics/warmup-{port}"),
        env={"PUBSUB_EMULATOR_HOST": f"{_HOST}:{port}"},
    )


def firestore_emulator(workdir: Path | str, port: int | None = None) -> Service:
    """The Firestore emulator (not started). ``.env`` is ``{"FIRESTORE_EMULATOR_HOST": ...}``."""
    port = port or free_port()
    binary = _sdk_file("platform", "cloud-firestore-emulator", "cloud_firestore_emulator")
    return Service(
        "firestore-emulator",
        [str(binary), "start", f"--host={_HOST}", f"--port={port}"],
        port=port,
        log_dir=workdir,
        cwd=workdir,
        ready=_http_ready("/"),
        warmup=_warm_up_request(
            "GET", "/v1/projects/harness-warmup/databases/(default)/documents/warmup/warmup"
        ),
        env={"FIRESTORE_EMULATOR_HOST": f"{_HOST}:{port}"},
    )


def function_server(
    workdir: Path | str,
    env: Mapping[str, str] | None = None,
    target: str = "budget_guard",
    source: Path | str = "main.py",
    *,
    signature_type: str = "cloudevent",
    port: int | None = None,
) -> Service:
    """functions-framework serving ``target`` from ``source`` (not started).

    Runs with the repository root as working directory (so ``source`` may be relative to it),
    ``env`` added to the inherited environment, and ``PYTHONUNBUFFERED=1`` so that log lines
    reach the log file as they are written. Ready once the port accepts a connection.
    """
    port = port or free_port()
    return Service(
        "function",
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--target",
            target,
            "--signature-type",
            signature_type,
            "--source",
            str(source),
            "--host",
            _HOST,
            "--port",
            str(port),
        ],
        port=port,
        log_dir=workdir,
        cwd=REPO_ROOT,
        env={"PYTHONUNBUFFERED": "1", **(env or {})},
        start_timeout=30.0,
        # gunicorn's quick shutdown: SIGTERM waits for idle keep-alive connections (~2 s).
        stop_signal=signal.SIGINT,
        # A worker still handling a push (a redelivery, say) does not exit until it is done.
        stop_grace=2.0,
    )


def standin_server(
    workdir: Path | str,
    seed_path: Path | str,
    port: int | None = None,
    grpc_port: int | None = None,
) -> Service:
    """The Google API stand-in, ``python -m standin`` (not started).

    Ready when ``GET /_standin/state`` answers 200. Its ``env`` holds what the guard needs to
    reach it: ``BUDGET_GUARD_GCP_ENDPOINT`` (REST) and ``BUDGET_GUARD_MONITORING_ENDPOINT``
    (Cloud Monitoring over gRPC, on ``grpc_port``); the stand-in itself ignores them.
    """
    port = port or free_port()
    grpc_port = grpc_port or free_port()
    argv = [sys.executable, "-m", "standin", "--seed", str(seed_path), "--port", str(port)]
    return Service(
        "standin",
        [*argv, "--grpc-port", str(grpc_port)],
        port=port,
        log_dir=workdir,
        cwd=REPO_ROOT,
        ready=_http_ready("/_standin/state"),
        env={
            "PYTHONUNBUFFERED": "1",
            "BUDGET_GUARD_GCP_ENDPOINT": f"http://{_HOST}:{port}",
            "BUDGET_GUARD_MONITORING_ENDPOINT": f"{_HOST}:{grpc_port}",
        },
        start_timeout=30.0,
    )


# --------------------------------------------------------------------------------------------
# Pub/Sub and Firestore helpers (against the emulators named by the *_EMULATOR_HOST variables)
# --------------------------------------------------------------------------------------------


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ServiceError(f"{name} is not set: start the emulator and export its .env first")
    return value


@functools.cache
def _pubsub_clients(emulator_host: str) -> tuple[Any, Any]:
    # Clients read PUBSUB_EMULATOR_HOST when constructed: cache one pair per emulator address.
    import google.cloud.pubsub_v1 as pubsub_v1

    return pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()


def _clients() -> tuple[Any, Any]:
    return _pubsub_clients(_require_env("PUBSUB_EMULATOR_HOST"))


def push_endpoint(base_url: str, topic_path: str) -> str:
    """``base_url`` + ``/`` + ``topic_path``.

    functions-framework reads ``projects/P/topics/T`` from the request path into the CloudEvent
    ``source`` (``//pubsub.googleapis.com/projects/P/topics/T``, as Eventarc sets it); with a
    bare ``/`` the source is ``//pubsub.googleapis.com/``.
    """
    return f"{base_url.rstrip('/')}/{topic_path}"


def create_push_topic(
    project: str,
    topic: str,
    push_endpoint: str,
    *,
    subscription: str | None = None,
    ack_deadline_seconds: int = 10,
    min_backoff_seconds: int | None = None,
    max_backoff_seconds: int | None = None,
) -> tuple[str, str]:
    """Create topic ``topic`` and a push subscription to ``push_endpoint``.

    The subscription is named ``subscription`` or ``<topic>-push``. The ack deadline (10 s,
    the minimum) is also the push timeout in the emulator. With no backoff given there is no
    retry policy: the emulator then redelivers a failed push about every second. Returns
    ``(topic_path, subscription_path)``. Names need 3+ characters and the emulator has no
    reset: use unique names.
    """
    from google.protobuf import duration_pb2

    publisher, subscriber = _clients()
    topic_path: str = publisher.topic_path(project, topic)
    subscription_path: str = subscriber.subscription_path(project, subscription or f"{topic}-push")
    publisher.create_topic(name=topic_path)
    request: dict[str, Any] = {
        "name": subscription_path,
        "topic": topic_path,
        "push_config": {"push_endpoint": push_endpoint},
        "ack_deadline_seconds": ack_deadline_seconds,
    }
    if min_backoff_seconds is not None or max_backoff_seconds is not None:
        request["retry_policy"] = {
            "minimum_backoff": duration_pb2.Duration(seconds=min_backoff_seconds or 10),
            "maximum_backoff": duration_pb2.Duration(seconds=max_backoff_seconds or 600),
        }
    subscriber.create_subscription(request=request)
    return topic_path, subscription_path


def delete_push_topic(topic_path: str, subscription_path: str) -> None:
    """Delete the subscription (stops redelivery) and the topic; missing ones are ignored."""
    from google.api_core import exceptions

    publisher, subscriber = _clients()
    with contextlib.suppress(exceptions.NotFound):
        subscriber.delete_subscription(subscription=subscription_path)
    with contextlib.suppress(exceptions.NotFound):
        publisher.delete_topic(topic=topic_path)


def publish(
    topic_path: str,
    data: bytes,
    attributes: Mapping[str, str] | None = None,
    *,
    timeout: float = 30.0,
) -> str:
    """Publish one message and return its message id (waits for the emulator's answer)."""
    publisher, _ = _clients()
    future = publisher.publish(topic_path, data, **dict(attributes or {}))
    message_id: str = future.result(timeout=timeout)
    return message_id


def firestore_clear(project: str, database: str = "(default)", *, host: str | None = None) -> None:
    """Delete every document of ``database`` in ``project`` on the Firestore emulator.

    Named databases have their own path (``.../databases/NAME/documents``); clearing
    ``(default)`` leaves them untouched. ``host`` defaults to ``FIRESTORE_EMULATOR_HOST``.
    """
    address = host or _require_env("FIRESTORE_EMULATOR_HOST")
    url = f"http://{address}/emulator/v1/projects/{project}/databases/{database}/documents"
    status = http_status(url, method="DELETE", timeout=10.0)
    if status != 200:
        raise ServiceError(f"DELETE {url} answered {status}")
