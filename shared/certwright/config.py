"""Settings.from_env(): the only place that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    table_name: str
    idempotency_table_name: str
    key_encryption_key_id: str
    region: str
    # The role the load-balancer deployer runs as; it may read private keys of certificates
    # associated with load balancers and ACM certificates (issue: deployment).
    deployer_role_arn: str = ""
    # Principals allowed to administer (create CAs, certificates, associations) are decided by IAM
    # at API Gateway; this is the local stand-in identity used when no caller header is given.
    local_admin_arn: str = "arn:aws:iam::123456789012:user/certwright-local-admin"
    max_body_bytes: int = 64 * 1024
    event_bus_name: str = ""
    service_name: str = "certwright"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env

        def need(name: str) -> str:
            value = e.get(name, "")
            if not value:
                raise RuntimeError(f"missing required setting {name}")
            return value

        return cls(
            table_name=need("CERTWRIGHT_TABLE"),
            idempotency_table_name=need("CERTWRIGHT_IDEMPOTENCY_TABLE"),
            key_encryption_key_id=need("CERTWRIGHT_KEY_ENCRYPTION_KEY_ID"),
            region=e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION") or "us-east-1",
            deployer_role_arn=e.get("CERTWRIGHT_DEPLOYER_ROLE_ARN", ""),
            max_body_bytes=int(e.get("CERTWRIGHT_MAX_BODY_BYTES", str(64 * 1024))),
            event_bus_name=e.get("CERTWRIGHT_EVENT_BUS", ""),
            service_name=e.get("POWERTOOLS_SERVICE_NAME", "certwright"),
        )
