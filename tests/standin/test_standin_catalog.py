"""The stand-in's Cloud Billing Catalog through the real CloudCatalogClient (REST)."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import billing_v1

from standin import SeedError, StandIn

SERVICE = "services/AEFD-7695-64FA"


@pytest.fixture
def catalog(standin: StandIn) -> billing_v1.CloudCatalogClient:
    return billing_v1.CloudCatalogClient(
        transport="rest",
        client_options={"api_endpoint": standin.url},
        credentials=AnonymousCredentials(),
    )


def _skus(client: billing_v1.CloudCatalogClient, **request: Any) -> list[Any]:
    return list(client.list_skus(request={"parent": SERVICE, **request}, retry=None))


def test_skus_as_google_sends_them(
    catalog: billing_v1.CloudCatalogClient, standin: StandIn
) -> None:
    skus = _skus(catalog, page_size=7)
    assert len(skus) == len(standin.state["catalog"]["services"]["AEFD-7695-64FA"]["skus"])
    assert len(standin.calls("cloudbilling.services.skus.list")) == -(-len(skus) // 7)  # paged
    pro = next(
        s
        for s in skus
        if s.description == "Generate content input token count Gemini 2.5 Pro short input text"
    )
    assert pro.name == f"{SERVICE}/skus/{pro.sku_id}"
    assert pro.category.service_display_name == "Gemini API"
    price = pro.pricing_info[0].pricing_expression.tiered_rates[0].unit_price
    assert (price.currency_code, price.units, price.nanos) == ("USD", 0, 1250)  # $1.25 / 1M


def test_currency_conversion(catalog: billing_v1.CloudCatalogClient) -> None:
    pro = next(
        s for s in _skus(catalog, currency_code="EUR") if "Gemini 2.5 Pro short" in s.description
    )
    info = pro.pricing_info[0]
    assert info.currency_conversion_rate == pytest.approx(0.92)
    assert (
        info.pricing_expression.tiered_rates[0].unit_price.currency_code,
        info.pricing_expression.tiered_rates[0].unit_price.nanos,
    ) == ("EUR", 1150)
    with pytest.raises(gexc.BadRequest, match="XYZ"):
        _skus(catalog, currency_code="XYZ")


def test_unknown_service_and_bad_seed(
    catalog: billing_v1.CloudCatalogClient, standin: StandIn
) -> None:
    with pytest.raises(gexc.NotFound):
        list(catalog.list_skus(request={"parent": "services/0000-0000-0000"}, retry=None))
    seed = standin.state
    seed["catalog"]["rates"] = {"EUR": -1}
    with pytest.raises(SeedError, match=r"catalog\.rates"):
        standin.set_state(seed)
