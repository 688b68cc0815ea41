"""Fixtures for the infra/ tests (helpers live in tests/infra/helpers.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from functions import gcp
from functions.watchdog import monitoring
from standin import StandIn
from tests.infra.helpers import INFRA, Module, load_module
from tests.infra.runs import Run, watchdog_run


@pytest.fixture(scope="session")
def root() -> Module:
    """The deployable module, infra/."""
    return load_module(INFRA)


@pytest.fixture(scope="session")
def policy_module() -> Module:
    return load_module(INFRA / "modules" / "policy")


@pytest.fixture(scope="session")
def source_module() -> Module:
    return load_module(INFRA / "modules" / "source")


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    found = shutil.which("terraform")
    if found is None:
        pytest.fail("terraform (>= 1.9) is not on PATH: the infra/ tests need it (CI installs it).")
    return found


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for terraform: no user CLI config, no prompts, no update checks."""
    cli_config = tmp_path_factory.mktemp("tfcli") / "terraformrc"
    cli_config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        TF_CLI_CONFIG_FILE=str(cli_config),
    )
    return env


@pytest.fixture(scope="session")
def watchdog(
    standin_server: StandIn, firestore_emulator: object, unique_name: Callable[[str], str]
) -> Iterator[Run]:
    """One real run of the usage watchdog (tests/infra/runs.py), shared by the session's tests:
    the guard's and the Monitoring clients pointed at a fresh stand-in, as ``monitoring_env``."""
    standin_server.set_state(None)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(gcp.ENV_ENDPOINT, standin_server.url)
        env.setenv(monitoring.ENV_MONITORING_ENDPOINT, standin_server.monitoring_endpoint)
        env.setenv("BUDGET_GUARD_RETRY_DEADLINE", "0.3")
        env.setenv("BUDGET_GUARD_RETRY_INITIAL", "0.01")
        gcp.reset()
        monitoring.reset()
        try:
            yield watchdog_run(standin_server, unique_name("wd"))
        finally:
            gcp.reset()
            monitoring.reset()
            standin_server.set_state(None)
