"""Fixtures for the infra/ tests (helpers live in tests/infra/helpers.py)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.infra.helpers import INFRA, Module, load_module


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
