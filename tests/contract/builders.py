"""Domain objects for the contract cases: small, valid, and at whole seconds (what the table stores exactly)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from certwright.domain.association import Association, AssociationType, Deployment, ListenerRole
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CaConfigType, CaRules, CaVersion, CertificateAuthority, LifecycleState, Validity
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion, Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.revocation import RevocationReason, RevokedEntry, RevokedKind
from certwright.domain.stages import Stage
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ACTOR = "arn:aws:iam::123456789012:user/contract"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/0123456789abcdef"


def authority(ca_id: str = "ca-1", *, n: int = 0, issuer_id: str | None = None, **changes: Any) -> CertificateAuthority:
    ca = CertificateAuthority(
        id=ca_id,
        name=f"ca {ca_id}",
        config_type=CaConfigType.ROOT_CA_GENERATED_INTERNALLY,
        subject=Subject("Contract CA"),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        kms_key_id=f"key-{ca_id}",
        rules=CaRules(),
        lifecycle_state=LifecycleState.CREATING,
        created_by=ACTOR,
        created_at=NOW + timedelta(seconds=n),
        issuer_id=issuer_id,
    )
    return replace(ca, **changes)


def ca_version(number: int = 1, serial: str = "ca01") -> CaVersion:
    return CaVersion(number, serial, Validity(NOW, NOW + timedelta(days=3650)), f"PEM {number}")


def certificate(cert_id: str = "cert-1", *, n: int = 0, issuer: str = "ca-1", **changes: Any) -> Certificate:
    c = Certificate(
        id=cert_id,
        name=f"web {cert_id}",
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id=issuer,
        subject=Subject("www.example.com"),
        sans=(SubjectAlternativeName(SanType.DNS, "www.example.com"),),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=Duration.parse("P30D"),
        renewal_rule=None,
        lifecycle_state=LifecycleState.ACTIVE,
        created_by=ACTOR,
        created_at=NOW + timedelta(seconds=n),
    )
    return replace(c, **changes)


@cache
def _pem(cert_id: str, number: int) -> str:
    """A real (self-signed, P-256) certificate for a published version: the table derives its lookup keys from it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{cert_id} v{number}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5E0 + number)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def version(
    cert_id: str = "cert-1", number: int = 1, stages: frozenset[Stage] = frozenset(), **changes: Any
) -> CertificateVersion:
    v = CertificateVersion(
        certificate_id=cert_id,
        version_number=number,
        stages=stages,
        serial_number=f"{0x5E0 + number:x}",
        validity=Validity(NOW, NOW + timedelta(days=30)),
        subject=Subject("www.example.com"),
        sans=(SubjectAlternativeName(SanType.DNS, "www.example.com"),),
        certificate_pem=_pem(cert_id, number) if stages else "",
        chain_pems=(),
        created_at=NOW,
        has_private_key=True,
        issuer_ca_id="ca-1",
    )
    return replace(v, **changes)


PUBLISHED = frozenset({Stage.CURRENT, Stage.LATEST})


def association(
    assoc_id: str = "assoc-1", cert_id: str = "cert-1", *, n: int = 0, target: str = LISTENER
) -> Association:
    return Association(
        id=assoc_id,
        certificate_id=cert_id,
        associated_resource_id=target,
        association_type=AssociationType.LOAD_BALANCER_LISTENER,
        created_by=ACTOR,
        created_at=NOW + timedelta(seconds=n),
        deployment=Deployment(desired_version=1),
        listener_role=ListenerRole.SNI,
        certificate_name="web",
    )


def audit(resource_id: str, action: str = "Test", *, n: int = 0) -> AuditRecord:
    return AuditRecord(resource_id, action, ACTOR, NOW + timedelta(seconds=n), "SUCCEEDED", {})


def revoked(serial: str, *, issuer: str = "ca-1", resource: str = "cert-1", number: int = 1) -> RevokedEntry:
    return RevokedEntry(
        issuer_ca_id=issuer,
        serial_number=serial,
        revoked_at=NOW,
        reason=RevocationReason.KEY_COMPROMISE,
        kind=RevokedKind.CERTIFICATE,
        resource_id=resource,
        version_number=number,
        not_after=NOW + timedelta(days=30),
    )
