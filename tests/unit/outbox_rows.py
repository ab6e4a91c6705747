"""Typed rows for the outbox's tests, built from domain objects as the row codec decodes them, and the images the
table's stream would hold of them (written by the same codec functions as the adapters' rows)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_ca_bundles import bundle_version_to_data
from certwright.adapters.dynamodb_crl import state_to_data
from certwright.domain.association import (
    Association,
    AssociationState,
    AssociationType,
    Deployment,
    ListenerRole,
)
from certwright.domain.authority import CaConfigType, CaRules, CaVersion, CertificateAuthority, LifecycleState, Validity
from certwright.domain.ca_bundle import CaBundleVersion
from certwright.domain.certificate import (
    Certificate,
    CertificateConfigType,
    CertificateVersion,
    Profile,
    Revocation,
    RevocationReason,
)
from certwright.domain.crl import CrlState
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.stages import Stage
from certwright.outbox import (
    AssociationRow,
    AuthorityRow,
    CaBundleVersionRow,
    CertificateRow,
    CertificateVersionRow,
    CrlRow,
    Row,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CERT_ID = "cert-outbox"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"
COPY = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
CREATOR = "arn:aws:iam::123456789012:user/tester"


def version_row(row_version: int = 1, *, failure_reason: str = "", **changes: Any) -> CertificateVersionRow:
    version = CertificateVersion(
        certificate_id=CERT_ID,
        version_number=2,
        stages=frozenset(),
        serial_number="5eed",
        validity=Validity(NOW, NOW + timedelta(days=30)),
        subject=Subject("www.example.com"),
        sans=(SubjectAlternativeName(SanType.DNS, "www.example.com"),),
        certificate_pem="",
        chain_pems=(),
        created_at=NOW,
        has_private_key=True,
        issuer_ca_id="ca-1",
    )
    return CertificateVersionRow(replace(version, **changes), row_version, failure_reason)


def published(row_version: int = 2, **changes: Any) -> CertificateVersionRow:
    return version_row(row_version, certificate_pem=PEM, stages=frozenset({Stage.CURRENT, Stage.LATEST}), **changes)


def certificate_row(row_version: int = 3, **changes: Any) -> CertificateRow:
    certificate = Certificate(
        id=CERT_ID,
        name="web",
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id="ca-1",
        subject=Subject("www.example.com"),
        sans=(SubjectAlternativeName(SanType.DNS, "www.example.com"),),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=Duration.parse("P30D"),
        renewal_rule=None,
        lifecycle_state=LifecycleState.ACTIVE,
        created_by=CREATOR,
        created_at=NOW,
        current_version_number=1,
        latest_version_number=1,
        row_version=row_version,
    )
    return CertificateRow(replace(certificate, **changes), row_version)


def association_row(
    row_version: int = 1, *, consent: AssociationState = AssociationState.ACTIVE, **deployment: Any
) -> AssociationRow:
    association = Association(
        id="assoc-1",
        certificate_id=CERT_ID,
        associated_resource_id=LISTENER,
        association_type=AssociationType.LOAD_BALANCER_LISTENER,
        created_by=CREATOR,
        created_at=NOW,
        deployment=replace(Deployment(desired_version=1), **deployment),
        listener_role=ListenerRole.SNI,
        certificate_name="web",
        row_version=row_version,
        state=consent,
        state_reason="the consent tag is gone" if consent is AssociationState.SUSPENDED else None,
    )
    return AssociationRow(association, row_version)


def authority_row(
    state: LifecycleState, row_version: int, *, version: int = 1, revoked: bool = False, issuer: str | None = "root-1"
) -> AuthorityRow:
    current = None
    if state is not LifecycleState.CREATING:
        revocation = Revocation(RevocationReason.KEY_COMPROMISE, NOW) if revoked else None
        current = CaVersion(
            version, f"ca5e{version}", Validity(NOW, NOW + timedelta(days=365)), PEM, revocation=revocation
        )
    ca = CertificateAuthority(
        id="ca-1",
        name="issuing",
        config_type=CaConfigType.SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA,
        subject=Subject("Issuing CA"),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        kms_key_id="key-1",
        rules=CaRules(),
        lifecycle_state=state,
        created_by=CREATOR,
        created_at=NOW,
        issuer_id=issuer,
        current_version=current,
        row_version=row_version,
    )
    return AuthorityRow(ca, row_version)


def crl_row(state: CrlState) -> CrlRow:
    return CrlRow(state, state.row_version)


def bundle_version_row(stages: frozenset[Stage], row_version: int = 1) -> CaBundleVersionRow:
    version = CaBundleVersion("cabundle-1", 2, (), stages, NOW, CREATOR)
    return CaBundleVersionRow(version, "trust", row_version)


Image = dict[str, Any]
SECRET = b"\x00sealed-private-key\xff"


def image(kind: str, pk: str, sk: str, data: Any, row_version: Any) -> Image:
    """As Powertools hands it over: `data` is JSON text, numbers are Decimals, the sealed key is bytes."""
    return {"pk": pk, "sk": sk, "kind": kind, "data": data, "row_version": row_version}


def image_of(row: Row) -> Image:
    """The table's image of a typed row, written by the codec functions the adapters write rows with."""
    rv = Decimal(row.row_version)
    if isinstance(row, AuthorityRow):
        return image("CA", f"CA#{row.authority.id}", "A", json.dumps(codec.authority_to_data(row.authority)), rv)
    if isinstance(row, CertificateRow):
        return image(
            "CERT", f"CERT#{row.certificate.id}", "C", json.dumps(codec.certificate_to_data(row.certificate)), rv
        )
    if isinstance(row, CertificateVersionRow):
        data = codec.version_to_data(row.version) | (
            {"failureReason": row.failure_reason} if row.failure_reason else {}
        )
        v = row.version
        return image("CERT_VERSION", f"CERT#{v.certificate_id}", f"V#{v.version_number:08d}", json.dumps(data), rv) | {
            "secret": SECRET
        }
    if isinstance(row, AssociationRow):
        data = codec.association_to_data(row.association)
        return image("ASSOC", f"ASSOC#{row.association.id}", "A", json.dumps(data), rv)
    if isinstance(row, CrlRow):
        return image(
            "CRL", f"CRL#{row.state.ca_id}", f"P#{row.state.partition:06d}", json.dumps(state_to_data(row.state)), rv
        )
    data = bundle_version_to_data(row.version) | {"name": row.bundle_name}
    return image("CA_BUNDLE_VERSION", f"BUNDLE#{row.version.bundle_id}", "V#00000002", json.dumps(data), rv)
