"""Settings.from_env(): the only place that reads os.environ."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from certwright.domain.publication import PublicationUrls
from certwright.domain.revocation import CrlPolicy

# A day: more would make a fresh certificate look as if it had existed before anyone asked for it.
MAX_NOT_BEFORE_BACKDATE_SECONDS = 24 * 3600


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
    # The SNS topic alerts go to (every function is told; only the alert notifier may publish to it).
    alert_topic_arn: str = ""
    # Where relying parties fetch CRLs and CA certificates (written into every certificate issued):
    # explicit templates with {caId} and {partition}, or derived from the PKI bucket's base URL.
    pki_base_url: str = ""
    crl_url_template: str = ""
    ca_issuers_url_template: str = ""
    # Certificates per CRL partition: the N-th certificate a CA issues is listed in partition (N-1) // size.
    crl_partition_size: int = 10_000
    # The bucket CRLs and CA certificates are published to, and the CRL policy (certwright.domain.revocation).
    pki_bucket: str = ""
    crl_validity_seconds: int = 24 * 3600
    crl_refresh_before_seconds: int = 12 * 3600
    crl_batch_seconds: int = 30
    # How far notBefore of every certificate Certwright signs (leaves and CAs) lies before the issue time;
    # never before the issuer's own notBefore. A host whose clock lags fails the validity-window check and
    # rejects a certificate issued moments ago: TLS troubleshooting guides rank a wrong system clock among the
    # five commonest certificate errors, with a few minutes of drift already enough to break handshakes.
    # 5 minutes absorbs that drift (public CAs backdate too) while keeping notBefore close to the truth.
    # Validity rules, the requested validity and renewal timing still count from the issue time.
    not_before_backdate_seconds: int = 300

    @property
    def not_before_backdate(self) -> timedelta:
        return timedelta(seconds=self.not_before_backdate_seconds)

    # ACME challenge validation (certwright.adapters.acme_challenges): the networks the validator may connect
    # to (CIDRs; a private CA's names live on private networks), the ports http-01 and tls-alpn-01 reach
    # (80 and 443 by RFC; other values for tests), the resolver for dns-01 and for the names' addresses
    # ("ip" or "ip:port"; empty: the system's), and the time one check may take in all.
    acme_allowed_networks: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
    acme_http_port: int = 80
    acme_tls_port: int = 443
    acme_dns_resolver: str = ""
    acme_validation_timeout_seconds: float = 10.0

    # Authorization (certwright.authorization): the stack's admin principals (AdminPrincipalArns), extra Cedar
    # policies (ExtraPolicies: a path or the text), and the stack's account (default: the KMS key's account).
    admin_principal_arns: tuple[str, ...] = ()
    extra_policies: str = ""
    account_id: str = ""
    # ACME (services/acme_server.py): External Account Binding required (the default: every account acts as a
    # known principal), the challenge checker ("network"; "accept-all" only on the local runtime, for tests),
    # the CA `/acme/directory` serves, the public base URL of the ACME routes (empty: from the request), the
    # validity of ACME certificates (empty: the CA's default), and where the SDK talks to AWS (the local runtime).
    acme_require_eab: bool = True
    acme_checker: str = "network"
    acme_default_ca_id: str = ""
    acme_base_url: str = ""
    acme_validity_duration: str = ""
    aws_endpoint_url: str = ""

    @property
    def account(self) -> str:
        """The stack's account: explicit, else from the key-encryption key's or the deployer role's ARN."""
        if self.account_id:
            return self.account_id
        for arn in (self.key_encryption_key_id, self.deployer_role_arn):
            parts = arn.split(":")
            if len(parts) > 4 and parts[4].isdigit():
                return parts[4]
        return ""

    @property
    def crl_policy(self) -> CrlPolicy:
        return CrlPolicy(
            validity=timedelta(seconds=self.crl_validity_seconds),
            refresh_before=timedelta(seconds=self.crl_refresh_before_seconds),
            batch_delay=timedelta(seconds=self.crl_batch_seconds),
            partition_size=self.crl_partition_size,
        )

    @property
    def publication(self) -> PublicationUrls:
        if self.crl_url_template or self.ca_issuers_url_template:
            return PublicationUrls(self.crl_url_template, self.ca_issuers_url_template, self.crl_partition_size)
        if self.pki_base_url:
            return PublicationUrls.under(self.pki_base_url, self.crl_partition_size)
        return PublicationUrls(partition_size=self.crl_partition_size)

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
            alert_topic_arn=e.get("CERTWRIGHT_ALERT_TOPIC", ""),
            pki_base_url=e.get("CERTWRIGHT_PKI_BASE_URL", ""),
            crl_url_template=e.get("CERTWRIGHT_CRL_URL_TEMPLATE", ""),
            ca_issuers_url_template=e.get("CERTWRIGHT_CA_ISSUERS_URL_TEMPLATE", ""),
            crl_partition_size=int(e.get("CERTWRIGHT_CRL_PARTITION_SIZE", "10000")),
            pki_bucket=e.get("CERTWRIGHT_PKI_BUCKET", ""),
            crl_validity_seconds=int(e.get("CERTWRIGHT_CRL_VALIDITY_SECONDS", str(24 * 3600))),
            crl_refresh_before_seconds=int(e.get("CERTWRIGHT_CRL_REFRESH_BEFORE_SECONDS", str(12 * 3600))),
            crl_batch_seconds=int(e.get("CERTWRIGHT_CRL_BATCH_SECONDS", "30")),
            not_before_backdate_seconds=_backdate(e.get("CERTWRIGHT_NOT_BEFORE_BACKDATE_SECONDS", "300")),
            acme_allowed_networks=_networks(e.get("CERTWRIGHT_ACME_ALLOWED_NETWORKS")),
            acme_http_port=_port(e.get("CERTWRIGHT_ACME_HTTP_PORT", "80"), "CERTWRIGHT_ACME_HTTP_PORT"),
            acme_tls_port=_port(e.get("CERTWRIGHT_ACME_TLS_PORT", "443"), "CERTWRIGHT_ACME_TLS_PORT"),
            acme_dns_resolver=e.get("CERTWRIGHT_ACME_DNS_RESOLVER", "").strip(),
            acme_validation_timeout_seconds=float(e.get("CERTWRIGHT_ACME_VALIDATION_TIMEOUT_SECONDS", "10")),
            admin_principal_arns=tuple(
                a.strip() for a in e.get("CERTWRIGHT_ADMIN_PRINCIPAL_ARNS", "").split(",") if a.strip()
            ),
            extra_policies=e.get("CERTWRIGHT_EXTRA_POLICIES", ""),
            account_id=e.get("CERTWRIGHT_ACCOUNT_ID", ""),
            acme_require_eab=e.get("CERTWRIGHT_ACME_REQUIRE_EAB", "true").strip().lower() != "false",
            acme_checker=e.get("CERTWRIGHT_ACME_CHECKER", "network").strip() or "network",
            acme_default_ca_id=e.get("CERTWRIGHT_ACME_DEFAULT_CA", ""),
            acme_base_url=e.get("CERTWRIGHT_ACME_BASE_URL", "").rstrip("/"),
            acme_validity_duration=e.get("CERTWRIGHT_ACME_VALIDITY", ""),
            aws_endpoint_url=e.get("AWS_ENDPOINT_URL", ""),
        )


def _backdate(raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) > MAX_NOT_BEFORE_BACKDATE_SECONDS:
        raise RuntimeError(
            f"CERTWRIGHT_NOT_BEFORE_BACKDATE_SECONDS must be whole seconds from 0 to {MAX_NOT_BEFORE_BACKDATE_SECONDS}"
        )
    return int(raw)


def _networks(raw: str | None) -> tuple[str, ...]:
    """CERTWRIGHT_ACME_ALLOWED_NETWORKS: comma-separated CIDRs (unset: the private networks; empty: none)."""
    if raw is None:
        return Settings.acme_allowed_networks
    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as err:
            raise RuntimeError(f"CERTWRIGHT_ACME_ALLOWED_NETWORKS has an invalid network {network!r}") from err
    return networks


def _port(raw: str, name: str) -> int:
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
        raise RuntimeError(f"{name} must be a port from 1 to 65535")
    return int(raw)
