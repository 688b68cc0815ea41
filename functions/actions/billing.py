"""``disable_billing``: unlink the project from its billing account, the last brake.

Reads the billing info first: already unlinked is nothing to do. The account it unlinks is kept in
the ledger so ``restore`` can link it back.
"""

from __future__ import annotations

from functions import gcp
from functions.actions.base import Action, Context, Outcome

__all__ = ["DisableBilling"]

LOCK_DOC = "cloud.google.com/billing/docs/how-to/secure-project-billing-account-link"


class DisableBilling(Action):
    name = "disable_billing"
    summary = "unlink the project's billing account (stops every paid service in it)"
    strength = 4
    permissions = frozenset(
        {"resourcemanager.projects.get", "resourcemanager.projects.deleteBillingAssignment"}
    )

    def run(self, ctx: Context) -> Outcome:
        from google.cloud import billing_v1

        client = gcp.client(billing_v1.CloudBillingClient)
        name = f"projects/{ctx.project}"
        info = gcp.call(
            f"read billing info of {ctx.project}",
            lambda: client.get_project_billing_info(name=name, retry=None, timeout=gcp.timeout()),
            {"PERMISSION_DENIED": f"grant the guard resourcemanager.projects.get on {name}"},
        )
        if not info.billing_account_name:
            return Outcome("noop", "billing already unlinked")
        account = info.billing_account_name
        ctx.progress["billing_account"] = account
        ctx.checkpoint()
        unlink = billing_v1.ProjectBillingInfo(billing_account_name="")
        gcp.call(
            f"unlink billing of {ctx.project}",
            lambda: client.update_project_billing_info(
                name=name, project_billing_info=unlink, retry=None, timeout=gcp.timeout()
            ),
            {
                "FAILED_PRECONDITION": (
                    f"the project's billing link is locked; unlock it ({LOCK_DOC})"
                ),
                "PERMISSION_DENIED": (
                    f"grant the guard resourcemanager.projects.deleteBillingAssignment on {name} "
                    "(the infra module's custom role), or remove the billing link lock "
                    f"({LOCK_DOC})"
                ),
            },
        )
        return Outcome(
            "done", f"unlinked {account} from {ctx.project}", {"billing_account": account}
        )
