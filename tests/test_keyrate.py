"""A rate rule evaluated per key (pure) and ``revoke_offending_keys`` against the stand-in: a
burst on one key revokes that key alone; another key of the same project keeps working."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from functions.actions.offending import RevokeOffendingKeys
from functions.decision import Crossing, Firing
from functions.executor import Executor
from functions.keyrate import evaluate, offending
from functions.ledger.memory import MemoryLedger
from functions.log import Logger
from functions.notification import from_cloud_event, parse
from functions.policy import Rule, parse_policy
from standin import StandIn
from tests import keyzoo
from tests.sample import POLICY, event, policy_doc

GET = "apikeys.projects.locations.keys.get"
DELETE = "apikeys.projects.locations.keys.delete"


def test_each_key_gets_its_share_of_the_project_spend_per_request() -> None:
    rates = evaluate({"burst": 9000, "steady": 40}, 9040, Decimal("150"), Decimal("50"))
    assert [(r.key, r.requests, r.crossed) for r in rates] == [
        ("burst", 9000, True),
        ("steady", 40, False),
    ]
    assert rates[0].spend == Decimal("149.3363")
    assert [r.key for r in offending(rates)] == ["burst"]
    assert "estimated 149.34 USD >= 50 USD" in rates[0].why(Decimal(50), 10)


@pytest.mark.parametrize(
    ("requests", "total", "spend"),
    [({"a": 0, "b": 0}, 0, Decimal(100)), ({"a": 10}, 10, Decimal(0)), ({"a": -5}, 0, Decimal(9))],
)
def test_no_request_or_no_spend_crosses_for_no_key(
    requests: dict[str, int], total: int, spend: Decimal
) -> None:
    assert offending(evaluate(requests, total, spend, Decimal("0.01"))) == []


def test_requests_no_key_made_dilute_every_key_share() -> None:
    # 1000 OAuth requests besides the key's 1000: the key made half the spend, not all of it.
    (rate,) = evaluate({"k": 1000}, 2000, Decimal(100), Decimal(60))
    assert rate.spend == Decimal(50) and not rate.crossed


@pytest.mark.usefixtures("guard_env")
def test_a_burst_on_one_key_revokes_that_key_alone(standin: StandIn) -> None:
    standin.set_state(keyzoo.world())
    with standin.world.lock:  # exactly what the action declares, nothing more
        standin.world.projects[keyzoo.PROJECT].granted_permissions = sorted(
            RevokeOffendingKeys.permissions
        )
    doc = policy_doc(budgets={next(iter(POLICY["budgets"])): {"projects": [keyzoo.PROJECT]}})
    policy = parse_policy(doc)
    requests = {keyzoo.uid(1): 9000, keyzoo.uid(3): 40}
    rates = evaluate(requests, 9040, Decimal("150"), Decimal("50"))
    crossed = offending(rates)
    rule = Rule("burst", Decimal("50"), "rate", ("revoke_offending_keys",))
    names = {keyzoo.uid(n): keyzoo.name(n) for n in (1, 3)}
    firing = Firing(
        rule,
        keyzoo.PROJECT,
        Crossing("watchdog", "2026-12-01T19:00:00Z", "50", "burst", keyzoo.PROJECT),
        "; ".join(r.why(Decimal(50), 10) for r in crossed),
        False,
        targets=tuple(names[r.key] for r in crossed),
    )
    n = parse(from_cloud_event(event(10)), policy.billing_account, policy.budgets)
    ledger = MemoryLedger()
    Executor(policy, lambda: ledger, Logger(stream=io.StringIO())).run(n, [firing])

    keys = {k["uid"]: k for k in standin.state["projects"][keyzoo.PROJECT]["keys"]}
    assert keys[keyzoo.uid(1)]["deleteTime"] is not None
    assert keys[keyzoo.uid(3)]["deleteTime"] is None  # the steady key keeps working
    assert [c["status"] for c in standin.calls(DELETE)] == [200]
    (record,) = ledger.records(project=keyzoo.PROJECT)
    entry = record["actions"]["revoke_offending_keys"]
    assert entry["status"] == "done" and entry["progress"]["deleted"] == [keyzoo.name(1)]
    assert "9000 request(s) in 10 min" in entry["progress"]["why"][keyzoo.name(1)]


@pytest.mark.parametrize(
    ("basis", "action", "message"),
    [
        ("actual", "revoke_offending_keys", "use it in a rate rule; this rule's basis is actual"),
        ("rate", "revoke_leaked_key", "never in a rule; this rule's basis is rate"),
    ],
)
def test_a_policy_naming_a_per_key_action_outside_its_basis_fails_at_start_up(
    basis: str, action: str, message: str
) -> None:
    from functions.errors import PolicyError

    rule: dict[str, object] = {"name": "r", "basis": basis, "actions": [action]}
    rule.update({"threshold": 1} if basis == "actual" else {"window_minutes": 10, "amount": 5})
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy_doc(rules=[rule]))
    assert caught.value.path == "rules[0].actions[0]" and message in caught.value.reason


@pytest.mark.usefixtures("guard_env")
def test_a_key_deleted_before_the_firing_is_not_recorded_as_the_guards(standin: StandIn) -> None:
    world = keyzoo.world()
    world["projects"][keyzoo.PROJECT]["keys"][0]["deleteTime"] = "2026-11-30T00:00:00Z"
    standin.set_state(world)
    policy = parse_policy(
        policy_doc(budgets={next(iter(POLICY["budgets"])): {"projects": [keyzoo.PROJECT]}})
    )
    rule = Rule("burst", None, "rate", ("revoke_offending_keys",), 10, Decimal(50))
    firing = Firing(
        rule,
        keyzoo.PROJECT,
        Crossing("watchdog", "2026-12-01T19:00:00Z", "50", "burst", keyzoo.PROJECT),
        "a burst",
        False,
        targets=(keyzoo.uid(1),),  # by uid, as a per-key rate names it
    )
    n = parse(from_cloud_event(event(10)), policy.billing_account, policy.budgets)
    ledger = MemoryLedger()
    Executor(policy, lambda: ledger, Logger(stream=io.StringIO())).run(n, [firing])
    (record,) = ledger.records(project=keyzoo.PROJECT)
    entry = record["actions"]["revoke_offending_keys"]
    assert entry["status"] == "noop" and entry["progress"]["deleted"] == []
    assert entry["progress"]["already_deleted"] == [keyzoo.name(1)]  # restore leaves it alone
    assert standin.calls(DELETE) == []
