"""``throttle``: lower the project's Gemini quotas so Google answers 429 instead of billing.

The gentle brake: the API keeps working for a trickle of requests (the policy's values, e.g. 1
request per minute per model) while a human looks. What it lowers is the policy's ``throttle``
section: quota families (requests per minute, requests per day, input tokens per minute), the
value and the models (``*``: every model the project's quota infos list). The tier's quota ids
are resolved from ``quotaInfos.list`` (``functions.quotas.ids``). A quota already at or below its
value is left alone; nothing is ever raised.

One QuotaPreference per (quota id, model), both safety checks ignored, its id derived from the
crossing, the quota and the model. Progress in the ledger (``functions.quotas.apply``):
``replaced`` (every row and the value in force before it, recorded before the first write, so
``budget-guard restore`` can put it back) and ``lowered``. A failure of one row does not stop
the others: transient ones are raised at the end (redelivery resumes), permanent ones (a fixed
quota, a missing permission, a quota the project does not have) become one ActionFailed.
"""

from __future__ import annotations

from typing import Any

from functions.actions.base import Action, Context, Outcome
from functions.errors import ActionFailed, TransientError

__all__ = ["Throttle"]


class Throttle(Action):
    name = "throttle"
    summary = "lower the project's Gemini quotas (Cloud Quotas) to the policy's throttle values"
    # quotaInfos.list/get and quotaPreferences.list/get need cloudquotas.quotas.get; create and
    # patch need cloudquotas.quotas.update (docs.cloud.google.com/docs/quotas/reference/rest).
    permissions = frozenset(
        {
            "cloudquotas.quotas.get",
            "cloudquotas.quotas.update",
            "resourcemanager.projects.get",  # the restore marker (functions/restored.py)
        }
    )
    config = ("throttle",)
    # Project-wide, every key at once, but a trickle still flows: above revoking the keys a
    # leak may not be using, below switching the API off.
    strength = 2

    def run(self, ctx: Context) -> Outcome:
        from functions.quotas import api
        from functions.quotas.apply import apply_targets, record_plan
        from functions.quotas.plan import throttle_targets

        config = ctx.policy.throttle
        if config is None:  # parse_policy refuses a rule naming throttle without the section
            raise ActionFailed("the policy has no throttle section", "add one (README)")
        if "replaced" not in ctx.progress:
            targets, notes = throttle_targets(config, api.infos(ctx.project))
            for note in notes:
                ctx.log.warning(f"throttle: {note}")
            record_plan(ctx.progress, targets)
            ctx.checkpoint()
        result = apply_targets(
            ctx.project, ctx.firing.crossing.doc_id, ctx.progress, ctx.checkpoint, ctx.log.info
        )
        replaced = ctx.progress.get("replaced", {})
        lowered = ctx.progress.get("lowered", [])
        if result.transient:
            raise TransientError("; ".join(map(str, [*result.transient, *result.failures])))
        if result.failures:
            reasons = "; ".join(exc.reason for exc in result.failures)
            remedies = "; ".join(dict.fromkeys(exc.remedy for exc in result.failures))
            raise ActionFailed(f"{reasons} (lowered: {len(lowered)} of {len(replaced)})", remedies)
        if not replaced:
            return Outcome("noop", f"every throttled quota of {ctx.project} is already at or below")
        summary = _summary(replaced, lowered)
        return Outcome(
            "done",
            f"lowered {len(lowered)} Gemini quota(s) in {ctx.project}: {summary}",
            {"lowered": list(lowered)},
        )


def _summary(replaced: dict[str, Any], lowered: list[str]) -> str:
    """``QUOTA_ID -> 1 for 7 model(s); ...`` (one model is named)."""
    groups: dict[tuple[str, int], list[str]] = {}
    for key in lowered:
        row = replaced[key]
        groups.setdefault((row["quota_id"], int(row["value"])), []).append(row["model"])
    return "; ".join(
        f"{quota_id} -> {value} for " + (models[0] if len(models) == 1 else f"{len(models)} models")
        for (quota_id, value), models in groups.items()
    )
