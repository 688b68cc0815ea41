"""The policy: which budgets the guard trusts, which thresholds fire which actions.

Read once at start-up from ``BUDGET_GUARD_POLICY`` (JSON text) or the file named by
``BUDGET_GUARD_POLICY_FILE``, and validated strictly: unknown keys, wrong types and bad values fail
with the path of the field (``rules[1].threshold: must be > 0``). The README documents every key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from functions.errors import PolicyError
from functions.quotas import ids as quota_ids
from functions.watchdog.config import (
    BUDGET_BASES,
    RULE_KEYS,
    WATCHDOG_BASES,
    WatchdogConfig,
    parse_watchdog,
    rule_extras,
)

__all__ = [
    "ENV_POLICY",
    "ENV_POLICY_FILE",
    "GEMINI_SERVICE",
    "PROJECT_PLACEHOLDER",
    "Budget",
    "CeilingConfig",
    "KeysConfig",
    "LedgerConfig",
    "Policy",
    "Rule",
    "ThrottleConfig",
    "ThrottleQuota",
    "load_policy",
    "parse_policy",
]

ENV_POLICY = "BUDGET_GUARD_POLICY"
ENV_POLICY_FILE = "BUDGET_GUARD_POLICY_FILE"
GEMINI_SERVICE = "generativelanguage.googleapis.com"
PROJECT_PLACEHOLDER = "{project}"
BASES = BUDGET_BASES + WATCHDOG_BASES
CALENDAR_PERIODS = ("MONTH", "QUARTER", "YEAR")

_ACCOUNT = re.compile(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")
_BUDGET = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_RULE = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_DATABASE = re.compile(r"\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9]")
_TOPIC = re.compile(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][\w.~+%-]{2,254}")
_SECRET = re.compile(r"projects/[a-z0-9-]{6,30}/secrets/[\w-]{1,255}")
_SERVICE = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")
_CURRENCY = re.compile(r"[A-Z]{3}")

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """Fire ``actions`` once per crossing when spend reaches ``threshold`` of the budget.

    ``rate``/``baseline`` rules (the usage watchdog's) have no threshold: spend in the last
    ``window_minutes`` >= ``amount`` (and >= ``multiple`` x the trailing 7-day average).
    """

    name: str
    threshold: Decimal | None
    basis: str
    actions: tuple[str, ...]
    window_minutes: int | None = None
    amount: Decimal | None = None
    multiple: Decimal | None = None

    @property
    def from_budget(self) -> bool:
        """Evaluated on budget notifications (else by the usage watchdog)."""
        return self.basis in BUDGET_BASES


@dataclass(frozen=True)
class Budget:
    """A budget the guard trusts and the projects it guards."""

    id: str
    projects: tuple[str, ...]
    currency: str | None = None
    # MONTH, QUARTER or YEAR (Terraform fills it): a period start older than one such period
    # before the message was published is refused as stale. None: not checked.
    calendar_period: str | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class LedgerConfig:
    """Where the once-per-crossing ledger lives: a Firestore database."""

    project: str
    database: str


@dataclass(frozen=True)
class KeysConfig:
    """Which API keys the key actions select, and where rotated key strings go.

    ``secret`` may hold ``{project}`` (``PROJECT_PLACEHOLDER``): each guarded project's rotation
    then writes to its own secret, so every consumer finds its own project's keys at ``latest``.
    """

    match: str | tuple[str, ...] = "gemini"
    secret: str | None = None

    def secret_for(self, project: str) -> str | None:
        """The secret ``project``'s rotations write to, or None when none is configured."""
        return None if self.secret is None else self.secret.replace(PROJECT_PLACEHOLDER, project)


@dataclass(frozen=True)
class ThrottleQuota:
    """Lower one quota family to ``value`` for ``models`` (("*",) = every model listed)."""

    family: str
    value: int
    models: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class ThrottleConfig:
    """What ``throttle`` lowers; ``tier`` picks the quota ids ("auto": every tier present)."""

    quotas: tuple[ThrottleQuota, ...]
    tier: str = "auto"


@dataclass(frozen=True)
class CeilingConfig:
    """The most one day may cost through the quotas the ceiling planner sets (``check``)."""

    daily: Decimal
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """The whole, validated policy."""

    billing_account: str
    budgets: dict[str, Budget]
    rules: tuple[Rule, ...]
    ledger: LedgerConfig
    protected_projects: frozenset[str] = frozenset()
    dry_run: bool = False
    events_topic: str | None = None
    keys: KeysConfig = field(default_factory=KeysConfig)
    services: tuple[str, ...] = (GEMINI_SERVICE,)
    # The alerts topic (projects/P/topics/T) the CloudEvent's source must name. None: not checked.
    source_topic: str | None = None
    watchdog: WatchdogConfig | None = None
    throttle: ThrottleConfig | None = None
    ceiling: CeilingConfig | None = None

    def is_protected(self, project: str) -> bool:
        return project in self.protected_projects


# --- small validators: each takes (value, path) and returns the typed value or raises ---------


def _object(value: Any, path: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(path, f"must be an object, got {_kind(value)}")
    for key in sorted(required - value.keys()):
        raise PolicyError(_join(path, key), "is required")
    for key in sorted(value.keys() - required - optional):
        raise PolicyError(
            _join(path, str(key)),
            f"is not a known key (known: {', '.join(sorted(required | optional))})",
        )
    return value


def _string(value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
    if not isinstance(value, str):
        raise PolicyError(path, f"must be a string, got {_kind(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise PolicyError(path, f"must be {what}, got {value!r}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(
            path, f"must be a JSON boolean (true or false), got {_kind(value)} {value!r}"
        )
    return value


def _number(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise PolicyError(path, f"must be a number, got {_kind(value)}")
    number = Decimal(str(value))
    if not number.is_finite():
        raise PolicyError(path, "must be finite")
    return number


def _list(
    value: Any, path: str, item: Callable[[Any, str], T], *, unique: bool = True
) -> tuple[T, ...]:
    if not isinstance(value, list):
        raise PolicyError(path, f"must be a list, got {_kind(value)}")
    items = tuple(item(v, f"{path}[{i}]") for i, v in enumerate(value))
    if unique:
        for i, v in enumerate(items):
            if v in items[:i]:
                raise PolicyError(f"{path}[{i}]", f"duplicates {v!r}")
    return items


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- the document -------------------------------------------------------------------------------


def _project(value: Any, path: str) -> str:
    return _string(value, path, _PROJECT, "a project ID (6-30 lowercase letters, digits, hyphens)")


# Actions whose keys come with the firing, so only some rule bases can drive them.
_ACTION_BASES: dict[str, tuple[tuple[str, ...], str]] = {
    "revoke_offending_keys": (
        ("rate",),
        "revokes the keys a per-key rate names: use it in a rate rule",
    ),
    "revoke_leaked_key": (
        (),
        "runs on LEAKED_CREDENTIALS abuse events (leaked_key), never in a rule",
    ),
}


def _rule(value: Any, path: str, known_actions: frozenset[str]) -> Rule:
    common = {"name", "basis", "actions"}
    extra = set(value) - common if isinstance(value, Mapping) else set()
    basis = _string(_object(value, path, common, extra)["basis"], f"{path}.basis")
    if basis not in BASES:
        raise PolicyError(f"{path}.basis", f"must be one of {', '.join(BASES)}, got {basis!r}")
    required, optional = RULE_KEYS[basis]
    obj = _object(value, path, common | required, set(optional))
    threshold = None
    if "threshold" in obj:
        threshold = _number(obj["threshold"], f"{path}.threshold")
        if threshold <= 0:
            raise PolicyError(
                f"{path}.threshold", "must be > 0 (a fraction of the budget: 1.0 = 100 %)"
            )
        if threshold > 100:
            raise PolicyError(
                f"{path}.threshold", "must be <= 100 (a fraction of the budget: 1.0 = 100 %)"
            )

    def action(v: Any, p: str) -> str:
        name = _string(v, p)
        if name not in known_actions:
            raise PolicyError(
                p, f"unknown action {name!r} (known: {', '.join(sorted(known_actions))})"
            )
        if name in _ACTION_BASES and basis not in _ACTION_BASES[name][0]:
            raise PolicyError(p, f"{name} {_ACTION_BASES[name][1]}; this rule's basis is {basis}")
        return name

    actions = _list(obj["actions"], f"{path}.actions", action)
    if not actions:
        raise PolicyError(f"{path}.actions", "must name at least one action")
    return Rule(
        name=_string(obj["name"], f"{path}.name", _RULE, "a rule name ([a-z][a-z0-9_-]{0,39})"),
        threshold=threshold,
        basis=basis,
        actions=actions,
        **rule_extras(obj, path, basis),
    )


def _budgets(value: Any, path: str) -> dict[str, Budget]:
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(path, "must be a non-empty object of budget id -> {projects: [...]}")
    budgets = {}
    for budget_id, spec in value.items():
        p = f"{path}.{budget_id}"
        _string(budget_id, p, _BUDGET, "a budget id (the UUID at the end of the budget's name)")
        obj = _object(spec, p, {"projects"}, {"currency", "calendar_period", "amount"})
        projects = _list(obj["projects"], f"{p}.projects", _project)
        if not projects:
            raise PolicyError(f"{p}.projects", "must name at least one project")
        currency = obj.get("currency")
        if currency is not None:
            currency = _string(currency, f"{p}.currency", _CURRENCY, "an ISO 4217 code like USD")
        period = obj.get("calendar_period")
        if period is not None and period not in CALENDAR_PERIODS:
            raise PolicyError(
                f"{p}.calendar_period",
                f"must be one of {', '.join(CALENDAR_PERIODS)}, got {period!r}",
            )
        amount = None
        if "amount" in obj:
            amount = _number(obj["amount"], f"{p}.amount")
            if amount <= 0:
                raise PolicyError(f"{p}.amount", "must be > 0 (the budget's amount per period)")
        budgets[budget_id] = Budget(budget_id, projects, currency, period, amount)
    return budgets


def _keys(value: Any, path: str) -> KeysConfig:
    obj = _object(value, path, set(), {"match", "secret"})
    match: str | tuple[str, ...] = "gemini"
    if "match" in obj:
        raw = obj["match"]
        if isinstance(raw, list):
            match = _list(raw, f"{path}.match", lambda v, p: _string(v, p))
            if not match:
                raise PolicyError(f"{path}.match", "must name at least one key display name")
        elif raw != "gemini":
            raise PolicyError(
                f"{path}.match", f'must be "gemini" or a list of display names, got {raw!r}'
            )
    secret = obj.get("secret")
    if secret is not None:
        # Checked with the longest project ID in place of the placeholder: every name it makes
        # is a valid secret name.
        _string(secret, f"{path}.secret", None)
        _string(
            secret.replace(PROJECT_PLACEHOLDER, "p" * 30),
            f"{path}.secret",
            _SECRET,
            "projects/PROJECT/secrets/NAME (NAME may hold {project})",
        )
    return KeysConfig(match, secret)


def _host_not_unlinked(policy: Policy) -> None:
    """Refuse disable_billing on the guard's own host project (the ledger's project).

    Unlinking it would stop the guard itself (the function, its ledger, its alerts) in the middle
    of a crossing, with the other projects' brakes possibly not yet run. Host the guard in a
    project of its own (infra/README.md), or protect the host project.
    """
    host = policy.ledger.project
    if policy.is_protected(host) or not any("disable_billing" in r.actions for r in policy.rules):
        return
    for budget in policy.budgets.values():
        if host in budget.projects:
            raise PolicyError(
                f"budgets.{budget.id}.projects[{budget.projects.index(host)}]",
                f"{host} is the guard's own host project (ledger.project): disable_billing there "
                "would stop the guard itself; host the guard in a project of its own, or add "
                f"{host} to protected_projects",
            )


def _one_writer_per_secret(policy: Policy) -> None:
    """Refuse a key secret that the rotations of several projects would each overwrite."""
    secret = policy.keys.secret
    if secret is None or PROJECT_PLACEHOLDER in secret:
        return
    if not any("rotate_keys" in rule.actions for rule in policy.rules):
        return
    writers = sorted(
        {p for b in policy.budgets.values() for p in b.projects if not policy.is_protected(p)}
    )
    if len(writers) > 1:
        raise PolicyError(
            "keys.secret",
            f"would be overwritten by the rotate_keys of {len(writers)} projects "
            f"({', '.join(writers)}): each version holds one project's keys, so the others' "
            f"consumers would lose theirs. Put {PROJECT_PLACEHOLDER} in the secret's name "
            f"(e.g. {secret}-{PROJECT_PLACEHOLDER}) for one secret per project",
        )


def parse_policy(doc: Any, known_actions: frozenset[str] | None = None) -> Policy:
    """Validate a decoded policy document and return the Policy, or raise PolicyError."""
    if known_actions is None:
        from functions.actions import REGISTRY

        known_actions = frozenset(REGISTRY)
    obj = _object(
        doc,
        "",
        {"billing_account", "budgets", "rules", "ledger"},
        {
            "protected_projects",
            "dry_run",
            "events_topic",
            "keys",
            "services",
            "source_topic",
            "watchdog",
            "throttle",
            "ceiling",
        },
    )
    rules = _list(obj["rules"], "rules", lambda v, p: _rule(v, p, known_actions), unique=False)
    if not rules:
        raise PolicyError("rules", "must hold at least one rule")
    for i, rule in enumerate(rules):
        if rule.name in [r.name for r in rules[:i]]:
            raise PolicyError(f"rules[{i}].name", f"duplicates rule name {rule.name!r}")
    ledger = _object(obj["ledger"], "ledger", {"project", "database"}, set())
    events_topic = obj.get("events_topic")
    if events_topic is not None:
        events_topic = _string(events_topic, "events_topic", _TOPIC, "projects/PROJECT/topics/NAME")
    source_topic = obj.get("source_topic")
    if source_topic is not None:
        source_topic = _string(source_topic, "source_topic", _TOPIC, "projects/PROJECT/topics/NAME")
    services = _list(
        obj.get("services", [GEMINI_SERVICE]),
        "services",
        lambda v, p: _string(
            v, p, _SERVICE, "a service name like generativelanguage.googleapis.com"
        ),
    )
    if not services:
        raise PolicyError("services", "must name at least one service")
    budgets = _budgets(obj["budgets"], "budgets")
    ledger_project = _project(ledger["project"], "ledger.project")
    watchdog = None
    if "watchdog" in obj:
        watchdog = parse_watchdog(obj["watchdog"], "watchdog", ledger_project, _project)
    _check_watchdog_rules(rules, budgets, watchdog)
    policy = Policy(
        billing_account=_string(
            obj["billing_account"],
            "billing_account",
            _ACCOUNT,
            "a billing account id like 01D4EE-079462-DFD6EC",
        ),
        budgets=budgets,
        rules=rules,
        ledger=LedgerConfig(
            project=ledger_project,
            database=_string(
                ledger["database"], "ledger.database", _DATABASE, "a Firestore database id"
            ),
        ),
        protected_projects=frozenset(
            _list(obj.get("protected_projects", []), "protected_projects", _project)
        ),
        dry_run=_bool(obj.get("dry_run", False), "dry_run"),
        events_topic=events_topic,
        keys=_keys(obj.get("keys", {}), "keys"),
        services=services,
        source_topic=source_topic,
        watchdog=watchdog,
        throttle=_throttle(obj.get("throttle"), rules),
        ceiling=None if obj.get("ceiling") is None else _ceiling(obj["ceiling"], "ceiling"),
    )
    _one_writer_per_secret(policy)
    _host_not_unlinked(policy)
    return policy


# --- the quota brakes (functions/quotas) ---------------------------------------------------------

QUOTA_FAMILIES = quota_ids.FAMILIES
QUOTA_TIERS = ("auto", *quota_ids.TIERS)
_MODEL = re.compile(r"\*|[a-z0-9][a-z0-9.-]{0,99}")


def _count(value: Any, path: str) -> int:
    number = _number(value, path)
    if number != number.to_integral_value() or number < 0:
        raise PolicyError(path, f"must be a whole number >= 0, got {value!r}")
    return int(number)


def _throttle_quota(value: Any, path: str) -> ThrottleQuota:
    obj = _object(value, path, {"family", "value"}, {"models"})
    family = _string(obj["family"], f"{path}.family")
    if family not in QUOTA_FAMILIES:
        raise PolicyError(f"{path}.family", f"must be one of {', '.join(QUOTA_FAMILIES)}")
    models = _list(
        obj.get("models", ["*"]),
        f"{path}.models",
        lambda v, p: _string(v, p, _MODEL, 'a Gemini model id like "gemini-2.5-pro", or "*"'),
    )
    if not models:
        raise PolicyError(f"{path}.models", 'must name at least one model (or "*")')
    return ThrottleQuota(family, _count(obj["value"], f"{path}.value"), models)


def _throttle(value: Any, rules: tuple[Rule, ...]) -> ThrottleConfig | None:
    if value is None:
        for i, rule in enumerate(rules):
            if "throttle" in rule.actions:
                raise PolicyError(
                    f"rules[{i}].actions", 'throttle needs a "throttle" section naming the quotas'
                )
        return None
    obj = _object(value, "throttle", {"quotas"}, {"tier"})
    quotas = _list(obj["quotas"], "throttle.quotas", _throttle_quota, unique=False)
    if not quotas:
        raise PolicyError("throttle.quotas", "must name at least one quota")
    tier = _string(obj.get("tier", "auto"), "throttle.tier")
    if tier not in QUOTA_TIERS:
        raise PolicyError("throttle.tier", f"must be one of {', '.join(QUOTA_TIERS)}")
    return ThrottleConfig(quotas, tier)


def _ceiling(value: Any, path: str) -> CeilingConfig:
    obj = _object(value, path, {"daily"}, {"models"})
    raw = obj["daily"]
    if isinstance(raw, str):  # "50": an amount as a string, the way Terraform renders it
        try:
            raw = Decimal(raw)
        except ArithmeticError:
            raise PolicyError(f"{path}.daily", f"must be an amount, got {raw!r}") from None
    daily = _number(raw, f"{path}.daily")
    if daily <= 0:
        raise PolicyError(f"{path}.daily", "must be > 0 (the most one day may cost)")
    models = _list(
        obj.get("models", []),
        f"{path}.models",
        lambda v, p: _string(v, p, _MODEL, 'a Gemini model id like "gemini-2.5-pro"'),
    )
    return CeilingConfig(daily, models)


def _check_watchdog_rules(
    rules: tuple[Rule, ...], budgets: Mapping[str, Budget], watchdog: WatchdogConfig | None
) -> None:
    """Watchdog rules need the watchdog section; an ``estimate`` rule, every budget's amount."""
    for i, rule in enumerate(rules):
        if rule.basis not in WATCHDOG_BASES:
            continue
        if watchdog is None:
            raise PolicyError(
                f"rules[{i}].basis",
                f"{rule.basis} rules need the watchdog section (watchdog: {{}})",
            )
        if rule.basis == "estimate":
            for budget in budgets.values():
                if budget.amount is None:
                    raise PolicyError(
                        f"budgets.{budget.id}.amount",
                        f"is required by the estimate rule rules[{i}] ({rule.name})",
                    )


def load_policy(environ: Mapping[str, str] | None = None) -> Policy:
    """Read and validate the policy named by the environment; raise PolicyError if it is bad."""
    env = os.environ if environ is None else environ
    text, source = env.get(ENV_POLICY), ENV_POLICY
    if text is None and env.get(ENV_POLICY_FILE):
        source = env[ENV_POLICY_FILE]
        try:
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise PolicyError("", f"cannot read policy file {source}: {exc.strerror}") from None
    if text is None:
        raise PolicyError("", f"no policy: set {ENV_POLICY} (JSON) or {ENV_POLICY_FILE} (a path)")
    try:
        doc = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise PolicyError("", f"{source} is not valid JSON: {exc}") from None
    return parse_policy(doc)
