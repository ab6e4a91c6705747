"""Domain objects to API JSON (camelCase, as in the API contract) and the response models that describe it;
never includes a private key unasked.

Expiry is shown, not hidden in a state: `lifecycleState` stays the resource's lifecycle (as in OCI, where an
expired certificate is still ACTIVE and takes a new version), and `expired` (on each version, and on the
certificate for its CURRENT version) says whether notAfter is behind `now`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from certwright.domain.association import Association, AssociationState, Probe
from certwright.domain.authority import CaVersion, CertificateAuthority, Validity
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.deletion import ca_version_state
from certwright.domain.revocation import Revocation
from certwright.domain.sweep import has_expired, threshold_label


def _validity(v: Validity) -> dict[str, str]:
    return {"notBefore": v.not_before.isoformat(), "notAfter": v.not_after.isoformat()}


def authority(ca: CertificateAuthority) -> dict[str, Any]:
    version = ca.current_version
    return {
        "id": ca.id,
        "name": ca.name,
        "configType": ca.config_type.value,
        "issuerCertificateAuthorityId": ca.issuer_id,
        "subject": ca.subject.as_dict(),
        "keyAlgorithm": ca.key_algorithm.value,
        "signingAlgorithm": ca.effective_signing_algorithm.value,
        "crlSettings": ca.crl_settings.as_dict(),
        "kmsKeyId": ca.kms_key_id,
        "rules": ca.rules.as_dict(),
        "lifecycleState": ca.lifecycle_state.value,
        "timeOfDeletion": ca.deletion_time.isoformat() if ca.deletion_time else None,
        "createdBy": ca.created_by,
        "timeCreated": ca.created_at.isoformat(),
        "currentVersion": None if version is None else authority_version(version),
        "freeformTags": dict(ca.freeform_tags),
        "description": ca.description,
        # DISABLED: issues nothing (lifecycleState stays ACTIVE: it is still trusted and publishes its CRLs).
        "issuanceState": "DISABLED" if ca.issuance_disabled else "ENABLED",
    }


def authority_version(version: CaVersion) -> dict[str, Any]:
    return {
        "versionNumber": version.version_number,
        "serialNumber": version.serial_number,
        "stages": list(version.stages),
        "validity": _validity(version.validity),
        "revocationStatus": _revocation(version.revocation),
        "lifecycleState": ca_version_state(version).value,
        "timeOfDeletion": version.deletion_time.isoformat() if version.deletion_time else None,
    }


def _revocation(r: Revocation | None) -> dict[str, str] | None:
    if r is None:
        return None
    return {"revocationReason": r.reason.value, "timeOfRevocation": r.revoked_at.isoformat()}


def version(v: CertificateVersion, now: datetime) -> dict[str, Any]:
    return {
        "certificateId": v.certificate_id,
        "versionNumber": v.version_number,
        "serialNumber": v.serial_number,
        "stages": sorted(s.value for s in v.stages),
        "validity": _validity(v.validity),
        "expired": has_expired(v.validity.not_after, now),
        "subject": v.subject.as_dict(),
        "subjectAlternativeNames": [s.as_dict() for s in v.sans],
        "timeCreated": v.created_at.isoformat(),
        "lifecycleState": "DELETED" if v.deleted_at else "PENDING_DELETION" if v.deletion_time else "ACTIVE",
        "timeOfDeletion": v.deletion_time.isoformat() if v.deletion_time else None,
        "revocationStatus": _revocation(v.revocation),
    }


def certificate(c: Certificate, current: CertificateVersion | None, now: datetime) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "configType": c.config_type.value,
        "profile": c.profile.value if c.profile else None,
        "issuerCertificateAuthorityId": c.issuer_ca_id,
        "subject": c.subject.as_dict(),
        "subjectAlternativeNames": [s.as_dict() for s in c.sans],
        "keyAlgorithm": c.key_algorithm.value,
        "signingAlgorithm": c.signing_algorithm.value if c.signing_algorithm else None,
        "validityDuration": c.validity_duration.text if c.validity_duration else None,
        "renewalRule": c.renewal_rule.as_dict() if c.renewal_rule else None,
        "nextRenewalAt": c.next_renewal_at.isoformat() if c.next_renewal_at else None,
        "expiryAlertThresholds": [threshold_label(t) for t in c.expiry_alert_thresholds],
        "lifecycleState": c.lifecycle_state.value,
        # The CURRENT version is past its notAfter: the certificate serves nothing a client accepts.
        "expired": current is not None and has_expired(current.validity.not_after, now),
        "timeOfDeletion": c.deletion_time.isoformat() if c.deletion_time else None,
        "associationCount": c.association_count,
        "createdBy": c.created_by,
        "timeCreated": c.created_at.isoformat(),
        "currentVersion": version(current, now) if current else None,
        "freeformTags": dict(c.freeform_tags),
    }


def bundle(c: Certificate, v: CertificateVersion, private_key_pem: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "certificateId": c.id,
        "certificateName": c.name,
        "versionNumber": v.version_number,
        "serialNumber": v.serial_number,
        "stages": sorted(s.value for s in v.stages),
        "validity": _validity(v.validity),
        "certificatePem": v.certificate_pem,
        "certChainPem": "".join(v.chain_pems),
    }
    if private_key_pem is not None:
        body["privateKeyPem"] = private_key_pem
    return body


def association(a: Association) -> dict[str, Any]:
    d = a.deployment
    return {
        "id": a.id,
        "certificateId": a.certificate_id or None,
        "caBundleId": a.ca_bundle_id,
        "associatedResourceId": a.associated_resource_id,
        "associationType": a.association_type.value,
        "hostnames": list(a.hostnames),
        "listenerCertificateRole": a.listener_role.value,
        "createdBy": a.created_by,
        "timeCreated": a.created_at.isoformat(),
        "state": a.state.value,
        "stateReason": a.state_reason,
        "confirmedBy": a.confirmed_by,
        "deployment": {
            "desiredVersion": d.desired_version,
            "deployedVersion": d.deployed_version,
            "state": d.state.value,
            "lastError": d.last_error,
            "verifiedAt": d.verified_at.isoformat() if d.verified_at else None,
            "deployedSerialNumber": d.deployed_serial_number,
            "acmCertificateArn": d.deployed_acm_arn,
        },
        "endpoint": (
            {"address": a.endpoint.address, "serverName": a.endpoint.server_name} if a.endpoint is not None else None
        ),
        "probe": _probe(a.probe),
    }


def _probe(p: Probe | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "checkedAt": p.checked_at.isoformat(),
        "servedSerial": p.served_serial,
        "expectedSerial": p.expected_serial,
        "healthy": p.healthy,
        "findings": [{"code": f.code, "severity": f.severity, "message": f.message} for f in p.findings],
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def poll_item(a: Association, c: Certificate, v: CertificateVersion, etag: str) -> dict[str, Any]:
    """One host association in a poll answer: what to install (never a key); `etag` changes with any of it."""
    return {
        "associationId": a.id,
        "certificateId": c.id,
        "certificateName": c.name,
        "associatedResourceId": a.host_principal,
        "hostnames": list(a.hostnames),
        "consentState": "CONFIRMED" if a.state is AssociationState.ACTIVE else "PENDING_CONFIRMATION",
        "versionNumber": v.version_number,
        "serialNumber": v.serial_number,
        "notAfter": _utc(v.validity.not_after),
        "etag": etag,
        "deployment": association(a)["deployment"],
    }


# -- response models: what the OpenAPI document promises each answer looks like ------------------------------
# The dicts above are what is sent; these models only describe them (open to added fields, so a new field is
# never a contract break). Enumerated values are plain strings here: the request models list the choices.


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(_Out):
    """Every 4xx and 5xx answer of the API."""

    code: str = Field(description="stable, machine-readable error code, e.g. NameConstraintViolation")
    message: str


class ValidityOut(_Out):
    notBefore: str
    notAfter: str


class RevocationOut(_Out):
    revocationReason: str
    timeOfRevocation: str


class AuthorityVersionOut(_Out):
    versionNumber: int
    serialNumber: str
    stages: list[str]
    validity: ValidityOut
    revocationStatus: RevocationOut | None
    lifecycleState: Literal["ACTIVE", "PENDING_DELETION", "DELETED"]
    timeOfDeletion: str | None


class AuthorityOut(_Out):
    id: str
    name: str
    configType: str
    issuerCertificateAuthorityId: str | None
    subject: dict[str, Any]
    keyAlgorithm: str
    signingAlgorithm: str
    crlSettings: dict[str, Any] = Field(
        default_factory=dict, description="enabled, validityDuration (null: the service's), customFormattedUrls"
    )
    kmsKeyId: str
    rules: dict[str, Any]
    lifecycleState: str
    timeOfDeletion: str | None
    createdBy: str
    timeCreated: str
    currentVersion: AuthorityVersionOut | None
    freeformTags: dict[str, str]
    description: str
    issuanceState: str


class AuthorityCsrOut(_Out):
    certificateAuthorityId: str
    lifecycleState: str
    csrPem: str


class AuthorityChainOut(_Out):
    certificateAuthorityId: str
    certificatePem: str
    certChainPem: str


class SanOut(_Out):
    type: str
    value: str


class VersionOut(_Out):
    certificateId: str
    versionNumber: int
    serialNumber: str | None
    stages: list[str]
    validity: ValidityOut | None
    subject: dict[str, Any]
    subjectAlternativeNames: list[SanOut]
    timeCreated: str
    lifecycleState: str
    timeOfDeletion: str | None
    revocationStatus: RevocationOut | None
    expired: bool = Field(description="notAfter is behind (lifecycleState stays the resource's lifecycle)")


class ReplacementOut(_Out):
    state: str
    versionNumber: int | None
    message: str | None


class RevokedVersionOut(VersionOut):
    replacement: ReplacementOut | None


class CertificateOut(_Out):
    id: str
    name: str
    description: str | None
    configType: str
    profile: str | None
    issuerCertificateAuthorityId: str | None
    subject: dict[str, Any]
    subjectAlternativeNames: list[SanOut]
    keyAlgorithm: str
    validityDuration: str | None
    renewalRule: dict[str, str] | None
    nextRenewalAt: str | None
    expiryAlertThresholds: list[str]
    lifecycleState: str
    timeOfDeletion: str | None
    associationCount: int
    createdBy: str
    timeCreated: str
    currentVersion: VersionOut | None
    expired: bool = Field(description="the CURRENT version's notAfter is behind")
    freeformTags: dict[str, str]
    signingAlgorithm: str | None = Field(default=None, description="overrides the issuing CA's; null: the CA's")


class BundleOut(_Out):
    certificateId: str
    certificateName: str
    versionNumber: int
    serialNumber: str | None
    stages: list[str]
    validity: ValidityOut | None
    certificatePem: str
    certChainPem: str
    privateKeyPem: str | None = Field(default=None, description="only with includePrivateKey=true, to its reader")


class DeploymentOut(_Out):
    desiredVersion: int | None
    deployedVersion: int | None
    state: str
    lastError: str | None
    verifiedAt: str | None
    deployedSerialNumber: str | None
    acmCertificateArn: str | None


class EndpointOut(_Out):
    address: str = Field(description="host:port the prober connects to")
    serverName: str | None = Field(description="the SNI name sent (default: the host)")


class ProbeFindingOut(_Out):
    code: str
    severity: str = Field(description="error, warning or info (the codes of `certwright diagnose`)")
    message: str


class ProbeOut(_Out):
    checkedAt: str
    servedSerial: str | None = Field(description="serial number of the leaf served; null when no handshake")
    expectedSerial: str | None = Field(description="the CURRENT version's serial number")
    healthy: bool
    findings: list[ProbeFindingOut]


class AssociationOut(_Out):
    id: str
    certificateId: str | None
    caBundleId: str | None
    associatedResourceId: str
    associationType: str
    hostnames: list[str]
    listenerCertificateRole: str
    createdBy: str
    timeCreated: str
    state: str = Field(description="ACTIVE, PENDING_CONFIRMATION (a host has not confirmed) or SUSPENDED (no consent)")
    stateReason: str | None
    deployment: DeploymentOut
    endpoint: EndpointOut | None = None
    probe: ProbeOut | None = Field(default=None, description="the scheduled prober's last result for the endpoint")


class PollItemOut(_Out):
    associationId: str
    certificateId: str
    certificateName: str
    associatedResourceId: str = Field(description="the caller's principal, normalized (a session polls for its role)")
    hostnames: list[str]
    consentState: str = Field(description="CONFIRMED, or PENDING_CONFIRMATION (confirm it before reading the key)")
    versionNumber: int = Field(description="the certificate's CURRENT version")
    serialNumber: str
    notAfter: str
    etag: str = Field(description="changes whenever anything in this item does")
    deployment: DeploymentOut


class PollOut(_Out):
    etag: str = Field(description="the answer's entity tag (also the ETag header); send it back as If-None-Match")
    items: list[PollItemOut]
    omitted: int = Field(
        default=0,
        description="unconfirmed associations left out (past the first 100); name their certificates in certificateIds",
    )


class GrantOut(_Out):
    id: str
    resourceId: str
    principalArn: str
    role: str = Field(description="ISSUER (CAs only), MANAGER or READER")
    createdBy: str
    timeCreated: str


class TrustedCertificateOut(_Out):
    subject: str
    sha256Fingerprint: str
    notAfter: str
    source: str


class CaBundleVersionOut(_Out):
    caBundleId: str
    versionNumber: int
    stages: list[str]
    reason: str | None
    createdBy: str
    timeCreated: str
    certificates: list[TrustedCertificateOut]


class CaBundlePemOut(CaBundleVersionOut):
    caBundlePem: str


class CaBundleOut(_Out):
    id: str
    name: str
    description: str | None
    lifecycleState: str
    certificateAuthorityIds: list[str]
    includeCertificateAuthorityChain: bool
    givenCertificates: list[TrustedCertificateOut]
    withdrawnCertificateAuthorityIds: list[str]
    stale: bool
    currentVersionNumber: int | None
    latestVersionNumber: int | None
    associationCount: int
    createdBy: str
    timeCreated: str
    currentVersion: CaBundleVersionOut | None
    freeformTags: dict[str, str]


class AuditEventOut(_Out):
    resourceId: str
    action: str
    caller: str
    time: str
    result: str
    details: dict[str, Any]


_Item = TypeVar("_Item", bound=BaseModel)


class PageOut(_Out, Generic[_Item]):
    items: list[_Item]
    nextPage: str | None = Field(description="pass as ?page= for the next page; null on the last page")


class AuthorityPage(PageOut[AuthorityOut]):
    pass


class AuthorityVersionPage(PageOut[AuthorityVersionOut]):
    pass


class CertificatePage(PageOut[CertificateOut]):
    pass


class VersionPage(PageOut[VersionOut]):
    pass


class AssociationPage(PageOut[AssociationOut]):
    pass


class CaBundlePage(PageOut[CaBundleOut]):
    pass


class CaBundleVersionPage(PageOut[CaBundleVersionOut]):
    pass


class GrantPage(PageOut[GrantOut]):
    pass


class AuditEventPage(PageOut[AuditEventOut]):
    nextToken: str | None = Field(description="the same token as nextPage (this listing's historical name)")


class EabKeyOut(_Out):
    """An ACME External Account Binding key (RFC 8555 §7.3.4), without its HMAC key."""

    keyId: str
    principalArn: str = Field(description="the principal every ACME account bound with this key acts as")
    certificateAuthorityId: str | None = Field(description="the only CA whose ACME directory takes it; null: any")
    timeCreated: str
    revoked: bool


class EabKeyCreatedOut(EabKeyOut):
    hmacKey: str = Field(description="the base64url HMAC key; shown only in this answer, stored only sealed")


class EabKeyPage(PageOut[EabKeyOut]):
    pass
