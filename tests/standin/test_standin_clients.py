"""The real google-cloud clients (REST transport) against the stand-in: billing, service usage,
secret manager, resource manager."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import billing_v1, resourcemanager_v3, secretmanager_v1, service_usage_v1

from standin import StandIn
from standin.crc32c import crc32c

PROD = "projects/gemini-prod"
GEMINI = f"{PROD}/services/generativelanguage.googleapis.com"
SECRET = "projects/guard-host/secrets/gemini-api-key"
ACCOUNT = "billingAccounts/01D4EE-079462-DFD6EC"


def _options(server: StandIn) -> dict[str, Any]:
    return {
        "transport": "rest",
        "client_options": {"api_endpoint": server.url},
        "credentials": AnonymousCredentials(),
    }


@pytest.fixture(scope="session")
def billing(standin_server: StandIn) -> billing_v1.CloudBillingClient:
    return billing_v1.CloudBillingClient(**_options(standin_server))


@pytest.fixture(scope="session")
def usage(standin_server: StandIn) -> service_usage_v1.ServiceUsageClient:
    return service_usage_v1.ServiceUsageClient(**_options(standin_server))


@pytest.fixture(scope="session")
def secrets(standin_server: StandIn) -> secretmanager_v1.SecretManagerServiceClient:
    return secretmanager_v1.SecretManagerServiceClient(**_options(standin_server))


@pytest.fixture(scope="session")
def projects(standin_server: StandIn) -> resourcemanager_v3.ProjectsClient:
    return resourcemanager_v3.ProjectsClient(**_options(standin_server))


def _with_project(standin: StandIn, project: str, **changes: Any) -> None:
    state = standin.state
    state["projects"][project].update(changes)
    standin.set_state(state)


# Cloud Billing -------------------------------------------------------------------------------


def test_billing_unlink_then_read_back(standin: StandIn, billing: Any) -> None:
    info = billing.get_project_billing_info(name=PROD)
    assert (info.billing_account_name, info.billing_enabled) == (ACCOUNT, True)
    assert info.project_id == "gemini-prod"

    updated = billing.update_project_billing_info(
        name=PROD, project_billing_info={"billing_account_name": ""}
    )
    assert (updated.billing_account_name, updated.billing_enabled) == ("", False)
    again = billing.get_project_billing_info(name=PROD)
    assert (again.billing_account_name, again.billing_enabled) == ("", False)
    assert standin.state["projects"]["gemini-prod"]["billing_account"] == ""
    assert [(c["method"], c["http"], c["path"], c["status"]) for c in standin.calls()] == [
        (
            "cloudbilling.projects.getBillingInfo",
            "GET",
            "/v1/projects/gemini-prod/billingInfo",
            200,
        ),
        (
            "cloudbilling.projects.updateBillingInfo",
            "PUT",
            "/v1/projects/gemini-prod/billingInfo",
            200,
        ),
        (
            "cloudbilling.projects.getBillingInfo",
            "GET",
            "/v1/projects/gemini-prod/billingInfo",
            200,
        ),
    ]


def test_billing_accepts_project_number_and_links(standin: StandIn, billing: Any) -> None:
    _with_project(standin, "gemini-staging", billing_account="")
    other = "billingAccounts/0A1B2C-3D4E5F-6A7B8C"
    info = billing.update_project_billing_info(
        name="projects/210987654321", project_billing_info={"billing_account_name": other}
    )
    assert (info.billing_account_name, info.billing_enabled) == (other, True)
    assert standin.state["projects"]["gemini-staging"]["billing_account"] == other


def test_locked_billing_link_is_failed_precondition(standin: StandIn, billing: Any) -> None:
    _with_project(standin, "gemini-prod", billing_locked=True)
    with pytest.raises(exceptions.BadRequest) as raised:
        billing.update_project_billing_info(
            name=PROD, project_billing_info={"billing_account_name": ""}
        )
    error = raised.value.response.json()["error"]
    assert (error["code"], error["status"]) == (400, "FAILED_PRECONDITION")
    assert "billing account link is locked" in raised.value.message
    assert standin.state["projects"]["gemini-prod"]["billing_account"] == ACCOUNT


def test_rest_clients_map_failed_precondition_to_bad_request(standin: StandIn, usage: Any) -> None:
    """api_core picks the exception class from the HTTP code alone over REST: Google's
    400 FAILED_PRECONDITION arrives as ``BadRequest``, never ``FailedPrecondition``."""
    with pytest.raises(exceptions.GoogleAPICallError) as raised:
        usage.disable_service(request={"name": f"{PROD}/services/aiplatform.googleapis.com"})
    assert type(raised.value) is exceptions.BadRequest
    assert not isinstance(raised.value, exceptions.FailedPrecondition)


def test_unknown_project_is_permission_denied(standin: StandIn, billing: Any) -> None:
    with pytest.raises(exceptions.Forbidden) as raised:
        billing.get_project_billing_info(name="projects/no-such-project")
    assert "resourcemanager.projects.get" in raised.value.message
    assert raised.value.reason == "IAM_PERMISSION_DENIED"


def test_granted_permissions_are_enforced(standin: StandIn, billing: Any) -> None:
    _with_project(standin, "gemini-prod", granted_permissions=["resourcemanager.projects.get"])
    assert billing.get_project_billing_info(name=PROD).billing_enabled
    with pytest.raises(exceptions.Forbidden) as raised:
        billing.update_project_billing_info(
            name=PROD, project_billing_info={"billing_account_name": ""}
        )
    assert (
        "Permission 'resourcemanager.projects.deleteBillingAssignment' denied on resource "
        "'projects/gemini-prod'" in raised.value.message
    )
    assert raised.value.metadata == {
        "permission": "resourcemanager.projects.deleteBillingAssignment",
        "resource": "projects/gemini-prod",
    }


# Service Usage -------------------------------------------------------------------------------


def test_service_get_disable_enable(standin: StandIn, usage: Any) -> None:
    service = usage.get_service(request={"name": GEMINI})
    assert service.state == service_usage_v1.State.ENABLED
    assert service.name == "projects/123456789012/services/generativelanguage.googleapis.com"
    assert service.config.title == "Generative Language API"

    operation = usage.disable_service(request={"name": GEMINI})
    assert operation.operation.name.startswith("operations/acat.p2-123456789012-")
    result = operation.result(timeout=10)
    assert result.service.state == service_usage_v1.State.DISABLED
    assert usage.get_service(request={"name": GEMINI}).state == service_usage_v1.State.DISABLED
    assert standin.calls("serviceusage.operations.get")[0]["path"] == (
        "/v1/" + operation.operation.name
    )

    usage.enable_service(request={"name": GEMINI}).result(timeout=10)
    assert (
        standin.state["projects"]["gemini-prod"]["services"]["generativelanguage.googleapis.com"]
        == "ENABLED"
    )


def test_blocked_disable_answers_failed_precondition_with_reason(
    standin: StandIn, usage: Any
) -> None:
    name = f"{PROD}/services/aiplatform.googleapis.com"
    with pytest.raises(exceptions.BadRequest) as raised:
        usage.disable_service(request={"name": name})
    assert raised.value.response.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert "2 deployed Vertex AI endpoints" in raised.value.message
    assert usage.get_service(request={"name": name}).state == service_usage_v1.State.ENABLED


def test_unknown_service_reads_as_disabled(standin: StandIn, usage: Any) -> None:
    service = usage.get_service(request={"name": f"{PROD}/services/bigquery.googleapis.com"})
    assert service.state == service_usage_v1.State.DISABLED


# Secret Manager ------------------------------------------------------------------------------


def test_secret_add_version_and_access(standin: StandIn, secrets: Any) -> None:
    assert secrets.get_secret(name=SECRET).name == SECRET
    first, second = b"first-fake-key", b"second-fake-key"
    added = secrets.add_secret_version(
        parent=SECRET, payload={"data": first, "data_crc32c": crc32c(first)}
    )
    assert added.name == f"{SECRET}/versions/1"
    assert added.state == secretmanager_v1.SecretVersion.State.ENABLED
    assert added.client_specified_payload_checksum
    secrets.add_secret_version(parent=SECRET, payload={"data": second})

    latest = secrets.access_secret_version(name=f"{SECRET}/versions/latest")
    assert (latest.name, latest.payload.data) == (f"{SECRET}/versions/2", second)
    assert latest.payload.data_crc32c == crc32c(second)
    assert secrets.access_secret_version(name=f"{SECRET}/versions/1").payload.data == first
    assert len(standin.state["secrets"][SECRET]["versions"]) == 2


def test_secret_checksum_mismatch_is_refused(standin: StandIn, secrets: Any) -> None:
    with pytest.raises(exceptions.BadRequest):
        secrets.add_secret_version(parent=SECRET, payload={"data": b"x", "data_crc32c": 1})
    assert standin.state["secrets"][SECRET]["versions"] == []


def test_secret_without_versions_has_no_latest(standin: StandIn, secrets: Any) -> None:
    with pytest.raises(exceptions.NotFound):
        secrets.access_secret_version(name=f"{SECRET}/versions/latest")
    with pytest.raises(exceptions.NotFound):
        secrets.get_secret(name="projects/guard-host/secrets/nope")


# Resource Manager ----------------------------------------------------------------------------


def test_iam_permissions_subset(standin: StandIn, projects: Any) -> None:
    wanted = [
        "resourcemanager.projects.deleteBillingAssignment",
        "serviceusage.services.disable",
    ]
    assert list(projects.test_iam_permissions(resource=PROD, permissions=wanted).permissions) == (
        wanted
    )
    _with_project(standin, "gemini-prod", granted_permissions=["serviceusage.services.disable"])
    held = projects.test_iam_permissions(resource=PROD, permissions=wanted).permissions
    assert list(held) == ["serviceusage.services.disable"]
    _with_project(standin, "gemini-prod", granted_permissions=[])
    assert list(projects.test_iam_permissions(resource=PROD, permissions=wanted).permissions) == []


# Resource Manager: project labels (the restore marker) -------------------------------------------


def test_project_labels_read_and_patched_through_the_real_client(
    standin: StandIn, projects: Any
) -> None:
    from google.protobuf import field_mask_pb2

    project = projects.get_project(name=PROD)
    assert project.project_id == "gemini-prod" and project.name == "projects/123456789012"
    assert dict(project.labels) == {}
    update = resourcemanager_v3.Project(name=PROD, labels={"budget-guard-restored": "20261101t0"})
    done = projects.update_project(
        project=update, update_mask=field_mask_pb2.FieldMask(paths=["labels"])
    ).result(timeout=10)
    assert dict(done.labels) == {"budget-guard-restored": "20261101t0"}
    assert dict(projects.get_project(name=PROD).labels) == {"budget-guard-restored": "20261101t0"}
    assert standin.state["projects"]["gemini-prod"]["labels"] == {
        "budget-guard-restored": "20261101t0"
    }

    bad = resourcemanager_v3.Project(name=PROD, labels={"Bad Key": "x"})
    with pytest.raises(exceptions.BadRequest, match="Invalid label key"):
        projects.update_project(project=bad, update_mask=field_mask_pb2.FieldMask(paths=["labels"]))

    _with_project(standin, "gemini-prod", granted_permissions=["resourcemanager.projects.get"])
    assert projects.get_project(name=PROD).project_id == "gemini-prod"
    with pytest.raises(exceptions.Forbidden, match=r"resourcemanager\.projects\.update"):
        projects.update_project(
            project=update, update_mask=field_mask_pb2.FieldMask(paths=["labels"])
        )
