"""``disable_service``: turn off the Gemini API (or the policy's ``services``) in the project.

For each service: read it through Service Usage; already DISABLED is nothing to do; otherwise
disable it (a long-running operation, waited for) with ``disable_dependent_services=False``: the
guard never turns off a service it was not told to. Service Usage refuses with
FAILED_PRECONDITION while the service has live resources or enabled services depend on it; the
remaining services are still tried, then one ActionFailed names each refusal and Google's reason.
The services this action disabled are kept in the ledger (progress ``disabled``) so ``restore``
can enable them again. Each disable is recorded first (progress ``requested``, until its outcome
is known), so a resumed attempt that finds a service already DISABLED because an earlier attempt's
answer or operation poll was lost still counts it as disabled by the guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from functions import gcp
from functions.actions.base import Action, Context, Outcome
from functions.errors import ActionFailed, TransientError

__all__ = ["DisableService"]

T = TypeVar("T")

REFUSED = (
    "it has live resources or enabled services that depend on it; remove those, or disable the "
    "dependent services first (the guard never disables dependents), or rely on disable_billing"
)


def _settled(ctx: Context, service: str) -> None:
    """Forget that a disable of ``service`` was requested: its outcome is known now."""
    requested: list[str] = ctx.progress.get("requested", [])
    if service in requested:
        requested.remove(service)
    if not requested:
        ctx.progress.pop("requested", None)


class DisableService(Action):
    name = "disable_service"
    summary = "disable the Gemini API (the policy's services) in the project"
    permissions = frozenset(
        {
            "serviceusage.services.get",
            "serviceusage.services.disable",
            "serviceusage.operations.get",
            "resourcemanager.projects.get",  # the restore marker (functions/restored.py)
        }
    )
    config = ("services",)
    strength = 3

    def run(self, ctx: Context) -> Outcome:
        disabled: list[str] = ctx.progress.setdefault("disabled", [])
        already: list[str] = []
        failures: list[ActionFailed] = []
        transient: list[TransientError] = []
        for service in ctx.policy.services:
            try:
                if self._disable(ctx, service):
                    if service not in disabled:
                        disabled.append(service)
                    _settled(ctx, service)
                    ctx.checkpoint()
                    ctx.log.info(f"service disabled: {service}", service=service)
                elif service in ctx.progress.get("requested", ()):
                    # An earlier attempt's disable went through but its answer (or the operation
                    # poll) was lost: the guard disabled it, and restore must know.
                    if service not in disabled:
                        disabled.append(service)
                    _settled(ctx, service)
                    ctx.checkpoint()
                elif service not in disabled:
                    already.append(service)
            except ActionFailed as exc:
                failures.append(exc)
            except TransientError as exc:
                transient.append(exc)
        if transient:
            raise TransientError("; ".join(map(str, [*transient, *failures])))
        if failures:
            reasons = "; ".join(exc.reason for exc in failures)
            remedies = "; ".join(dict.fromkeys(exc.remedy for exc in failures))
            done = f" (disabled: {', '.join(disabled)})" if disabled else ""
            raise ActionFailed(f"{reasons}{done}", remedies)
        if not disabled:
            return Outcome("noop", f"already disabled in {ctx.project}: {', '.join(already)}")
        note = f"; already disabled: {', '.join(already)}" if already else ""
        return Outcome(
            "done",
            f"disabled in {ctx.project}: {', '.join(disabled)}{note}",
            {"disabled": list(disabled)},
        )

    @staticmethod
    def _disable(ctx: Context, service: str) -> bool:
        """Disable ``service``; False when it was disabled already."""
        from google.api_core import exceptions as gexc
        from google.cloud import service_usage_v1

        client = gcp.client(service_usage_v1.ServiceUsageClient)
        name = f"projects/{ctx.project}/services/{service}"
        forbidden = f"grant the guard serviceusage.services.%s on projects/{ctx.project}"
        current = gcp.call(
            f"read {service} in {ctx.project}",
            lambda: client.get_service(request={"name": name}, retry=None, timeout=gcp.timeout()),
            {gexc.Forbidden: forbidden % "get"},
        )
        if current.state == service_usage_v1.State.DISABLED:
            return False
        requested: list[str] = ctx.progress.setdefault("requested", [])
        if service not in requested:  # recorded before the call: see run()
            requested.append(service)
            ctx.checkpoint()
        what = f"disable {service} in {ctx.project}"
        request = service_usage_v1.DisableServiceRequest(
            name=name, disable_dependent_services=False
        )

        def refused(fn: Callable[[], T]) -> Callable[[], T]:
            """``fn``, with Service Usage's refusal made an ActionFailed in plain words."""

            def run() -> T:
                try:
                    return fn()
                except gexc.GoogleAPICallError as exc:
                    if gcp.status(exc) != "FAILED_PRECONDITION":
                        raise
                    raise ActionFailed(
                        f"Service Usage refused to disable {service} in {ctx.project} "
                        f"(FAILED_PRECONDITION): {gcp.google_message(exc)}",
                        REFUSED,
                    ) from exc

            return run

        try:
            operation = gcp.call(
                what,
                refused(
                    lambda: client.disable_service(
                        request=request, retry=None, timeout=gcp.timeout()
                    )
                ),
                {gexc.Forbidden: forbidden % "disable"},
            )
        except ActionFailed:
            _settled(ctx, service)  # refused: it was not disabled
            raise
        gcp.call(
            what,
            refused(lambda: gcp.wait(operation)),
            {gexc.Forbidden: "grant the guard serviceusage.operations.get"},
        )
        return True
