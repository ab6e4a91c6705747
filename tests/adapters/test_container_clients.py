"""The container's AWS clients (one per service, made on first use) and the AWS calls one issuance makes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.inventory import InventoryQuery, SortBy, sort_values
from certwright.services.context import Runtime

from tests.adapters.test_dynamodb_store import issue, rows
from tests.conftest import Aws, Clock, Hierarchy


def _count_clients(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    made: Counter[str] = Counter()
    client = aws.session.client

    def counted(service: str, *args: Any, **kwargs: Any) -> Any:
        made[service] += 1
        return client(service, *args, **kwargs)

    monkeypatch.setattr(aws.session, "client", counted)
    return made


def test_a_container_builds_only_the_table_client_and_each_other_client_once_on_first_use(
    aws: Aws, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _count_clients(aws, monkeypatch)

    container = bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))

    assert made == Counter({"dynamodb": 1})  # PynamoDB's (the table's); the old code made 12 clients here
    container.idempotency.run(caller="c", operation="op", key="k1", body={}, action=dict)
    container.idempotency.run(caller="c", operation="op", key="k2", body={}, action=dict)
    assert made == Counter({"dynamodb": 2})  # the idempotency table's client, made once on the first keyed call


def test_a_handler_registered_after_build_reaches_a_client_made_later(
    aws: Aws, clock: Clock, hierarchy: Hierarchy
) -> None:
    container = bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))
    seen: list[str] = []
    aws.session.events.register("before-call.kms", lambda model, **_: seen.append(model.name))

    issue(container, hierarchy.issuing["id"], name="late-hook")

    # The KMS client was made on the first call, with the session's handlers (the old code made it at build).
    assert {"GetPublicKey", "Sign", "Encrypt"} <= set(seen)


def test_an_issuance_makes_five_aws_calls_and_leaves_its_certificate_listed_by_expiry(
    container: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    issue(container, hierarchy.issuing["id"], name="warm")  # the issuer is cached from now on
    aws.calls.calls.clear()

    certificate, version = issue(container, hierarchy.issuing["id"], name="counted")

    assert dict(aws.calls.calls) == {
        "dynamodb.TransactWriteItems": 2,  # reserve (with the serial claim and index rows), then publish
        "dynamodb.UpdateItem": 1,  # the CA's issuance counter
        "kms.Sign": 1,
        "kms.Encrypt": 1,
    }  # the old code also read and batch-wrote the index rows twice: 9 calls
    index = {item["sk"]["S"]: item for item in rows(aws, f"CERT#{certificate.id}") if item["sk"]["S"].startswith("IX#")}
    issuer = hierarchy.issuing["id"]
    assert set(index) == {"IX#ALL", f"IX#ISSUER#{issuer}", "IX#SAN#api.example.com", "IX#SAN#www.example.com"}
    expiry = sort_values(certificate.name, certificate.created_at, version.validity.not_after, certificate.id)
    assert {item["ix_expiry"]["S"] for item in index.values()} == {expiry[SortBy.NOT_AFTER]}
    query = InventoryQuery(hostname="api.example.com", not_after_after=version.validity.not_after - timedelta(days=1))
    page = container.store.search_certificates(query, 10, None, lambda c: True)
    assert sorted(c.name for c in page.items) == ["counted", "warm"]  # found through the notAfter index
