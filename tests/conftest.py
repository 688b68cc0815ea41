"""Shared fixtures: the emulators (one each per session), unique names, function servers.

Tests that use an emulator or a function server are marked ``integration`` automatically;
``pytest -m "not integration"`` runs the rest without starting any process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from functions import gcp
from local import services
from local.services import Service
from standin import StandIn

_INTEGRATION_FIXTURES = frozenset(
    {
        "emulators",
        "pubsub_emulator",
        "firestore_emulator",
        "firestore_clear",
        "function_server_factory",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs a started process as ``integration``."""
    for item in items:
        if _INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def project_id() -> str:
    """The emulator-only project id the tests use."""
    return services.DEFAULT_PROJECT


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's services write their logs (kept under pytest's tmp dir)."""
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def emulators(services_dir: Path) -> Iterator[dict[str, Service]]:
    """Both emulators, started concurrently once per session, their env set in os.environ.

    Keys: ``"pubsub"`` and ``"firestore"``. Stopped (whole process group) at session end.
    """
    pubsub = services.pubsub_emulator(services_dir)
    firestore = services.firestore_emulator(services_dir)
    services.start_all([pubsub, firestore])
    with pytest.MonkeyPatch.context() as mp:
        for service in (pubsub, firestore):
            for key, value in service.env.items():
                mp.setenv(key, value)
        try:
            yield {"pubsub": pubsub, "firestore": firestore}
        finally:
            pubsub.stop()
            firestore.stop()


@pytest.fixture(scope="session")
def pubsub_emulator(emulators: dict[str, Service]) -> Service:
    """The session's Pub/Sub emulator (``PUBSUB_EMULATOR_HOST`` is set)."""
    return emulators["pubsub"]


@pytest.fixture(scope="session")
def firestore_emulator(emulators: dict[str, Service]) -> Service:
    """The session's Firestore emulator (``FIRESTORE_EMULATOR_HOST`` is set)."""
    return emulators["firestore"]


@pytest.fixture
def firestore_clear(firestore_emulator: Service) -> Callable[..., None]:
    """``firestore_clear(project, database="(default)")`` deletes every document there."""

    def clear(project: str, database: str = "(default)") -> None:
        services.firestore_clear(project, database, host=firestore_emulator.host)

    return clear


@pytest.fixture(scope="session")
def unique_name() -> Callable[[str], str]:
    """``unique_name(prefix)`` gives ``prefix-<10 hex>``, valid as a topic or document id."""

    def make(prefix: str = "t") -> str:
        if not prefix[:1].isalpha():
            raise ValueError(f"prefix must start with a letter: {prefix!r}")
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
def function_server_factory(
    emulators: dict[str, Service], tmp_path: Path
) -> Iterator[Callable[..., Service]]:
    """``factory(env, *, target="budget_guard", source="main.py", signature_type="cloudevent")``.

    Starts functions-framework from the repository root with the emulators' env plus ``env``
    and returns the started Service (log under the test's tmp dir). All are stopped at teardown.
    """
    started: list[Service] = []
    emulator_env = {k: v for s in emulators.values() for k, v in s.env.items()}

    def factory(
        env: Mapping[str, str] | None = None,
        *,
        target: str = "budget_guard",
        source: str | os.PathLike[str] = "main.py",
        signature_type: str = "cloudevent",
    ) -> Service:
        service = services.function_server(
            tmp_path,
            {**emulator_env, **(env or {})},
            target=target,
            source=os.fspath(source),
            signature_type=signature_type,
        )
        started.append(service)
        return service.start()

    yield factory
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandIn]:
    """One in-process stand-in of the Google APIs for the session."""
    with StandIn() as server:
        yield server


@pytest.fixture
def standin(standin_server: StandIn) -> StandIn:
    """The stand-in, reset to its packaged demo world (no faults, empty call log)."""
    standin_server.set_state(None)
    return standin_server


@pytest.fixture
def guard_env(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Point this process's guard clients (``functions.gcp``) at the fresh stand-in, with short
    timeouts and retries so fault tests stay fast."""
    for name, value in {
        gcp.ENV_ENDPOINT: standin.url,
        "BUDGET_GUARD_TIMEOUT": "2",
        "BUDGET_GUARD_RETRY_DEADLINE": "0.3",
        "BUDGET_GUARD_RETRY_INITIAL": "0.01",
        "BUDGET_GUARD_OPERATION_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    gcp.reset()
    yield standin
    monkeypatch.undo()
    gcp.reset()
