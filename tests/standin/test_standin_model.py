"""The seed format, the demo seed, the permission table and CRC32C."""

from __future__ import annotations

import json
from typing import Any

import pytest

from standin import METHOD_IDS, METHOD_PERMISSIONS, SeedError
from standin.crc32c import crc32c
from standin.seedfile import DEFAULT_SEED_PATH, load_seed
from standin.state import World


def _seed() -> dict[str, Any]:
    return json.loads(DEFAULT_SEED_PATH.read_text())


def test_crc32c_known_vector() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_every_method_has_a_permission_entry() -> None:
    assert set(METHOD_IDS) == set(METHOD_PERMISSIONS)
    # + IAM, Resource Manager v3, Cloud Quotas (6), Monitoring (gRPC, 2), Catalog, keys.patch
    assert len(METHOD_IDS) == 31


def test_demo_seed_is_realistic() -> None:
    seed = _seed()
    prod = seed["projects"]["gemini-prod"]
    assert prod["number"] == "123456789012"
    assert prod["billing_account"] == "billingAccounts/01D4EE-079462-DFD6EC"
    assert {"generativelanguage.googleapis.com", "aiplatform.googleapis.com"} <= {
        s for s, state in prod["services"].items() if state == "ENABLED"
    }
    auth, standard, maps = prod["keys"]
    assert auth["keyString"].startswith("AQ.") and 45 <= len(auth["keyString"]) - 3 <= 55
    assert auth["serviceAccountEmail"] == "gemini-app@gemini-prod.iam.gserviceaccount.com"
    assert auth["annotations"]
    for key in (standard, maps):
        assert key["keyString"].startswith("AIza") and len(key["keyString"]) == 39
        assert "FAKE" in key["keyString"]
    targets = [t["service"] for t in maps["restrictions"]["apiTargets"]]
    assert targets == ["maps-backend.googleapis.com"]
    assert seed["projects"]["gemini-staging"]["number"] == "210987654321"
    assert seed["projects"]["shared-infra"]["billing_account"]
    assert seed["secrets"]["projects/guard-host/secrets/gemini-api-key"]["versions"] == []


def test_export_round_trips() -> None:
    world = World(load_seed())
    exported = world.to_seed()
    assert World(exported).to_seed() == exported
    assert world.project("123456789012") is world.project("gemini-prod")
    assert world.secret("guard-host", "gemini-api-key") is not None


@pytest.mark.parametrize(
    ("seed", "where"),
    [
        ({"projects": {"p": {"number": 12}}}, "projects.p.number"),
        ({"projects": {"p": {"number": "1", "services": {"s": "ON"}}}}, "projects.p.services.s"),
        ({"projects": {"p": {"number": "1", "keys": [{"uid": "u"}]}}}, "keys[0].keyString"),
        ({"secrets": {"s": {"versions": [{"version": "one"}]}}}, "versions[0].version"),
        ({"projcts": {}}, "unknown top-level"),
        ([], "expected an object"),
    ],
)
def test_malformed_seeds_name_the_field(seed: Any, where: str) -> None:
    with pytest.raises(SeedError, match=where.replace("[", r"\[").replace("]", r"\]")):
        World(seed)


def test_seed_file_errors_are_seed_errors(tmp_path: Any) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(SeedError, match="cannot read seed"):
        load_seed(broken)
