"""Which IAM permission each API method needs (for 403 faults and ``granted_permissions``)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ACT_AS_PERMISSION",
    "GRPC_METHOD_IDS",
    "LINK_BILLING_PERMISSION",
    "METHOD_PERMISSIONS",
    "required_permission",
]

#: Method id -> permission. ``updateBillingInfo`` lists the unlink permission; linking needs
#: :data:`LINK_BILLING_PERMISSION` instead. ``None``: anyone may call (testIamPermissions).
METHOD_PERMISSIONS: dict[str, str | None] = {
    "cloudbilling.projects.getBillingInfo": "resourcemanager.projects.get",
    "cloudbilling.projects.updateBillingInfo": "resourcemanager.projects.deleteBillingAssignment",
    "apikeys.projects.locations.keys.list": "apikeys.keys.list",
    "apikeys.projects.locations.keys.create": "apikeys.keys.create",
    "apikeys.projects.locations.keys.get": "apikeys.keys.get",
    "apikeys.projects.locations.keys.getKeyString": "apikeys.keys.getKeyString",
    "apikeys.projects.locations.keys.delete": "apikeys.keys.delete",
    "apikeys.projects.locations.keys.patch": "apikeys.keys.update",
    "apikeys.projects.locations.keys.undelete": "apikeys.keys.undelete",
    "apikeys.operations.get": "serviceusage.operations.get",
    "serviceusage.services.get": "serviceusage.services.get",
    "serviceusage.services.disable": "serviceusage.services.disable",
    "serviceusage.services.enable": "serviceusage.services.enable",
    "serviceusage.operations.get": "serviceusage.operations.get",
    "secretmanager.projects.secrets.get": "secretmanager.secrets.get",
    "secretmanager.projects.secrets.addVersion": "secretmanager.versions.add",
    "secretmanager.projects.secrets.versions.access": "secretmanager.versions.access",
    "cloudresourcemanager.projects.testIamPermissions": None,
    "cloudbilling.services.skus.list": None,  # the Catalog is public
    "monitoring.projects.timeSeries.list": "monitoring.timeSeries.list",
    "monitoring.projects.metricDescriptors.list": "monitoring.metricDescriptors.list",
    "cloudquotas.projects.locations.services.quotaInfos.list": "cloudquotas.quotas.get",
    "cloudquotas.projects.locations.services.quotaInfos.get": "cloudquotas.quotas.get",
    "cloudquotas.projects.locations.quotaPreferences.list": "cloudquotas.quotas.get",
    "cloudquotas.projects.locations.quotaPreferences.get": "cloudquotas.quotas.get",
    "cloudquotas.projects.locations.quotaPreferences.create": "cloudquotas.quotas.update",
    "cloudquotas.projects.locations.quotaPreferences.patch": "cloudquotas.quotas.update",
    "iam.projects.serviceAccounts.testIamPermissions": None,
    "cloudresourcemanager.projects.get": "resourcemanager.projects.get",
    "cloudresourcemanager.projects.patch": "resourcemanager.projects.update",
    "cloudresourcemanager.operations.get": None,
}

#: Methods served over gRPC (Cloud Monitoring), not in the REST route table.
GRPC_METHOD_IDS = (
    "monitoring.projects.timeSeries.list",
    "monitoring.projects.metricDescriptors.list",
)

LINK_BILLING_PERMISSION = "resourcemanager.projects.createBillingAssignment"
#: Binding a key to a service account (``serviceAccountEmail`` on create) needs this permission
#: on that account, as attaching a service account to a resource does
#: (roles/iam.serviceAccountUser).
#: The stand-in holds it in ``granted_permissions`` of the account's project (the project ID in
#: its email); an account of a project the world does not hold uses the key's project.
ACT_AS_PERMISSION = "iam.serviceAccounts.actAs"


def required_permission(method_id: str, body: dict[str, Any]) -> str | None:
    """The permission a call of ``method_id`` with request ``body`` needs."""
    if method_id == "cloudbilling.projects.updateBillingInfo" and body.get("billingAccountName"):
        return LINK_BILLING_PERMISSION
    return METHOD_PERMISSIONS.get(method_id)
