"""infra/modules/source evaluated for real: which files the function's source zip holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.helpers import REPO, offline_root

NEVER = ("tests/", "standin/", "local/", "bench/", "infra/", "docs/")


def files_in(tmp_path: Path, source_dir: Path, binary: str, env: dict[str, str]) -> list[str]:
    main_tf = f"""
module "source" {{
  source     = "./source"
  source_dir = "{source_dir.as_posix()}"
}}

output "files" {{ value = module.source.files }}
"""
    tf = offline_root(tmp_path, "source", main_tf, binary, env)
    files = tf.apply({})["files"]
    assert isinstance(files, list)
    return files


def test_repository_zip_holds_only_main_requirements_and_functions(
    tmp_path: Path, terraform_binary: str, terraform_env: dict[str, str]
) -> None:
    files = files_in(tmp_path, REPO, terraform_binary, terraform_env)
    assert "main.py" in files and "requirements.txt" in files
    for f in files:
        assert f in ("main.py", "requirements.txt") or f.startswith("functions/"), f"zip holds {f}"
        assert not f.startswith(NEVER), f"zip holds {f}"
        assert "__pycache__" not in f and not f.endswith(".pyc"), f"zip holds {f}"
    # Every module of the package is there (a package missing a file fails at import in the cloud).
    package = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "functions").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert package, "functions/ has no Python files"
    missing = set(package) - set(files)
    assert not missing, f"zip lacks {sorted(missing)}"


def test_zip_selection_on_a_tree_with_everything_that_must_stay_out(
    tmp_path: Path, terraform_binary: str, terraform_env: dict[str, str]
) -> None:
    tree = tmp_path / "repo"
    wanted = [
        "main.py",
        "requirements.txt",
        "functions/__init__.py",
        "functions/ledger/store.py",
        "functions/data.json",
    ]
    unwanted = [
        "tests/test_x.py",
        "tests/infra/test_y.py",
        "standin/server.py",
        "local/demo.py",
        "bench/cold.py",
        "infra/main.tf",
        "docs/guide.md",
        "README.md",
        "requirements-dev.txt",
        ".venv/lib/site.py",
        ".git/HEAD",
        "functions/__pycache__/policy.cpython-311.pyc",
        "functions/ledger/__pycache__/store.cpython-311.pyc",
        "functions/old.pyc",
        "functions/.mypy_cache/x.json",
    ]
    for rel in wanted + unwanted:
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n", encoding="utf-8")
    work = tmp_path / "tf"
    work.mkdir()
    assert files_in(work, tree, terraform_binary, terraform_env) == sorted(wanted)


def test_source_dir_without_the_function_is_refused(
    tmp_path: Path, terraform_binary: str, terraform_env: dict[str, str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    work = tmp_path / "tf"
    work.mkdir()
    with pytest.raises(pytest.fail.Exception, match=r"source_dir must hold main\.py"):
        files_in(work, empty, terraform_binary, terraform_env)
