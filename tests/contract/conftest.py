"""Every contract case runs twice: on the in-memory fakes (tests/fakes.py) and on the DynamoDB adapters over moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from certwright.adapters.dynamodb_acme import DynamoDbAcme
from certwright.adapters.dynamodb_ca_bundles import DynamoDbCaBundles
from certwright.adapters.dynamodb_crl import DynamoDbCrlStates
from certwright.adapters.dynamodb_deletion import DynamoDbDeletionStore
from certwright.adapters.dynamodb_grants import DynamoDbGrants
from certwright.adapters.dynamodb_lookup import DynamoDbCertificateLookup
from certwright.adapters.dynamodb_models import Row, bind, table_definition
from certwright.adapters.dynamodb_poll import DynamoDbHostIndex
from certwright.adapters.dynamodb_reindex import DynamoDbReindex
from certwright.adapters.dynamodb_repair import DynamoDbRepairStore
from certwright.domain.revocation import CrlPolicy
from certwright.ports import (
    CaBundleStore,
    CrlStates,
    DeletionStore,
    GrantStore,
    HostAssociationIndex,
    InventoryReindex,
    RepairStore,
    VersionIndex,
)
from certwright.ports.acme import AcmeStore
from moto import mock_aws

from tests.fakes import (
    FakeAcmeStore,
    FakeCaBundles,
    FakeCrlStates,
    FakeDeletionStore,
    FakeGrants,
    FakeHostIndex,
    FakeReindex,
    FakeRepairStore,
    FakeVersionIndex,
    Memory,
)

TABLE = "certwright-contract"
POLICY = CrlPolicy()


@dataclass
class Ports:
    """One backend's implementation of each port; `store` is the composed Store (with the deletion queue)."""

    name: str
    store: DeletionStore
    repair: RepairStore
    crl: CrlStates
    bundles: CaBundleStore
    grants: GrantStore
    hosts: HostAssociationIndex
    lookup: VersionIndex
    acme: AcmeStore
    reindex: InventoryReindex


def _fakes() -> Ports:
    memory = Memory()
    return Ports(
        "fake",
        FakeDeletionStore(memory),
        FakeRepairStore(memory),
        FakeCrlStates(memory, POLICY),
        FakeCaBundles(memory),
        FakeGrants(memory),
        FakeHostIndex(memory),
        FakeVersionIndex(memory),
        FakeAcmeStore(),
        FakeReindex(memory),
    )


@pytest.fixture(params=["fake", "dynamodb"])
def ports(request: pytest.FixtureRequest) -> Iterator[Ports]:
    if request.param == "fake":
        yield _fakes()
        return
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        client = session.client("dynamodb")
        client.create_table(**table_definition(TABLE))
        connection = bind(TABLE, session, "us-east-1", client.meta.endpoint_url)  # as bootstrap does
        yield Ports(
            "dynamodb",
            DynamoDbDeletionStore(Row, connection),
            DynamoDbRepairStore(Row, connection),
            DynamoDbCrlStates(Row, POLICY),
            DynamoDbCaBundles(Row, connection),
            DynamoDbGrants(Row, connection),
            DynamoDbHostIndex(Row),
            DynamoDbCertificateLookup(Row),
            DynamoDbAcme(Row, connection),
            DynamoDbReindex(Row, connection),
        )
