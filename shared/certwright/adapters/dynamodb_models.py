"""PynamoDB models of the single Certwright table, and its layout (the adapters that write each row follow it).

Keys:
  CA#{id}        / A            certificate authority     (ByKind: CA, ByParent: CA#{issuer})
  CA#{id}        / V#{n:08d}    CA version
  CERT#{id}      / C            certificate               (ByKind: CERT, ByParent: CA#{issuer}, RenewalDue)
  CERT#{id}      / V#{n:08d}    certificate version (sealed private key in `secret`; BySerial, ByFingerprint)
  SERIAL#{ca}#{serial} / S      serial claim, written before the CA signs
  ASSOC#{id}     / A            association               (ByKind: ASSOC, ByParent: CERT#{certificate};
                                 a host's certificate association also ByHost: HOST#{principal}) — dynamodb_poll
  AUDIT#{resource} / {iso}#{id} audit record
  CA#{id}        / ISSUED       issuance counter (atomic ADD; gives each certificate its CRL partition)
  REVOKED#{ca}   / {serial}     revoked entry of the issuing CA's CRL
  COMPROMISED#{spki sha256} / K a key revoked for keyCompromise, refused in later requests
  CERT#{id}      / ACM#{n:08d}  the ACM copy of version n (claimed once, shared by its listeners)
  CERT#{id}      / IMPORTING#{n:08d}  an ACM import of version n under way (left behind by a crash)
  CRL#{ca}       / P#{n:06d}    CRL state of one partition (ByKind: CRL; RenewalDue: CRL)  — dynamodb_crl
  BUNDLE#{id}    / B, V#{n:08d} CA bundle and its versions (ByKind: BUNDLE)                — dynamodb_ca_bundles
  BUNDLEREF#{ca} / {bundle id}  which bundles include a CA
  REQ#{token}    / R            what an idempotent create/renewal reserved (certificate, version) — services/reservation
  CERT#{id}, CA#{id}, BUNDLE#{id} / IX#{facet}  inventory index row: one per partition the resource is listed in
                                 (ALL, SAN#{name}, TAG#{key}={value}, ISSUER#{ca}); InventoryBy*  — dynamodb_inventory

Partitions of the sparse RenewalDue index: SWEEP (certificates to look at), DEPLOY_RETRY (deployments to
retry), DELETION (deletions due), CRL (CRLs to rebuild), IN_FLIGHT (reserved, unpublished versions the repair
pass fails if their writer died; adapters/dynamodb_repair.py); renewal_at is when.
"""

from __future__ import annotations

from typing import Any, cast

import botocore
import botocore.session
from botocore.config import Config
from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


class ByKindIndex(GlobalSecondaryIndex["Row"]):
    class Meta:
        index_name = "ByKind"
        projection = AllProjection()

    list_pk = UnicodeAttribute(hash_key=True)
    list_sk = UnicodeAttribute(range_key=True)


class ByParentIndex(GlobalSecondaryIndex["Row"]):
    class Meta:
        index_name = "ByParent"
        projection = AllProjection()

    parent_pk = UnicodeAttribute(hash_key=True)
    list_sk = UnicodeAttribute(range_key=True)


class RenewalDueIndex(GlobalSecondaryIndex["Row"]):
    """Sparse: only certificates that renew themselves carry renewal_pk, so the sweep reads only due rows."""

    class Meta:
        index_name = "RenewalDue"
        projection = AllProjection()

    renewal_pk = UnicodeAttribute(hash_key=True)
    renewal_at = UnicodeAttribute(range_key=True)


class BySerialIndex(GlobalSecondaryIndex["Row"]):
    """Sparse, keys only: published certificate versions by serial number (adapters/dynamodb_lookup.py)."""

    class Meta:
        index_name = "BySerial"
        projection = KeysOnlyProjection()

    serial_key = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class ByFingerprintIndex(GlobalSecondaryIndex["Row"]):
    """Sparse, keys only: published certificate versions by the SHA-256 of their DER (adapters/dynamodb_lookup.py)."""

    class Meta:
        index_name = "ByFingerprint"
        projection = KeysOnlyProjection()

    fingerprint_key = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class ByHostIndex(GlobalSecondaryIndex["Row"]):
    """Sparse: only host (IAM role or user) certificate associations carry host_pk, so a host's poll reads its own."""

    class Meta:
        index_name = "ByHost"
        projection = AllProjection()

    host_pk = UnicodeAttribute(hash_key=True)
    list_sk = UnicodeAttribute(range_key=True)


class _InventoryIndex(GlobalSecondaryIndex["Row"]):
    """Sparse: only inventory index rows carry ix_pk ({KIND}#{facet}); each of the three orders one listing."""

    class Meta:
        projection = AllProjection()

    ix_pk = UnicodeAttribute(hash_key=True)


class InventoryByNameIndex(_InventoryIndex):
    class Meta:
        index_name = "InventoryByName"
        projection = AllProjection()

    ix_name = UnicodeAttribute(range_key=True)


class InventoryByCreatedIndex(_InventoryIndex):
    class Meta:
        index_name = "InventoryByCreated"
        projection = AllProjection()

    ix_created = UnicodeAttribute(range_key=True)


class InventoryByExpiryIndex(_InventoryIndex):
    class Meta:
        index_name = "InventoryByExpiry"
        projection = AllProjection()

    ix_expiry = UnicodeAttribute(range_key=True)


class Row(Model):
    class Meta:
        table_name = "certwright"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    data = JSONAttribute()
    secret = BinaryAttribute(null=True, legacy_encoding=False)
    list_pk = UnicodeAttribute(null=True)
    list_sk = UnicodeAttribute(null=True)
    parent_pk = UnicodeAttribute(null=True)
    renewal_pk = UnicodeAttribute(null=True)
    renewal_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    # The table's TTL attribute (epoch seconds): only on rows that may vanish unseen (certwright.acme.retention).
    ttl = NumberAttribute(null=True)
    issued = NumberAttribute(null=True)  # the issuance counter row of a CA
    row_version = VersionAttribute()
    serial_key = UnicodeAttribute(null=True)  # a published certificate version's serial number (BySerial)
    fingerprint_key = UnicodeAttribute(null=True)  # its SHA-256 fingerprint (ByFingerprint)
    host_pk = UnicodeAttribute(null=True)  # HOST#{normalized principal ARN} on host associations (ByHost)
    # Inventory index rows (dynamodb_inventory): their partition and their three sort keys.
    ix_pk = UnicodeAttribute(null=True)
    ix_name = UnicodeAttribute(null=True)
    ix_created = UnicodeAttribute(null=True)
    ix_expiry = UnicodeAttribute(null=True)

    by_kind = ByKindIndex()
    by_parent = ByParentIndex()
    renewal_due = RenewalDueIndex()
    by_serial = BySerialIndex()
    by_fingerprint = ByFingerprintIndex()
    by_host = ByHostIndex()
    inventory_by_name = InventoryByNameIndex()
    inventory_by_created = InventoryByCreatedIndex()
    inventory_by_expiry = InventoryByExpiryIndex()


# A fixed User-Agent for the clients on the issuance path: botocore otherwise rebuilds its structured one (SDK,
# OS, language, feature ids, each sanitised character by character) for every call, a quarter of its own cost.
USER_AGENT = f"Certwright botocore/{botocore.__version__}"
HOT_PATH = Config(user_agent=USER_AGENT)


class _ClientsOf:
    """What PynamoDB asks of a botocore session (`create_client`), answered by a boto3 session's public `client`
    (with PynamoDB's own settings, and the hot path's User-Agent)."""

    def __init__(self, session: Any) -> None:
        self._boto3 = session

    def create_client(
        self, service_name: str, region_name: str, endpoint_url: str | None = None, config: Any = None
    ) -> Any:
        merged = config.merge(HOT_PATH) if config is not None else HOT_PATH
        return self._boto3.client(service_name, region_name=region_name, endpoint_url=endpoint_url, config=merged)


class SessionConnection(Connection):
    """A PynamoDB connection whose client comes from a given boto3 session, so its calls share our credentials,
    hooks and endpoint (PynamoDB itself would make a fresh botocore session)."""

    def __init__(self, session: Any, region: str, host: str | None) -> None:
        super().__init__(region=region, host=host)
        self._clients = _ClientsOf(session)

    @property
    def session(self) -> botocore.session.Session:
        return cast(botocore.session.Session, self._clients)


def bind(table_name: str, session: Any, region: str, host: str | None) -> Connection:
    """Point the model at a table through boto3 `session`; called once by the composition root. Returns the connection."""
    connection = SessionConnection(session, region, host)
    _point_model_at(table_name, region, host, connection)
    connection.client  # noqa: B018 - create the client now; botocore client creation is not thread-safe
    return connection


def _point_model_at(table_name: str, region: str, host: str | None, connection: Connection) -> None:
    """The one place the process-wide PynamoDB model is mutated, because PynamoDB leaves no other way.

    A PynamoDB Model reads its table name, region and endpoint from its class-level `Meta` and caches its table
    connection on the class (`_connection`, made by `_get_connection()`); it has no per-instance table or
    connection and no public way to reset the cache. The table's name is known only at run time (the stack's
    parameter), so the composition root sets them here, once per container (tests that build several
    containers bind again, which replaces the cached connection).
    """
    meta: Any = Row.Meta
    meta.table_name, meta.region, meta.host = table_name, region, host
    Row._connection = None
    table = Row._get_connection()
    connection.add_meta_table(table.get_meta_table())
    table.connection = connection


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments matching template.yaml, for the embedded AWS and adapter tests."""

    def gsi(name: str, hash_key: str, range_key: str, projection: str = "ALL") -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"},
                {"AttributeName": range_key, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": projection},
        }

    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                "pk",
                "sk",
                "list_pk",
                "list_sk",
                "parent_pk",
                "renewal_pk",
                "renewal_at",
                "serial_key",
                "fingerprint_key",
                "host_pk",
                "ix_pk",
                "ix_name",
                "ix_created",
                "ix_expiry",
            )
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            gsi("ByKind", "list_pk", "list_sk"),
            gsi("ByParent", "parent_pk", "list_sk"),
            gsi("RenewalDue", "renewal_pk", "renewal_at"),
            gsi("BySerial", "serial_key", "pk", "KEYS_ONLY"),
            gsi("ByFingerprint", "fingerprint_key", "pk", "KEYS_ONLY"),
            gsi("ByHost", "host_pk", "list_sk"),
            gsi("InventoryByName", "ix_pk", "ix_name"),
            gsi("InventoryByCreated", "ix_pk", "ix_created"),
            gsi("InventoryByExpiry", "ix_pk", "ix_expiry"),
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
