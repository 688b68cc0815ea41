"""Helpers for the infra/ tests: where things are, an HCL reader, a Terraform runner.

Nothing here needs the Google provider: the google resources are checked as HCL (python-hcl2),
against the provider schema (tfcheck) and by checkov; the provider-free submodules
(``infra/modules/policy``, ``infra/modules/source``) are evaluated for real by ``terraform apply``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
# The shared tools live beside the checkout (CI has them); tfcheck knows the google provider schema.
TFCHECK = REPO.parent / "shared" / "tools" / "tfcheck"

_HCL_OPTIONS = SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)


# --- HCL ------------------------------------------------------------------------------------------


@dataclass
class Module:
    """One Terraform module directory, parsed: blocks keyed the way Terraform addresses them."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> parsed document

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        key = (rtype, name)
        assert key in self.resources, f"{self.path.name}: no resource {rtype}.{name}"
        return self.resources[key]

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}


def load_module(path: Path) -> Module:
    """Parse every *.tf file of one module directory (not its subdirectories)."""
    module = Module(path)
    files = sorted(path.glob("*.tf"))
    assert files, f"no .tf files in {path}"
    for tf in files:
        with tf.open(encoding="utf-8") as fh:
            doc = hcl2.load(fh, serialization_options=_HCL_OPTIONS)
        module.raw[tf.name] = doc
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    module.resources[(rtype, name)] = body
        for block in doc.get("data", []):
            for dtype, named in block.items():
                for name, body in named.items():
                    module.data[(dtype, name)] = body
        for block in doc.get("module", []):
            module.modules.update(block)
        for block in doc.get("variable", []):
            module.variables.update(block)
        for block in doc.get("output", []):
            module.outputs.update(block)
        for block in doc.get("locals", []):
            module.locals.update(block)
    return module


def ref(expr: Any) -> str:
    """``"${google_pubsub_topic.alerts.id}"`` -> ``"google_pubsub_topic.alerts.id"``."""
    assert isinstance(expr, str), f"expected an expression, got {expr!r}"
    if expr.startswith("${") and expr.endswith("}"):
        return expr[2:-1].strip()
    return expr


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, leaf or node) in a parsed document, depth first."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")


def module_dirs() -> list[Path]:
    """Every directory under infra/ that holds .tf files (skipping .terraform)."""
    dirs = {p.parent for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts}
    return sorted(dirs)


# --- Terraform ------------------------------------------------------------------------------------


@dataclass
class Terraform:
    """``terraform`` in one working directory, isolated from the user's CLI config."""

    binary: str
    cwd: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.binary, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            command = " ".join(args)
            pytest.fail(
                f"terraform {command} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}"
            )
        return proc

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color")

    def apply(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Apply with ``variables`` (as a tfvars JSON file) and return the outputs' values."""
        var_file = self.cwd / "test.auto.tfvars.json"
        var_file.write_text(json.dumps(variables), encoding="utf-8")
        self.run("apply", "-auto-approve", "-input=false", "-no-color")
        out = json.loads(self.run("output", "-json", "-no-color").stdout)
        return {name: o["value"] for name, o in out.items()}

    def plan_error(self, variables: dict[str, Any]) -> str:
        """Plan with ``variables``; it must fail. Return its error text on one line."""
        var_file = self.cwd / "test.auto.tfvars.json"
        var_file.write_text(json.dumps(variables), encoding="utf-8")
        proc = self.run("plan", "-input=false", "-no-color", "-refresh=false", check=False)
        assert proc.returncode != 0, f"plan accepted {variables!r}:\n{proc.stdout}"
        return " ".join((proc.stderr + proc.stdout).split())


def offline_root(
    tmp_path: Path, submodule: str, main_tf: str, binary: str, env: dict[str, str]
) -> Terraform:
    """Copy ``infra/modules/<submodule>`` beside a test root module and ``terraform init`` it."""
    shutil.copytree(INFRA / "modules" / submodule, tmp_path / submodule)
    (tmp_path / "main.tf").write_text(main_tf, encoding="utf-8")
    tf = Terraform(binary, tmp_path, env)
    tf.init()
    return tf
