"""GET /certificates filters through the real API, services and authorization, on the fakes (tests/fakes.py):
query parameters, associations (inUse, deploymentState), serial lookups, bad parameters and who sees what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from certwright import bootstrap

from tests.authz.conftest import HOST, HOST_ROLE, OTHER, OWNER, created
from tests.conftest import ApiClient, Aws, Clock, leaf_body, root_ca_body, sub_ca_body
from tests.fakes import World, build_fake, fake_settings, runtime


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def container(clock: Clock, world: World) -> Iterator[bootstrap.Container]:
    instance, _ = build_fake(fake_settings(), runtime(clock), world)
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)


@pytest.fixture
def aws() -> Aws:
    raise AssertionError("these run on the fakes")


def _cert(api: ApiClient, issuing: str, name: str, hosts: list[str], days: int, **extra: Any) -> str:
    body = leaf_body(
        issuing,
        name=name,
        subject={"commonName": hosts[0]},
        subjectAlternativeNames=[{"type": "DNS", "value": h} for h in hosts],
        validityDuration=f"P{days}D",
        **extra,
    )
    return str(created(api.post("/certificates", body, caller=extra.pop("caller", OWNER)))["id"])


@pytest.fixture
def inventory(api: ApiClient) -> dict[str, str]:
    root = created(api.post("/certificate-authorities", root_ca_body(), caller=OWNER))["id"]
    issuing = created(api.post("/certificate-authorities", sub_ca_body(root), caller=OWNER))["id"]
    ids = {
        "api": _cert(api, issuing, "api", ["api.example.com"], 30, freeformTags={"team": "pay", "env": "prod"}),
        "wild": _cert(api, issuing, "wild", ["*.example.com"], 10, freeformTags={"team": "pay"}),
        "shop": _cert(api, issuing, "shop", ["shop.test"], 20),
        "issuing": issuing,
    }
    association = created(
        api.post("/associations", {"certificateId": ids["api"], "associatedResourceId": HOST_ROLE}, caller=OWNER)
    )["id"]
    confirmed = api.post(f"/associations/{association}/actions/confirm", {}, caller=HOST)
    assert confirmed.body["state"] == "ACTIVE", confirmed.body
    return ids


def _names(api: ApiClient, query: str, caller: str = OWNER) -> list[str]:
    answer = api.get(f"/certificates?{query}", caller=caller)
    assert answer.status == 200, answer.body
    return [c["name"] for c in answer.body["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hostname=api.example.com&sortBy=notAfter", ["wild", "api"]),
        ("hostname=checkout.example.com", ["wild"]),
        ("san=*.example.com", ["wild"]),
        ("tag=team=pay&tag=env=prod", ["api"]),
        ("tag=team=pay&sortBy=name&sortOrder=DESC", ["wild", "api"]),
        ("notAfterBefore=2030-01-01T00:00:00Z&sortBy=notAfter&sortOrder=DESC", ["api", "shop", "wild"]),
        ("namePrefix=s", ["shop"]),
        ("name=api", ["api"]),
        ("inUse=true", ["api"]),
        ("inUse=false&sortBy=name", ["shop", "wild"]),
        ("deploymentState=PENDING", ["api"]),
        ("deploymentState=FAILED", []),
        ("lifecycleState=ACTIVE&sortBy=timeCreated&sortOrder=DESC", ["shop", "wild", "api"]),
    ],
)
def test_filters_through_the_api(api: ApiClient, inventory: dict[str, str], query: str, expected: list[str]) -> None:
    assert _names(api, query) == expected


def test_issuer_and_serial_filters(api: ApiClient, inventory: dict[str, str]) -> None:
    assert _names(api, f"issuerCertificateAuthorityId={inventory['issuing']}&sortBy=name") == ["api", "shop", "wild"]
    assert _names(api, "issuerCertificateAuthorityId=ca-nope") == []
    serial = api.get(f"/certificates/{inventory['api']}", caller=OWNER).body["currentVersion"]["serialNumber"]
    assert _names(api, f"serialNumber={serial}") == ["api"]
    assert _names(api, f"serialNumber={serial}&tag=team=web") == []


def test_another_principal_never_sees_the_owners_certificates(api: ApiClient, inventory: dict[str, str]) -> None:
    for query in ("hostname=api.example.com", "tag=team=pay", "sortBy=name", "inUse=false", "namePrefix=a"):
        answer = api.get(f"/certificates?{query}", caller=OTHER)
        assert answer.status == 200 and answer.body["items"] == [], (query, answer.body)
    # The admin sees them all.
    assert _names(api, "sortBy=name", caller=api.caller) == ["api", "shop", "wild"]


def test_pages_follow_the_query_and_a_foreign_token_is_refused(api: ApiClient, inventory: dict[str, str]) -> None:
    first = api.get("/certificates?sortBy=notAfter&limit=1", caller=OWNER)
    names = [c["name"] for c in first.body["items"]]
    token = first.body["nextPage"]
    while token:
        answer = api.get(f"/certificates?sortBy=notAfter&limit=1&page={token}", caller=OWNER)
        names += [c["name"] for c in answer.body["items"]]
        token = answer.body["nextPage"]
    assert names == ["wild", "shop", "api"]
    for other in ("sortBy=name&limit=1", "sortBy=notAfter&limit=1&tag=team=pay", "limit=1"):
        refused = api.get(f"/certificates?{other}&page={first.body['nextPage']}", caller=OWNER)
        assert (refused.status, refused.body["code"]) == (400, "InvalidPageToken"), other


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "InvalidParameter"),
        ("limit=1001", "InvalidParameter"),
        ("sortBy=color", "InvalidParameter"),
        ("sortOrder=UP", "InvalidParameter"),
        ("lifecycleState=ALIVE", "InvalidParameter"),
        ("deploymentState=DONE", "InvalidParameter"),
        ("inUse=yes", "InvalidParameter"),
        ("notAfterBefore=tomorrow", "InvalidParameter"),
        ("notAfterBefore=2030-01-01T00:00:00", "InvalidParameter"),
        ("tag=team", "InvalidTagFilter"),
        ("tag=aws:x=1", "InvalidTagFilter"),
        ("hostname=a%0Ab.example.com", "InvalidParameter"),
        ("page=bm90IGEgdG9rZW4", "InvalidPageToken"),
    ],
)
def test_bad_parameters_are_a_400_with_a_stable_code(
    api: ApiClient, inventory: dict[str, str], query: str, code: str
) -> None:
    answer = api.get(f"/certificates?sortBy=name&{query}", caller=OWNER)
    assert (answer.status, answer.body["code"]) == (400, code), answer.body


def test_a_limit_of_1000_is_accepted(api: ApiClient, inventory: dict[str, str]) -> None:
    assert _names(api, "limit=1000&sortBy=name") == ["api", "shop", "wild"]
    assert _names(api, "limit=1000") == ["api", "wild", "shop"]


def test_authority_and_bundle_lists_take_filters(api: ApiClient, inventory: dict[str, str]) -> None:
    root = created(api.post("/certificate-authorities", root_ca_body(name="tagged", freeformTags={"team": "pay"})))
    answer = api.get("/certificate-authorities?tag=team=pay")
    assert [ca["id"] for ca in answer.body["items"]] == [root["id"]]
    answer = api.get(f"/certificate-authorities?issuerCertificateAuthorityId={root['id']}")
    assert answer.body["items"] == []
    serial = root["currentVersion"]["serialNumber"]
    assert [ca["name"] for ca in api.get(f"/certificate-authorities?serialNumber={serial}").body["items"]] == ["tagged"]
    names = [ca["name"] for ca in api.get("/certificate-authorities?sortBy=name&sortOrder=DESC").body["items"]]
    assert names == sorted(names, reverse=True) and len(names) == 3
    # Another principal sees none of them.
    assert api.get("/certificate-authorities?sortBy=name", caller=OTHER).body["items"] == []

    pay = created(api.post("/ca-bundles", {"name": "pay-mtls", "certificateAuthorityIds": [inventory["issuing"]]}))
    created(api.post("/ca-bundles", {"name": "web-mtls", "certificateAuthorityIds": [inventory["issuing"]]}))
    api.call("PUT", f"/ca-bundles/{pay['id']}/tags", {"freeformTags": {"team": "pay"}})
    assert [b["name"] for b in api.get("/ca-bundles?tag=team=pay").body["items"]] == ["pay-mtls"]
    assert [b["name"] for b in api.get("/ca-bundles?sortBy=name&sortOrder=DESC").body["items"]] == [
        "web-mtls",
        "pay-mtls",
    ]
    assert [b["name"] for b in api.get("/ca-bundles?inUse=false&namePrefix=pay").body["items"]] == ["pay-mtls"]
    assert api.get("/ca-bundles?inUse=true").body["items"] == []
    refused = api.get("/ca-bundles?sortBy=notAfter")
    assert (refused.status, refused.body["code"]) == (400, "InvalidParameter")


def test_association_list_filters(api: ApiClient, inventory: dict[str, str]) -> None:
    pending = created(
        api.post("/associations", {"certificateId": inventory["shop"], "associatedResourceId": HOST_ROLE})
    )
    assert pending["state"] == "PENDING_CONFIRMATION"

    def ids(query: str, caller: str = OWNER) -> list[str]:
        answer = api.get(f"/associations?{query}", caller=caller)
        assert answer.status == 200, answer.body
        return [a["id"] for a in answer.body["items"]]

    everything = ids("sortOrder=ASC&limit=1000", caller=api.caller)
    assert len(everything) == 2 and pending["id"] == everything[-1]
    assert ids("state=PENDING_CONFIRMATION", caller=api.caller) == [pending["id"]]
    assert ids("state=ACTIVE", caller=api.caller) == everything[:1]
    assert ids("deploymentState=PENDING&sortOrder=DESC", caller=api.caller) == everything[::-1]
    assert ids("deploymentState=DEPLOYED", caller=api.caller) == []
    assert ids(f"deploymentState=PENDING&certificateId={inventory['shop']}", caller=api.caller) == [pending["id"]]
    assert ids("deploymentState=PENDING", caller=OTHER) == []
    refused = api.get("/associations?state=GONE")
    assert (refused.status, refused.body["code"]) == (400, "InvalidParameter")
