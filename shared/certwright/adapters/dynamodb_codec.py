"""Domain objects to and from the JSON stored in the table's `data` attribute (never a private key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certwright.domain.association import (
    Association,
    AssociationState,
    AssociationType,
    Deployment,
    DeploymentState,
    Endpoint,
    ListenerRole,
    Probe,
    ProbeFinding,
)
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import (
    CaConfigType,
    CaRules,
    CaVersion,
    CertificateAuthority,
    LifecycleState,
    NameConstraint,
    Validity,
)
from certwright.domain.certificate import (
    Certificate,
    CertificateConfigType,
    CertificateVersion,
    Profile,
    Revocation,
    RevocationReason,
)
from certwright.domain.crl_settings import CrlSettings
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.renewal import RenewalRule
from certwright.domain.revocation import RevokedEntry, RevokedKind
from certwright.domain.signing import SigningAlgorithm
from certwright.domain.stages import Stage
from certwright.domain.sweep import (
    DEFAULT_THRESHOLDS,
    ExpiredAlert,
    ExpiryAlert,
    SweepState,
    parse_thresholds,
    threshold_label,
)
from certwright.domain.tags import Tags


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _validity(v: Validity) -> dict[str, str]:
    return {"notBefore": iso(v.not_before), "notAfter": iso(v.not_after)}


def _validity_from(raw: dict[str, str]) -> Validity:
    return Validity(parse_time(raw["notBefore"]), parse_time(raw["notAfter"]))


def _sans(sans: tuple[SubjectAlternativeName, ...]) -> list[dict[str, str]]:
    return [s.as_dict() for s in sans]


def _sans_from(raw: list[dict[str, str]]) -> tuple[SubjectAlternativeName, ...]:
    return tuple(SubjectAlternativeName(SanType(s["type"]), s["value"]) for s in raw)


def authority_to_data(ca: CertificateAuthority) -> dict[str, Any]:
    version = ca.current_version
    return {
        "id": ca.id,
        "name": ca.name,
        "configType": ca.config_type.value,
        "subject": ca.subject.as_dict(),
        "keyAlgorithm": ca.key_algorithm.value,
        "kmsKeyId": ca.kms_key_id,
        "rules": ca.rules.as_dict(),
        "lifecycleState": ca.lifecycle_state.value,
        "createdBy": ca.created_by,
        "createdAt": iso(ca.created_at),
        "issuerId": ca.issuer_id,
        "depth": ca.depth,
        "chainPems": list(ca.chain_pems),
        "inheritedConstraints": [c.as_dict() for c in ca.inherited_constraints],
        "deletionTime": iso(ca.deletion_time) if ca.deletion_time else None,
        "currentVersion": None if version is None else authority_version_to_data(version),
        "owner": ca.owner,
        "freeformTags": dict(ca.freeform_tags),
        "description": ca.description,
        "issuanceDisabled": ca.issuance_disabled,
        "csrPem": ca.csr_pem,
        "signingAlgorithm": ca.signing_algorithm.value if ca.signing_algorithm else None,
        "keyImported": ca.key_imported,
        "crlSettings": ca.crl_settings.as_dict(),
    }


def authority_version_to_data(version: CaVersion) -> dict[str, Any]:
    return {
        "versionNumber": version.version_number,
        "serialNumber": version.serial_number,
        "validity": _validity(version.validity),
        "certificatePem": version.certificate_pem,
        "stages": list(version.stages),
        "revocation": revocation_to_data(version.revocation),
        "crlPartition": version.crl_partition,
        "timeOfDeletion": iso(version.deletion_time) if version.deletion_time else None,
        "deletedAt": iso(version.deleted_at) if version.deleted_at else None,
    }


def authority_version_from_data(raw: dict[str, Any]) -> CaVersion:
    return CaVersion(
        version_number=raw["versionNumber"],
        serial_number=raw["serialNumber"],
        validity=_validity_from(raw["validity"]),
        certificate_pem=raw["certificatePem"],
        stages=tuple(raw.get("stages", ())),
        revocation=revocation_from_data(raw.get("revocation")),
        crl_partition=raw.get("crlPartition", 0),
        deletion_time=parse_time(raw["timeOfDeletion"]) if raw.get("timeOfDeletion") else None,
        deleted_at=parse_time(raw["deletedAt"]) if raw.get("deletedAt") else None,
    )


def revocation_to_data(r: Revocation | None) -> dict[str, str] | None:
    return None if r is None else {"reason": r.reason.value, "revokedAt": iso(r.revoked_at)}


def revocation_from_data(raw: dict[str, str] | None) -> Revocation | None:
    return None if not raw else Revocation(RevocationReason(raw["reason"]), parse_time(raw["revokedAt"]))


def authority_from_data(raw: dict[str, Any], row_version: int) -> CertificateAuthority:
    version = raw.get("currentVersion")
    return CertificateAuthority(
        id=raw["id"],
        name=raw["name"],
        config_type=CaConfigType(raw["configType"]),
        subject=Subject.from_dict(raw["subject"]),
        key_algorithm=KeyAlgorithm(raw["keyAlgorithm"]),
        kms_key_id=raw["kmsKeyId"],
        rules=CaRules.from_dict(raw.get("rules")),
        lifecycle_state=LifecycleState(raw["lifecycleState"]),
        created_by=raw["createdBy"],
        created_at=parse_time(raw["createdAt"]),
        issuer_id=raw.get("issuerId"),
        depth=raw.get("depth", 0),
        chain_pems=tuple(raw.get("chainPems", [])),
        inherited_constraints=tuple(NameConstraint.from_dict(c) for c in raw.get("inheritedConstraints", [])),
        deletion_time=parse_time(raw["deletionTime"]) if raw.get("deletionTime") else None,
        current_version=None if version is None else authority_version_from_data(version),
        row_version=row_version,
        owner=raw.get("owner") or "",
        freeform_tags=tags_from_data(raw.get("freeformTags")),
        description=raw.get("description") or "",
        issuance_disabled=bool(raw.get("issuanceDisabled", False)),
        csr_pem=raw.get("csrPem") or "",
        signing_algorithm=SigningAlgorithm(raw["signingAlgorithm"]) if raw.get("signingAlgorithm") else None,
        key_imported=bool(raw.get("keyImported", False)),
        crl_settings=CrlSettings.from_dict(raw.get("crlSettings")),
    )


def certificate_to_data(c: Certificate) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "configType": c.config_type.value,
        "profile": c.profile.value if c.profile else None,
        "issuerCertificateAuthorityId": c.issuer_ca_id,
        "subject": c.subject.as_dict(),
        "subjectAlternativeNames": _sans(c.sans),
        "keyAlgorithm": c.key_algorithm.value,
        "validityDuration": c.validity_duration.text if c.validity_duration else None,
        "renewalRule": c.renewal_rule.as_dict() if c.renewal_rule else None,
        "lifecycleState": c.lifecycle_state.value,
        "createdBy": c.created_by,
        "createdAt": iso(c.created_at),
        "currentVersionNumber": c.current_version_number,
        "latestVersionNumber": c.latest_version_number,
        "associationCount": c.association_count,
        "nextRenewalAt": iso(c.next_renewal_at) if c.next_renewal_at else None,
        "deletionTime": iso(c.deletion_time) if c.deletion_time else None,
        "description": c.description,
        "nextCheckAt": iso(c.next_check_at) if c.next_check_at else None,
        "sweep": _sweep_to_data(c.sweep),
        "retiredBy": c.retired_by.value if c.retired_by else None,
        "expiryAlertThresholds": [threshold_label(t) for t in c.expiry_alert_thresholds],
        "owner": c.owner,
        "freeformTags": dict(c.freeform_tags),
        "signingAlgorithm": c.signing_algorithm.value if c.signing_algorithm else None,
    }


def _sweep_to_data(s: SweepState) -> dict[str, Any]:
    return {
        "expiryAlerts": [a.as_dict() for a in s.expiry_alerts],
        "renewalFailures": s.renewal_failures,
        "lastError": s.last_error,
        "retryAt": iso(s.retry_at) if s.retry_at else None,
        "overdueAlertedFor": s.overdue_alerted_for,
        "expiredAlert": s.expired_alert.as_dict() if s.expired_alert else None,
        "leaseOwner": s.lease_owner,
        "leaseUntil": iso(s.lease_until) if s.lease_until else None,
    }


def _sweep_from_data(raw: dict[str, Any] | None) -> SweepState:
    raw = raw or {}
    return SweepState(
        expiry_alerts=tuple(
            ExpiryAlert(a["threshold"], a["versionNumber"], a["notAfter"], a.get("announced", True))
            for a in raw.get("expiryAlerts", [])
        ),
        renewal_failures=raw.get("renewalFailures", 0),
        last_error=raw.get("lastError"),
        retry_at=parse_time(raw["retryAt"]) if raw.get("retryAt") else None,
        overdue_alerted_for=raw.get("overdueAlertedFor"),
        expired_alert=_expired_from_data(raw.get("expiredAlert")),
        lease_owner=raw.get("leaseOwner"),
        lease_until=parse_time(raw["leaseUntil"]) if raw.get("leaseUntil") else None,
    )


def _expired_from_data(raw: dict[str, Any] | None) -> ExpiredAlert | None:
    return ExpiredAlert(raw["versionNumber"], raw["notAfter"]) if raw else None


def certificate_from_data(raw: dict[str, Any], row_version: int) -> Certificate:
    validity = Duration.parse(raw["validityDuration"]) if raw.get("validityDuration") else None
    rule = raw.get("renewalRule")
    return Certificate(
        id=raw["id"],
        name=raw["name"],
        config_type=CertificateConfigType(raw["configType"]),
        profile=Profile(raw["profile"]) if raw.get("profile") else None,
        issuer_ca_id=raw.get("issuerCertificateAuthorityId"),
        subject=Subject.from_dict(raw["subject"]),
        sans=_sans_from(raw.get("subjectAlternativeNames", [])),
        key_algorithm=KeyAlgorithm(raw["keyAlgorithm"]),
        validity_duration=validity,
        renewal_rule=_renewal_rule_from(rule) if rule and validity else None,
        lifecycle_state=LifecycleState(raw["lifecycleState"]),
        created_by=raw["createdBy"],
        created_at=parse_time(raw["createdAt"]),
        current_version_number=raw.get("currentVersionNumber", 0),
        latest_version_number=raw.get("latestVersionNumber", 0),
        association_count=raw.get("associationCount", 0),
        next_renewal_at=parse_time(raw["nextRenewalAt"]) if raw.get("nextRenewalAt") else None,
        deletion_time=parse_time(raw["deletionTime"]) if raw.get("deletionTime") else None,
        description=raw.get("description", ""),
        next_check_at=parse_time(raw["nextCheckAt"]) if raw.get("nextCheckAt") else None,
        sweep=_sweep_from_data(raw.get("sweep")),
        retired_by=RevocationReason(raw["retiredBy"]) if raw.get("retiredBy") else None,
        expiry_alert_thresholds=parse_thresholds(raw["expiryAlertThresholds"])
        if raw.get("expiryAlertThresholds")
        else DEFAULT_THRESHOLDS,
        row_version=row_version,
        owner=raw.get("owner") or "",
        freeform_tags=tags_from_data(raw.get("freeformTags")),
        signing_algorithm=SigningAlgorithm(raw["signingAlgorithm"]) if raw.get("signingAlgorithm") else None,
    )


def tags_from_data(raw: dict[str, str] | None) -> Tags:
    # Validated when written; re-validating on read would strand rows whenever the rules tighten.
    return tuple(sorted((raw or {}).items()))


def _renewal_rule_from(raw: dict[str, str]) -> RenewalRule:
    # Checked against the validity when written; checking again on read would strand rows whenever the checks tighten.
    return RenewalRule(
        Duration.parse(raw["renewalInterval"]), Duration.parse(raw["advanceRenewalPeriod"]), raw.get("stage", "CURRENT")
    )


def version_to_data(v: CertificateVersion) -> dict[str, Any]:
    return {
        "certificateId": v.certificate_id,
        "versionNumber": v.version_number,
        "stages": sorted(v.stages),
        "serialNumber": v.serial_number,
        "validity": _validity(v.validity),
        "subject": v.subject.as_dict(),
        "subjectAlternativeNames": _sans(v.sans),
        "certificatePem": v.certificate_pem,
        "chainPems": list(v.chain_pems),
        "createdAt": iso(v.created_at),
        "hasPrivateKey": v.has_private_key,
        "timeOfDeletion": iso(v.deletion_time) if v.deletion_time else None,
        "deletedAt": iso(v.deleted_at) if v.deleted_at else None,
        "issuerCertificateAuthorityId": v.issuer_ca_id,
        "revocation": revocation_to_data(v.revocation),
        "crlPartition": v.crl_partition,
    }


def version_from_data(raw: dict[str, Any]) -> CertificateVersion:
    revocation = raw.get("revocation")
    return CertificateVersion(
        certificate_id=raw["certificateId"],
        version_number=raw["versionNumber"],
        stages=frozenset(Stage(s) for s in raw["stages"]),
        serial_number=raw["serialNumber"],
        validity=_validity_from(raw["validity"]),
        subject=Subject.from_dict(raw["subject"]),
        sans=_sans_from(raw.get("subjectAlternativeNames", [])),
        certificate_pem=raw.get("certificatePem", ""),
        chain_pems=tuple(raw.get("chainPems", [])),
        created_at=parse_time(raw["createdAt"]),
        has_private_key=raw.get("hasPrivateKey", False),
        deletion_time=parse_time(raw["timeOfDeletion"]) if raw.get("timeOfDeletion") else None,
        deleted_at=parse_time(raw["deletedAt"]) if raw.get("deletedAt") else None,
        issuer_ca_id=raw.get("issuerCertificateAuthorityId"),
        revocation=revocation_from_data(revocation),
        crl_partition=raw.get("crlPartition", 0),
    )


def association_to_data(a: Association) -> dict[str, Any]:
    d = a.deployment
    return (
        {
            "id": a.id,
            "certificateId": a.certificate_id,
            "associatedResourceId": a.associated_resource_id,
            "associationType": a.association_type.value,
            "createdBy": a.created_by,
            "createdAt": iso(a.created_at),
            "hostnames": list(a.hostnames),
            "listenerRole": a.listener_role.value,
            "certificateName": a.certificate_name,
            "deployment": {
                "desiredVersion": d.desired_version,
                "deployedVersion": d.deployed_version,
                "state": d.state.value,
                "lastError": d.last_error,
                "verifiedAt": iso(d.verified_at) if d.verified_at else None,
                "deployedSerialNumber": d.deployed_serial_number,
                "deployedAcmArn": d.deployed_acm_arn,
                "attempts": d.attempts,
            },
        }
        | ({"caBundleId": a.ca_bundle_id} if a.ca_bundle_id else {})
        | _consent_to_data(a)
        | _probe_to_data(a)
    )


def _probe_to_data(a: Association) -> dict[str, Any]:
    """The endpoint to probe and the last probe (absent on associations without one)."""
    data: dict[str, Any] = {}
    if a.endpoint is not None:
        data["endpoint"] = {"host": a.endpoint.host, "port": a.endpoint.port, "serverName": a.endpoint.server_name}
    if a.probe is not None:
        p = a.probe
        data["probe"] = {
            "checkedAt": iso(p.checked_at),
            "servedSerial": p.served_serial,
            "healthy": p.healthy,
            "expectedSerial": p.expected_serial,
            "findings": [{"code": f.code, "severity": f.severity, "message": f.message} for f in p.findings],
        }
    return data


def _probe_from_data(raw: dict[str, Any]) -> tuple[Endpoint | None, Probe | None]:
    e, p = raw.get("endpoint"), raw.get("probe")
    endpoint = Endpoint(e["host"], int(e["port"]), e.get("serverName")) if e else None
    probe = (
        Probe(
            checked_at=parse_time(p["checkedAt"]),
            served_serial=p.get("servedSerial"),
            healthy=bool(p["healthy"]),
            findings=tuple(ProbeFinding(f["code"], f["severity"], f["message"]) for f in p.get("findings", [])),
            expected_serial=p.get("expectedSerial"),
        )
        if p
        else None
    )
    return endpoint, probe


def _consent_to_data(a: Association) -> dict[str, Any]:
    data: dict[str, Any] = {"state": a.state.value}
    if a.state_reason:
        data["stateReason"] = a.state_reason
    if a.confirmed_by:
        data["confirmedBy"] = a.confirmed_by
        data["confirmedAt"] = iso(a.confirmed_at) if a.confirmed_at else None
    return data


def association_from_data(raw: dict[str, Any], row_version: int) -> Association:
    d = raw["deployment"]
    endpoint, probe = _probe_from_data(raw)
    return Association(
        id=raw["id"],
        certificate_id=raw["certificateId"],
        associated_resource_id=raw["associatedResourceId"],
        association_type=AssociationType(raw["associationType"]),
        created_by=raw["createdBy"],
        created_at=parse_time(raw["createdAt"]),
        hostnames=tuple(raw.get("hostnames", [])),
        listener_role=ListenerRole(raw.get("listenerRole", ListenerRole.DEFAULT.value)),
        certificate_name=raw.get("certificateName", ""),
        deployment=Deployment(
            desired_version=d["desiredVersion"],
            deployed_version=d.get("deployedVersion"),
            state=DeploymentState(d["state"]),
            last_error=d.get("lastError"),
            verified_at=parse_time(d["verifiedAt"]) if d.get("verifiedAt") else None,
            deployed_serial_number=d.get("deployedSerialNumber"),
            deployed_acm_arn=d.get("deployedAcmArn"),
            attempts=d.get("attempts", 0),
        ),
        row_version=row_version,
        ca_bundle_id=raw.get("caBundleId"),
        state=AssociationState(raw.get("state", AssociationState.ACTIVE.value)),
        state_reason=raw.get("stateReason"),
        confirmed_by=raw.get("confirmedBy"),
        confirmed_at=parse_time(raw["confirmedAt"]) if raw.get("confirmedAt") else None,
        endpoint=endpoint,
        probe=probe,
    )


def audit_to_data(r: AuditRecord) -> dict[str, Any]:
    return {
        "resourceId": r.resource_id,
        "action": r.action,
        "actor": r.actor,
        "at": iso(r.at),
        "result": r.result,
        "details": dict(r.details),
    }


def audit_from_data(raw: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        raw["resourceId"],
        raw["action"],
        raw["actor"],
        parse_time(raw["at"]),
        raw["result"],
        dict(raw.get("details", {})),
    )


def revoked_entry_to_data(e: RevokedEntry) -> dict[str, Any]:
    return {
        "issuerCaId": e.issuer_ca_id,
        "serialNumber": e.serial_number,
        "revokedAt": iso(e.revoked_at),
        "reason": e.reason.value,
        "kind": e.kind.value,
        "resourceId": e.resource_id,
        "versionNumber": e.version_number,
        "partition": e.partition,
        "notAfter": iso(e.not_after) if e.not_after else None,
    }


def revoked_entry_from_data(raw: dict[str, Any]) -> RevokedEntry:
    return RevokedEntry(
        issuer_ca_id=raw["issuerCaId"],
        serial_number=raw["serialNumber"],
        revoked_at=parse_time(raw["revokedAt"]),
        reason=RevocationReason(raw["reason"]),
        kind=RevokedKind(raw["kind"]),
        resource_id=raw["resourceId"],
        version_number=int(raw["versionNumber"]),
        partition=int(raw.get("partition", 0)),
        not_after=parse_time(raw["notAfter"]) if raw.get("notAfter") else None,
    )


# The lookup indexes (adapters/dynamodb_lookup.py): the keys a published version row carries.
def serial_key(serial_number: str) -> str:
    """The index form of a serial number: lowercase hex, no separators, no leading zeros."""
    return serial_number.replace(":", "").lower().lstrip("0") or "0"


def fingerprint_key(fingerprint: str) -> str:
    return fingerprint.replace(":", "").lower()


def lookup_keys(version: CertificateVersion) -> tuple[str, str]:
    """The (serial_key, fingerprint_key) a published version row carries."""
    der = x509.load_pem_x509_certificate(version.certificate_pem.encode()).fingerprint(hashes.SHA256())
    return serial_key(version.serial_number), der.hex()
