"""CertificateStore.search_certificates contract: every filter and order, paging, tokens bound to their query,
the accept callback, and the index kept current on renewal, promotion, update and deletion (fake and DynamoDB)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.certificate import Certificate
from certwright.domain.inventory import InventoryQuery, SortBy, SortOrder
from certwright.domain.names import SanType, SubjectAlternativeName
from certwright.domain.stages import Stage
from certwright.errors import InvalidInputError
from certwright.ports import SerialClaim

from tests.contract import builders as b
from tests.contract.conftest import Ports

DNS = SanType.DNS


def _publish(
    ports: Ports,
    cert_id: str,
    *,
    n: int,
    name: str,
    sans: tuple[str, ...] = ("www.example.com",),
    days: int = 30,
    issuer: str = "ca-1",
    tags: dict[str, str] | None = None,
) -> Certificate:
    store = ports.store
    names = tuple(SubjectAlternativeName(SanType.IP if s[0].isdigit() else DNS, s) for s in sans)
    certificate = b.certificate(cert_id, n=n, issuer=issuer, name=name, sans=names)
    certificate = replace(certificate, freeform_tags=tuple(sorted((tags or {}).items())))
    version = b.version(cert_id, validity=Validity(b.NOW, b.NOW + timedelta(days=days)), sans=names)
    c = store.begin_version(certificate, version, SerialClaim(issuer, f"{cert_id}-1"), is_new_certificate=True)
    published = replace(c, current_version_number=1, latest_version_number=1)
    done = b.version(cert_id, stages=b.PUBLISHED, validity=version.validity, sans=names)
    return store.complete_version(published, done, {1: b.PUBLISHED}, b"sealed", b.audit(cert_id))


def _world(ports: Ports) -> None:
    _publish(ports, "c-api", n=1, name="api", sans=("api.example.com",), days=30, tags={"team": "pay", "env": "prod"})
    _publish(ports, "c-wild", n=2, name="wildcard", sans=("*.example.com",), days=10, tags={"team": "pay"})
    _publish(ports, "c-other", n=3, name="other", sans=("other.test", "10.0.0.1"), days=20, issuer="ca-2")
    _publish(ports, "c-api2", n=4, name="api-2", sans=("api.example.com", "www.example.com"), days=60)


def _search(ports: Ports, limit: int = 100, token: str | None = None, accept: Any = None, **query: Any) -> list[str]:
    page = ports.store.search_certificates(InventoryQuery(**query), limit, token, accept or (lambda c: True))
    return [c.id for c in page.items]


def _all_pages(ports: Ports, limit: int, **query: Any) -> list[str]:
    ids: list[str] = []
    token = None
    for _ in range(50):
        page = ports.store.search_certificates(InventoryQuery(**query), limit, token, lambda c: True)
        ids += [c.id for c in page.items]
        token = page.next_token
        if token is None:
            return ids
    raise AssertionError("paging never ended")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"name": "api"}, ["c-api"]),
        ({"name_prefix": "api"}, ["c-api", "c-api2"]),
        ({"issuer_id": "ca-2"}, ["c-other"]),
        ({"san": "api.example.com"}, ["c-api", "c-api2"]),
        ({"san": "*.example.com"}, ["c-wild"]),
        ({"san": "10.0.0.1"}, ["c-other"]),
        ({"hostname": "api.example.com"}, ["c-api", "c-wild", "c-api2"]),
        ({"hostname": "API.Example.com."}, ["c-api", "c-wild", "c-api2"]),
        ({"hostname": "shop.example.com"}, ["c-wild"]),
        ({"hostname": "a.b.example.com"}, []),
        ({"hostname": "example.com"}, []),
        ({"tags": (("team", "pay"),)}, ["c-api", "c-wild"]),
        ({"tags": (("team", "pay"), ("env", "prod"))}, ["c-api"]),
        ({"tags": (("team", "Pay"),)}, []),
        ({"not_after_before": b.NOW + timedelta(days=25)}, ["c-wild", "c-other"]),
        ({"not_after_after": b.NOW + timedelta(days=25)}, ["c-api", "c-api2"]),
        (
            {"not_after_after": b.NOW + timedelta(days=15), "not_after_before": b.NOW + timedelta(days=45)},
            ["c-other", "c-api"],
        ),
        ({"lifecycle_state": LifecycleState.ACTIVE, "issuer_id": "ca-1"}, ["c-api", "c-wild", "c-api2"]),
        ({"lifecycle_state": LifecycleState.FAILED}, []),
        ({"hostname": "api.example.com", "tags": (("team", "pay"),)}, ["c-api", "c-wild"]),
    ],
)
def test_each_filter(ports: Ports, query: dict[str, Any], expected: list[str]) -> None:
    _world(ports)
    assert _search(ports, **query) == expected


@pytest.mark.parametrize(
    ("sort_by", "order", "expected"),
    [
        (SortBy.NAME, SortOrder.ASC, ["c-api", "c-api2", "c-other", "c-wild"]),
        (SortBy.NAME, SortOrder.DESC, ["c-wild", "c-other", "c-api2", "c-api"]),
        (SortBy.TIME_CREATED, SortOrder.ASC, ["c-api", "c-wild", "c-other", "c-api2"]),
        (SortBy.TIME_CREATED, SortOrder.DESC, ["c-api2", "c-other", "c-wild", "c-api"]),
        (SortBy.NOT_AFTER, SortOrder.ASC, ["c-wild", "c-other", "c-api", "c-api2"]),
        (SortBy.NOT_AFTER, SortOrder.DESC, ["c-api2", "c-api", "c-other", "c-wild"]),
    ],
)
def test_each_order_both_ways_and_paging_keeps_it(
    ports: Ports, sort_by: SortBy, order: SortOrder, expected: list[str]
) -> None:
    _world(ports)
    assert _search(ports, sort_by=sort_by, sort_order=order) == expected
    assert _all_pages(ports, 1, sort_by=sort_by, sort_order=order) == expected
    assert _all_pages(ports, 3, sort_by=sort_by, sort_order=order) == expected


def test_a_wildcard_and_an_exact_match_page_as_one_list_without_duplicates(ports: Ports) -> None:
    _world(ports)
    # c-api2 holds api.example.com; c-wild covers it; both SAN partitions are read and merged.
    query = {"hostname": "api.example.com", "sort_by": SortBy.NOT_AFTER}
    assert _search(ports, **query) == ["c-wild", "c-api", "c-api2"]
    assert _all_pages(ports, 1, **query) == ["c-wild", "c-api", "c-api2"]
    _publish(ports, "c-both", n=5, name="both", sans=("api.example.com", "*.example.com"), days=5)
    assert _all_pages(ports, 1, **query) == ["c-both", "c-wild", "c-api", "c-api2"]


def test_accept_decides_too_and_pages_stay_full(ports: Ports) -> None:
    _world(ports)
    assert _search(ports, limit=2, accept=lambda c: c.id != "c-api", sort_by=SortBy.NAME) == ["c-api2", "c-other"]


def test_a_token_works_only_for_its_own_query(ports: Ports) -> None:
    _world(ports)
    first = ports.store.search_certificates(InventoryQuery(sort_by=SortBy.NAME), 1, None, lambda c: True)
    assert first.next_token is not None
    for other in (
        InventoryQuery(sort_by=SortBy.NOT_AFTER),
        InventoryQuery(sort_by=SortBy.NAME, sort_order=SortOrder.DESC),
        InventoryQuery(sort_by=SortBy.NAME, tags=(("team", "pay"),)),
    ):
        with pytest.raises(InvalidInputError) as raised:
            ports.store.search_certificates(other, 1, first.next_token, lambda c: True)
        assert raised.value.code == "InvalidPageToken"
    listing = ports.store.list_certificates(1, None).next_token
    for bad in ("garbage", "eyJ4IjoxfQ==", "x" * 3000, listing):
        with pytest.raises(InvalidInputError) as raised:
            ports.store.search_certificates(InventoryQuery(sort_by=SortBy.NAME), 1, bad, lambda c: True)
        assert raised.value.code == "InvalidPageToken"
    with pytest.raises(InvalidInputError) as raised:
        ports.store.list_certificates(1, first.next_token)
    assert raised.value.code == "InvalidPageToken"


# -- index maintenance --------------------------------------------------------------------------------------------


def test_renewal_and_promotion_move_the_certificate_in_the_expiry_order(ports: Ports) -> None:
    _world(ports)
    store = ports.store
    c = store.get_certificate("c-wild")
    assert c is not None
    v2 = b.version("c-wild", 2, validity=Validity(b.NOW, b.NOW + timedelta(days=90)), sans=c.sans)
    c = store.begin_version(
        replace(c, latest_version_number=2), v2, SerialClaim("ca-1", "c-wild-2"), is_new_certificate=False
    )
    renewed = replace(c, current_version_number=2)
    stages = {1: frozenset({Stage.PREVIOUS}), 2: b.PUBLISHED}
    done = b.version("c-wild", 2, stages=b.PUBLISHED, validity=v2.validity, sans=c.sans)
    c = store.complete_version(renewed, done, stages, b"sealed", b.audit("c-wild"))
    by_expiry = {"sort_by": SortBy.NOT_AFTER}
    assert _search(ports, **by_expiry) == ["c-other", "c-api", "c-api2", "c-wild"]
    assert _search(ports, not_after_before=b.NOW + timedelta(days=25)) == ["c-other"]
    # Roll back to version 1: it expires first again.
    back = {1: b.PUBLISHED, 2: frozenset({Stage.PREVIOUS})}
    store.change_stages(replace(c, current_version_number=1), back, b.audit("c-wild"))
    assert _search(ports, **by_expiry) == ["c-wild", "c-other", "c-api", "c-api2"]


def test_an_update_reindexes_name_and_tags_and_a_deletion_removes_it(ports: Ports) -> None:
    _world(ports)
    store = ports.store
    c = store.get_certificate("c-api")
    assert c is not None
    c = store.save_certificate(replace(c, name="zeta", freeform_tags=(("team", "web"),)), b.audit("c-api"))
    assert _search(ports, tags=(("team", "pay"),)) == ["c-wild"]
    assert _search(ports, tags=(("team", "web"),)) == ["c-api"]
    assert _search(ports, sort_by=SortBy.NAME) == ["c-api2", "c-other", "c-wild", "c-api"]
    assert _search(ports, name_prefix="api") == ["c-api2"]
    # Its notAfter sort key survives a write that does not touch the CURRENT version.
    assert _search(ports, sort_by=SortBy.NOT_AFTER) == ["c-wild", "c-other", "c-api", "c-api2"]
    store.save_certificate(replace(c, lifecycle_state=LifecycleState.DELETED), b.audit("c-api"))
    assert _search(ports, tags=(("team", "web"),)) == []
    assert "c-api" not in _search(ports, sort_by=SortBy.NAME)
    assert "c-api" not in _search(ports, hostname="api.example.com")


# -- CAs and CA bundles -------------------------------------------------------------------------------------------


def _authorities(ports: Ports) -> None:
    store = ports.store
    for ca_id, n, name, days, tags, issuer in [
        ("ca-root", 1, "root", 3650, {"tier": "root"}, None),
        ("ca-pay", 2, "pay-issuing", 365, {"team": "pay"}, "ca-root"),
        ("ca-web", 3, "web-issuing", 730, {"team": "web"}, "ca-root"),
    ]:
        ca = b.authority(ca_id, n=n, issuer_id=issuer, name=name, freeform_tags=tuple(sorted(tags.items())))
        ca = store.begin_authority(ca, SerialClaim(issuer or ca_id, f"{ca_id}-s"))
        version = replace(b.ca_version(1, f"{n:x}a"), validity=Validity(b.NOW, b.NOW + timedelta(days=days)))
        store.complete_authority(
            replace(ca, lifecycle_state=LifecycleState.ACTIVE, current_version=version), b.audit(ca_id)
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"tags": (("team", "pay"),)}, ["ca-pay"]),
        ({"issuer_id": "ca-root"}, ["ca-pay", "ca-web"]),
        ({"name_prefix": "web"}, ["ca-web"]),
        ({"sort_by": SortBy.NOT_AFTER}, ["ca-pay", "ca-web", "ca-root"]),
        ({"sort_by": SortBy.NAME, "sort_order": SortOrder.DESC}, ["ca-web", "ca-root", "ca-pay"]),
        ({"not_after_before": b.NOW + timedelta(days=1000)}, ["ca-pay", "ca-web"]),
        ({"serial_number": "2A"}, ["ca-pay"]),
        ({"lifecycle_state": LifecycleState.CREATING}, []),
    ],
)
def test_authority_filters_and_orders(ports: Ports, query: dict[str, Any], expected: list[str]) -> None:
    _authorities(ports)
    page = ports.store.search_authorities(InventoryQuery(**query), 100, None, lambda ca: True)
    assert [ca.id for ca in page.items] == expected


def test_a_retagged_or_deleted_authority_is_reindexed(ports: Ports) -> None:
    _authorities(ports)
    store = ports.store
    ca = store.get_authority("ca-pay")
    assert ca is not None
    ca = store.save_authority(replace(ca, freeform_tags=(("team", "web"),)))
    web = InventoryQuery(tags=(("team", "web"),))
    assert [c.id for c in store.search_authorities(web, 10, None, lambda c: True).items] == ["ca-pay", "ca-web"]
    store.save_authority(replace(ca, lifecycle_state=LifecycleState.DELETED))
    assert [c.id for c in store.search_authorities(web, 10, None, lambda c: True).items] == ["ca-web"]


def test_bundle_filters_orders_and_reindexing(ports: Ports) -> None:
    from tests.contract.test_ca_bundles import bundle, version

    store = ports.bundles
    for bundle_id, n, tags in [("b-1", 2, {"team": "pay"}), ("b-2", 1, {"team": "web"}), ("b-3", 3, {})]:
        made = replace(bundle(bundle_id, n=n), name=f"mtls-{bundle_id}", freeform_tags=tuple(sorted(tags.items())))
        store.create_bundle(made, version(bundle_id=bundle_id), b.audit(bundle_id))

    def ids(**query: Any) -> list[str]:
        return [x.id for x in store.search_bundles(InventoryQuery(**query), 100, None, lambda x: True).items]

    assert ids(tags=(("team", "pay"),)) == ["b-1"]
    assert ids(sort_by=SortBy.TIME_CREATED, sort_order=SortOrder.DESC) == ["b-3", "b-1", "b-2"]
    assert ids(name_prefix="mtls-b-", sort_by=SortBy.NAME) == ["b-1", "b-2", "b-3"]
    found = store.get_bundle("b-1")
    assert found is not None
    retagged = store.save_bundle(replace(found, freeform_tags=()), b.audit("b-1"))
    assert ids(tags=(("team", "pay"),)) == []
    store.delete_bundle(retagged, b.audit("b-1"))
    assert ids(sort_by=SortBy.NAME) == ["b-2", "b-3"]


# -- associations ---------------------------------------------------------------------------------------------------


def test_associations_by_deployment_state_follow_every_write(ports: Ports) -> None:
    from certwright.domain.association import AssociationState, DeploymentState

    store = ports.store
    _publish(ports, "cert-1", n=0, name="web")
    made = []
    for i in range(4):
        target = f"{b.LISTENER[:-4]}{i:04d}"
        association = replace(b.association(f"assoc-{i}", "cert-1", n=i), associated_resource_id=target)
        made.append(store.add_association(association, b.audit("cert-1")))

    def ids(**query: Any) -> list[str]:
        page = store.search_associations(InventoryQuery(**query), 100, None, lambda a: True)
        return [a.id for a in page.items]

    assert ids(deployment_state="PENDING") == ["assoc-0", "assoc-1", "assoc-2", "assoc-3"]
    deployed = replace(made[1], deployment=replace(made[1].deployment, state=DeploymentState.DEPLOYED))
    store.save_association(deployed)
    failed = replace(made[2], deployment=replace(made[2].deployment, state=DeploymentState.FAILED))
    store.save_association(failed)
    assert ids(deployment_state="PENDING") == ["assoc-0", "assoc-3"]
    assert ids(deployment_state="DEPLOYED") == ["assoc-1"]
    assert ids(deployment_state="FAILED", sort_order=SortOrder.DESC) == ["assoc-2"]
    assert ids(association_state=AssociationState.ACTIVE.value, sort_order=SortOrder.DESC) == [
        "assoc-3",
        "assoc-2",
        "assoc-1",
        "assoc-0",
    ]
    page = store.search_associations(InventoryQuery(sort_order=SortOrder.DESC), 1, None, lambda a: True)
    seen = [a.id for a in page.items]
    while page.next_token:
        page = store.search_associations(InventoryQuery(sort_order=SortOrder.DESC), 1, page.next_token, lambda a: True)
        seen += [a.id for a in page.items]
    assert seen == ["assoc-3", "assoc-2", "assoc-1", "assoc-0"]
    store.remove_association(made[0], b.audit("cert-1"))
    assert ids(deployment_state="PENDING") == ["assoc-3"]


def test_tokens_stay_small_for_long_names_across_merged_partitions(ports: Ports) -> None:
    for i in range(3):
        name = "é" * 250 + f"-{i}"
        _publish(ports, f"c-long-{i}", n=i, name=name, sans=("api.example.com", "*.example.com"))
    query = {"hostname": "api.example.com", "sort_by": SortBy.NAME}
    page = ports.store.search_certificates(InventoryQuery(**query), 1, None, lambda c: True)
    assert page.next_token is not None and len(page.next_token) <= 4096
    assert _all_pages(ports, 1, **query) == ["c-long-0", "c-long-1", "c-long-2"]
