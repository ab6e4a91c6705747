"""Create Certwright's AWS resources in an (embedded) account: the tables and the key-encryption key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certwright.adapters.dynamodb_models import table_definition
from certwright.config import Settings

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class LocalNames:
    table: str = "certwright-certificates"
    idempotency_table: str = "certwright-idempotency"


def create_resources(
    session: Any,
    names: LocalNames = LocalNames(),
    deployer_role_arn: str = f"arn:aws:iam::{ACCOUNT}:role/certwright-deployer",
) -> Settings:
    """Create the tables and the KMS key that seals leaf private keys; return the settings that point at them."""
    dynamodb = session.client("dynamodb", region_name=REGION)
    kms = session.client("kms", region_name=REGION)
    dynamodb.create_table(**table_definition(names.table))
    dynamodb.create_table(
        TableName=names.idempotency_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    key = kms.create_key(Description="Certwright key-encryption key", KeyUsage="ENCRYPT_DECRYPT")
    return Settings(
        table_name=names.table,
        idempotency_table_name=names.idempotency_table,
        key_encryption_key_id=key["KeyMetadata"]["Arn"],
        region=REGION,
        deployer_role_arn=deployer_role_arn,
    )
