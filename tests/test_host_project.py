"""A guarded project that is also the guard's host (the ledger's project) is never unlinked.

Decision (README, "Decisions"): refused in the policy, naming the field, when a rule uses
disable_billing and the host is not protected; the Terraform plan refuses it too (tests/infra).
"""

from __future__ import annotations

import pytest

from functions.errors import PolicyError
from functions.policy import parse_policy
from tests.sample import BUDGET, policy_doc

HOST = "guard-host"  # tests.sample's ledger project
BOTH = {BUDGET: {"projects": ["gemini-prod", HOST]}}


def test_disable_billing_on_the_host_project_is_refused_naming_the_field() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(policy_doc(budgets=BOTH))
    assert info.value.path == f"budgets.{BUDGET}.projects[1]"
    assert "would stop the guard itself" in info.value.reason


def test_a_protected_host_or_no_unlink_is_accepted() -> None:
    parse_policy(policy_doc(budgets=BOTH, protected_projects=[HOST]))
    notify = [{"name": "w", "threshold": 0.5, "basis": "actual", "actions": ["notify"]}]
    parse_policy(policy_doc(budgets=BOTH, rules=notify))
