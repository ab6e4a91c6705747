"""The Store port on DynamoDB: the aggregate adapters over the one table, composed (each module owns its rows).

Authorities (dynamodb_authorities), certificates (dynamodb_certificates), associations (dynamodb_associations),
the sweep queue (dynamodb_sweep), the revocation ledger (dynamodb_revocations) and the audit log (dynamodb_audit)
share the table helper (dynamodb_table: transactions, conditional writes, paging, error translation).
"""

from __future__ import annotations

from certwright.adapters.dynamodb_associations import DynamoDbAssociations
from certwright.adapters.dynamodb_audit import DynamoDbAuditLog
from certwright.adapters.dynamodb_authorities import DynamoDbAuthorities
from certwright.adapters.dynamodb_certificates import DynamoDbCertificates
from certwright.adapters.dynamodb_revocations import DynamoDbRevocations
from certwright.adapters.dynamodb_sweep import DynamoDbSweepQueue
from certwright.adapters.dynamodb_table import (
    DELETION_PARTITION,
    DEPLOY_RETRY_PARTITION,
    IN_FLIGHT_PARTITION,
    MAX_PAGE_TOKEN,
    SWEEP_PARTITION,
    translate_pynamo,
)

__all__ = [
    "DELETION_PARTITION",
    "DEPLOY_RETRY_PARTITION",
    "IN_FLIGHT_PARTITION",
    "MAX_PAGE_TOKEN",
    "SWEEP_PARTITION",
    "DynamoDbStore",
    "translate_pynamo",
]


class DynamoDbStore(
    DynamoDbAuthorities,
    DynamoDbCertificates,
    DynamoDbAssociations,
    DynamoDbSweepQueue,
    DynamoDbRevocations,
    DynamoDbAuditLog,
):
    """Every core port on the one table (certwright.ports.Store), for the services that need several."""
