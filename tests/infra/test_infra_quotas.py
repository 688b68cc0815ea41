"""infra/quotas.tf's rows evaluated for real (offline): the model lock and explicit quota values
become the preferences the CLI would set, under the same ids.

The file's variables and locals are applied in a provider-free root; the preference's ``name``
expression is taken from the parsed resource and evaluated there for each row.
"""

from __future__ import annotations

from pathlib import Path

from functions.quotas.api import preference_id
from functions.quotas.ids import FAMILIES, TIERS, quota_id
from tests.infra.helpers import INFRA, Module, Terraform

RESOURCE = 'resource "google_cloud_quotas_quota_preference"'


def _root(tmp_path: Path, root: Module, binary: str, env: dict[str, str]) -> Terraform:
    text = (INFRA / "quotas.tf").read_text(encoding="utf-8")
    name = root.resource("google_cloud_quotas_quota_preference", "this")["name"]
    body = text[: text.index(RESOURCE)] + (
        'output "rows" { value = local.quota_preferences }\n'
        'output "names" {\n'
        "  value = { for k, each_value in local.quota_preferences : k => "
        + '"'
        + name.replace("each.value", "each_value")
        + '" }\n}\n'
        'output "ids" { value = local.quota_ids_by_tier }\n'
    )
    (tmp_path / "main.tf").write_text(body, encoding="utf-8")
    tf = Terraform(binary, tmp_path, env)
    tf.init()
    return tf


def test_model_lock_and_values_render_with_the_clis_ids(
    tmp_path: Path, root: Module, terraform_binary: str, terraform_env: dict[str, str]
) -> None:
    tf = _root(tmp_path, root, terraform_binary, terraform_env)
    rpd = "GenerateRequestsPerDayPerProjectPerModel-PaidTier2"
    out = tf.apply(
        {
            "model_lock": {"gemini-prod": {"allowed": ["gemini-2.5-flash"]}},
            "gemini_models": ["gemini-2.5-flash", "gemini-2.5-pro"],
            "quota_values": {
                f"gemini-staging/{rpd}/gemini-2.5-pro": {
                    "project": "gemini-staging",
                    "quota_id": rpd,
                    "model": "gemini-2.5-pro",
                    "value": 21,
                }
            },
        }
    )
    tier1 = [quota_id(f, "tier1") for f in FAMILIES]
    want = {f"gemini-prod/{q}/gemini-2.5-pro" for q in tier1} | {
        f"gemini-staging/{rpd}/gemini-2.5-pro"
    }
    assert set(out["rows"]) == want
    for key, row in out["rows"].items():
        assert row["value"] == (21 if row["project"] == "gemini-staging" else 0)
        assert out["names"][key] == preference_id(row["purpose"], row["quota_id"], row["model"])
    assert {t: sorted(ids) for t, ids in out["ids"].items()} == {
        t: sorted(quota_id(f, t) for f in FAMILIES) for t in TIERS
    }


def test_the_preference_resource_passes_one_safety_check_string(root: Module) -> None:
    pref = root.resource("google_cloud_quotas_quota_preference", "this")
    assert pref["ignore_safety_checks"] == "QUOTA_DECREASE_PERCENTAGE_TOO_HIGH"
    assert pref["service"] == "${local.gemini_service}"
    assert pref["quota_config"][0]["preferred_value"] == "${tostring(each.value.value)}"
