"""``budget-guard lock-models`` and ``budget-guard ceiling --apply`` through the real
google-cloud-quotas client against the stand-in (gemini-prod: tier 1, seven models)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from functions.cli import main
from functions.prices import load_prices
from functions.quotas import ceiling
from standin import StandIn

PROJECT = "gemini-prod"
ALLOW = ["gemini-2.5-flash", "gemini-2.5-flash-lite"]
RPD = "GenerateRequestsPerDayPerProjectPerModel"
TPM = "GenerateContentPaidTierInputTokensPerModelPerMinute"
CREATE = "cloudquotas.projects.locations.quotaPreferences.create"

pytestmark = pytest.mark.usefixtures("guard_env")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_dry_run_shows_the_plan_and_changes_nothing(
    standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    before = standin.quotas(PROJECT)
    code, out = _cli(
        capsys, "lock-models", "--project", PROJECT, "--allow", ",".join(ALLOW), "--dry-run"
    )
    assert code == 0 and "dry run: nothing changed" in out
    assert "gemini-3-pro-image-preview" in out and "gemini-2.5-flash " not in out
    assert standin.quotas(PROJECT) == before and standin.calls(CREATE) == []


def test_lock_zeroes_every_model_but_the_allowed_ones(
    standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    before = standin.quotas(PROJECT)
    code, out = _cli(
        capsys, "lock-models", "--project", PROJECT, "--allow", ",".join(ALLOW), "--yes"
    )
    assert code == 0, out
    after = standin.quotas(PROJECT)
    assert set(after) == set(before)  # every family of the tier
    for quota_id, models in after.items():
        for model, value in models.items():
            if model in ALLOW:
                assert value == before[quota_id][model], (quota_id, model)
            else:
                assert value == 0, (quota_id, model)
    # The price table's models the quota infos do not list are locked too.
    table_only = set(load_prices().models) - set(before[RPD]) - set(ALLOW)
    assert table_only and table_only <= set(after[RPD])
    assert "locked" in out

    code, out = _cli(capsys, "lock-models", "--project", PROJECT, "--allow", ",".join(ALLOW))
    assert code == 0 and "nothing to lock" in out  # a second run finds it done, asks nothing


def test_ceiling_apply_sets_quotas_whose_worst_case_fits(
    standin: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    models = ["gemini-2.5-pro", "gemini-3-pro-image-preview"]
    code, out = _cli(
        capsys,
        "ceiling",
        "--daily",
        "50",
        "--project",
        PROJECT,
        "--models",
        ",".join(models),
        "--input-tokens-per-minute",
        "32000",
        "--apply",
        "--yes",
        "--json",
    )
    assert code == 0, out
    doc = json.loads(out)
    quotas = standin.quotas(PROJECT)
    prices = load_prices()
    total = Decimal(0)
    for model in models:
        rpd, tpm = quotas[RPD][model], quotas[TPM][model]
        assert tpm == 32000 and rpd == doc["models"][model]["requests_per_day"] > 0
        price, _ = prices.lookup(model)
        limit = price.output_token_limit or 0
        worst = ceiling.worst_case(rpd, tpm, limit, price.input, price.output)
        total += worst
    assert total <= 50
    key = f"{PROJECT}/{RPD}/gemini-2.5-pro"
    assert doc["quota_preferences"][key] == {
        "project": PROJECT,
        "quota_id": RPD,
        "model": "gemini-2.5-pro",
        "value": doc["models"]["gemini-2.5-pro"]["requests_per_day"],
    }
    assert len(standin.calls(CREATE)) == 4


def test_a_protected_project_is_refused(
    standin: StandIn, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from tests.sample import policy_doc

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(policy_doc(protected_projects=[PROJECT])))
    code = main(["lock-models", "--project", PROJECT, "--allow", "x", "--policy", str(policy)])
    assert code == 2 and "protected project" in capsys.readouterr().err
    args = ["--policy", str(policy), "--project", PROJECT, "--apply", "--yes"]
    code = main(["ceiling", "--daily", "50", *args])
    assert code == 2 and "protected project" in capsys.readouterr().err
    assert standin.calls(CREATE) == []
