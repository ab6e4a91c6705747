"""The outbox: a table change (old and new row image) becomes the domain events it stands for; pure.

The table is the only place state is written; this translation, run on the table's stream, is the only
place events come from. Images are plain dicts as the table holds them (`data` is the row's JSON). An absent
or empty image is no image: Powertools hands a REMOVE record's missing new image (and an INSERT's missing old
one) as `{}`, so `image_of` decides once, for every translator, whether a row was created, changed or removed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from certwright.events import (
    AssociationCreated,
    AssociationDeleted,
    AssociationResumed,
    AssociationSuspended,
    CaBundleVersionCreated,
    CertificateAuthorityCreated,
    CertificateAuthorityDeleted,
    CertificateAuthorityVersionCreated,
    CertificateAuthorityVersionRevoked,
    CertificateDeleted,
    CertificateExpired,
    CertificateExpiring,
    CertificateVersionCreated,
    CertificateVersionFailed,
    CertificateVersionRevoked,
    CertificateVersionStageChanged,
    CrlPublished,
    CrlStale,
    DeploymentFailed,
    DeploymentSucceeded,
    DomainEvent,
    EndpointHealthy,
    EndpointUnhealthy,
    RenewalFailed,
    RenewalOverdue,
)

Image = dict[str, Any]


def image_of(raw: Mapping[str, Any] | None) -> Image | None:
    """A stream record's row image, or None when the record has none (absent, or empty as Powertools gives it)."""
    return dict(raw) if raw else None


def _data(image: Image | None) -> dict[str, Any]:
    if not image:
        return {}
    raw = image.get("data")
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


def _row_version(image: Image | None) -> int:
    return int((image or {}).get("row_version") or 0)


def events_for(
    record_id: str, old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None
) -> list[DomainEvent]:
    """The events one stream record stands for; `record_id` (the stream's eventID) makes event ids stable.

    A record without a new image is a removal (a delete, or a TTL expiry), whatever form the missing image takes.
    """
    old, new = image_of(old_image), image_of(new_image)
    kind = (new or old or {}).get("kind")
    before, after = _data(old), _data(new)
    version = _row_version(new) or _row_version(old)
    translate = _TRANSLATORS.get(str(kind))
    if translate is None:
        return []
    produced = translate(before, after, new is None, version)
    return [_with_id(event, f"{record_id}:{index}") for index, event in enumerate(produced)]


def _with_id(event: DomainEvent, event_id: str) -> DomainEvent:
    values = event.to_detail() | {"event_id": event_id}
    return type(event)(**values)


def _authority(before: dict[str, Any], after: dict[str, Any], removed: bool, version: int) -> list[DomainEvent]:
    revoked = _authority_revoked(before, after, version)
    if revoked:
        return revoked
    old_number = (before.get("currentVersion") or {}).get("versionNumber")
    current = after.get("currentVersion") or {}
    if old_number and not removed and current.get("versionNumber", 0) > old_number:
        return [
            CertificateAuthorityVersionCreated(
                "", after["id"], version, current["versionNumber"], current["serialNumber"]
            )
        ]
    if not removed and after.get("lifecycleState") == "DELETED" and before.get("lifecycleState") != "DELETED":
        return [CertificateAuthorityDeleted("", after["id"], version, after["name"])]
    # Only the first activation creates it: a cancelled deletion also returns a CA to ACTIVE.
    if removed or after.get("lifecycleState") != "ACTIVE" or before.get("lifecycleState") not in (None, "CREATING"):
        return []
    current = after.get("currentVersion") or {}
    return [CertificateAuthorityCreated("", after["id"], version, after["name"], current.get("serialNumber", ""))]


def _authority_revoked(before: dict[str, Any], after: dict[str, Any], version: int) -> list[DomainEvent]:
    current = after.get("currentVersion") or {}
    revocation = current.get("revocation")
    if not revocation or ((before.get("currentVersion") or {}).get("revocation")):
        return []
    return [
        CertificateAuthorityVersionRevoked(
            "",
            after["id"],
            version,
            current["versionNumber"],
            current["serialNumber"],
            after.get("issuerId") or "",
            revocation["reason"],
            revocation["revokedAt"],
            after["name"],
        )
    ]


def _certificate_version(
    before: dict[str, Any], after: dict[str, Any], removed: bool, version: int
) -> list[DomainEvent]:
    if removed:
        return []
    certificate_id, number = after["certificateId"], after["versionNumber"]
    revocation = after.get("revocation")
    if revocation and not before.get("revocation"):
        return [
            CertificateVersionRevoked(
                "",
                certificate_id,
                version,
                number,
                after["serialNumber"],
                after.get("issuerCertificateAuthorityId") or "",
                revocation["reason"],
                revocation["revokedAt"],
            )
        ]
    old_stages, new_stages = tuple(before.get("stages", ())), tuple(after.get("stages", ()))
    if new_stages == ("FAILED",) and old_stages != ("FAILED",):
        return [CertificateVersionFailed("", certificate_id, version, number, after.get("failureReason", ""))]
    if after.get("certificatePem") and not before.get("certificatePem"):
        return [
            CertificateVersionCreated(
                "",
                certificate_id,
                version,
                number,
                after["serialNumber"],
                new_stages,
                after["validity"]["notAfter"],
            )
        ]
    if before.get("certificatePem") and old_stages != new_stages:
        return [CertificateVersionStageChanged("", certificate_id, version, number, old_stages, new_stages)]
    return []


def _association(before: dict[str, Any], after: dict[str, Any], removed: bool, version: int) -> list[DomainEvent]:
    if removed:
        deployment = before.get("deployment", {})
        return [
            AssociationDeleted(
                "",
                before["id"],
                version,
                before["certificateId"],
                before["associatedResourceId"],
                before["associationType"],
                before.get("listenerRole", "DEFAULT"),
                deployment.get("deployedVersion"),
                deployment.get("deployedAcmArn"),
            )
        ]
    if not before:
        return [
            AssociationCreated(
                "",
                after["id"],
                version,
                after["certificateId"],
                after["associatedResourceId"],
                after["associationType"],
            )
        ]
    consent = _association_consent(before, after, version)
    if consent:
        return consent
    probed = _association_probe(before, after, version)
    if probed:
        return probed
    old, new = before.get("deployment", {}), after.get("deployment", {})
    if new.get("state") == "DEPLOYED" and (
        old.get("state") != "DEPLOYED" or old.get("deployedVersion") != new.get("deployedVersion")
    ):
        return [
            DeploymentSucceeded(
                "",
                after["id"],
                version,
                after["certificateId"],
                after["associatedResourceId"],
                new["deployedVersion"],
                new.get("deployedSerialNumber") or "",
            )
        ]
    if new.get("state") == "FAILED" and (old.get("state") != "FAILED" or old.get("lastError") != new.get("lastError")):
        return [
            DeploymentFailed(
                "",
                after["id"],
                version,
                after["certificateId"],
                after.get("certificateName", ""),
                after["associatedResourceId"],
                new.get("desiredVersion", 0),
                new.get("deployedVersion"),
                new.get("lastError") or "",
            )
        ]
    return []


def _association_consent(before: dict[str, Any], after: dict[str, Any], version: int) -> list[DomainEvent]:
    """An association whose target's consent went away (SUSPENDED) or came back / was confirmed (ACTIVE)."""
    old, new = before.get("state", "ACTIVE"), after.get("state", "ACTIVE")
    if new == old:
        return []
    if new == "SUSPENDED":
        return [
            AssociationSuspended(
                "",
                after["id"],
                version,
                after["certificateId"],
                after.get("certificateName", ""),
                after["associatedResourceId"],
                after["associationType"],
                after.get("stateReason") or "",
            )
        ]
    if new == "ACTIVE":
        return [
            AssociationResumed("", after["id"], version, after["certificateId"], after["associatedResourceId"], old)
        ]
    return []


def _endpoint_text(endpoint: dict[str, Any]) -> str:
    host, port = str(endpoint.get("host", "")), endpoint.get("port", "")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _association_probe(before: dict[str, Any], after: dict[str, Any], version: int) -> list[DomainEvent]:
    """A change of the endpoint's health (services/probes.py): once per change, never on every probe."""
    old, new = before.get("probe") or {}, after.get("probe") or {}
    if not new or (old and bool(old.get("healthy")) == bool(new.get("healthy"))):
        return []
    endpoint = _endpoint_text(after.get("endpoint") or {})
    if not new.get("healthy"):
        errors = [f for f in new.get("findings", []) if f.get("severity") == "error"]
        return [
            EndpointUnhealthy(
                "",
                after["id"],
                version,
                after["certificateId"],
                after.get("certificateName", ""),
                after["associatedResourceId"],
                endpoint,
                new.get("servedSerial"),
                new.get("expectedSerial"),
                tuple(f"{f['code']}: {f['message']}" for f in errors),
            )
        ]
    if not old:
        return []  # healthy from its first probe: nothing recovered
    return [
        EndpointHealthy(
            "",
            after["id"],
            version,
            after["certificateId"],
            after.get("certificateName", ""),
            after["associatedResourceId"],
            endpoint,
            new.get("servedSerial"),
        )
    ]


def _certificate(before: dict[str, Any], after: dict[str, Any], removed: bool, version: int) -> list[DomainEvent]:
    if removed or not before:
        return []
    if after.get("lifecycleState") == "DELETED":
        # The sweep carried out a scheduled deletion; nothing else is announced for a tombstone.
        deleted = before.get("lifecycleState") != "DELETED"
        return [CertificateDeleted("", after["id"], version, after["name"])] if deleted else []
    old, new = before.get("sweep") or {}, after.get("sweep") or {}
    name, cert_id = after["name"], after["id"]
    produced: list[DomainEvent] = []
    renews_itself = bool(after.get("renewalRule")) and after.get("configType") == "ISSUED_BY_INTERNAL_CA"
    for alert in new.get("expiryAlerts", []):
        if alert not in old.get("expiryAlerts", []) and alert.get("announced", True):
            produced.append(
                CertificateExpiring(
                    "",
                    cert_id,
                    version,
                    name,
                    alert["versionNumber"],
                    alert["notAfter"],
                    alert["threshold"],
                    renews_itself,
                )
            )
    expired = new.get("expiredAlert")
    if expired and expired != old.get("expiredAlert"):
        produced.append(
            CertificateExpired("", cert_id, version, name, expired["versionNumber"], expired["notAfter"], renews_itself)
        )
    if new.get("renewalFailures", 0) > old.get("renewalFailures", 0):
        produced.append(RenewalFailed("", cert_id, version, name, new["renewalFailures"], new.get("lastError", "")))
    if new.get("overdueAlertedFor") and new.get("overdueAlertedFor") != old.get("overdueAlertedFor"):
        produced.append(
            RenewalOverdue("", cert_id, version, name, new["overdueAlertedFor"], after.get("currentVersionNumber", 0))
        )
    return produced


def _crl(before: dict[str, Any], after: dict[str, Any], removed: bool, version: int) -> list[DomainEvent]:
    """CRL state rows (certwright.adapters.dynamodb_crl): a newer CRL in S3, or one going stale unrefreshed."""
    if removed:
        return []
    produced: list[DomainEvent] = []
    ca_id, partition = after["caId"], int(after.get("partition", 0))
    if int(after.get("publishedCrlNumber", 0)) > int(before.get("publishedCrlNumber", 0)):
        produced.append(
            CrlPublished(
                "",
                ca_id,
                version,
                partition,
                int(after["publishedCrlNumber"]),
                after.get("thisUpdate") or "",
                after.get("nextUpdate") or "",
                after.get("objectKey", ""),
                tuple(after.get("serials") or ()),
                int(after.get("serialCount", 0)),
            )
        )
    stale = after.get("staleAlertedFor")
    if stale and stale != before.get("staleAlertedFor"):
        produced.append(
            CrlStale("", ca_id, version, after.get("caName", ""), partition, stale, after.get("lastError", ""))
        )
    return produced


def _ca_bundle_version(before: dict[str, Any], after: dict[str, Any], removed: bool, version: int) -> list[DomainEvent]:
    # Only the version's first write creates it; later writes change its stages (CURRENT -> PREVIOUS ...).
    if removed or before:
        return []
    return [CaBundleVersionCreated("", after["bundleId"], version, after["versionNumber"], after.get("name", ""))]


_TRANSLATORS = {
    "CA_BUNDLE_VERSION": _ca_bundle_version,
    "CRL": _crl,
    "CA": _authority,
    "CERT_VERSION": _certificate_version,
    "ASSOC": _association,
    "CERT": _certificate,
}
