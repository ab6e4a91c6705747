"""CRL publishing: rebuild a CA's CRLs (one per partition) from its whole revoked list, sign once, put in S3.

Order of a rebuild, so that no revocation and no CRL number is ever lost:
  1. read the head state's dirty-mark counter (consistent read);
  2. read every revoked entry of the CA (they are written before their revocation marks the CA dirty);
  3. per partition: claim the next CRL number (conditional write), build and sign (one KMS Sign), and
     put it in S3 by compare-and-swap: re-read the object; if it already carries a number >= ours, a newer
     CRL is there and we stop; else put with If-Match / If-None-Match, and on 412 look again;
  4. record the publication, and clear the dirty mark only if no revocation was marked since step 1.
A failure is recorded on the state row (CrlStale comes from it once the CRL is near its nextUpdate) and the
row stays due, so the next scheduled run retries.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.crl import CrlState, ca_certificate_keys, still_listed
from certwright.domain.crl_settings import CrlSettings
from certwright.domain.revocation import CrlPolicy, RevokedEntry, partition_of
from certwright.errors import CertwrightError, ConflictError, TransientError
from certwright.events import (
    CertificateAuthorityCreated,
    CertificateAuthorityCrlSettingsChanged,
    CertificateAuthorityVersionCreated,
    CertificateAuthorityVersionRevoked,
    CertificateVersionRevoked,
    DomainEvent,
)
from certwright.ports import AuthorityReader as Authorities
from certwright.ports import CrlStates, PkiObjects, RevocationSource
from certwright.services.context import Runtime
from certwright.x509.builder import Issuer
from certwright.x509.crl import CrlRequest, build_crl

CRL_NUMBER = "crl-number"
CA_VERSION = "ca-version"
_CAS_ATTEMPTS = 5
# Caches in front of the bucket may keep a CRL one minute: a revocation never waits longer on them.
CRL_CACHE_CONTROL = "public, max-age=60"
_PUBLISHABLE = {LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION}

logger = Logger(child=True)


@dataclass
class PublishReport:
    published: list[str] = field(default_factory=list)  # "ca/partition#number"
    superseded: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def merge(self, other: PublishReport) -> None:
        self.published += other.published
        self.superseded += other.superseded
        self.failed += other.failed
        self.skipped += other.skipped


_ON = CrlSettings()


class CrlPublisher:
    def __init__(
        self,
        authorities: Authorities,
        signer_for: Callable[[CertificateAuthority], Issuer],
        revocations: RevocationSource,
        states: CrlStates,
        objects: PkiObjects,
        runtime: Runtime,
        policy: CrlPolicy,
        url_for: Callable[[str, int], str | None],
        issued_count: Callable[[str], int] | None = None,
    ) -> None:
        self._authorities = authorities
        self._signer_for = signer_for
        self._revocations = revocations
        self._states = states
        self._objects = objects
        self._rt = runtime
        self.policy = policy
        self._url_for = url_for
        # How many certificates the CA has issued (its issuance counter): every partition handed out needs a
        # CRL, revoked entries or not, since its certificates name it as their distribution point.
        self._issued_count = issued_count or (lambda ca_id: 0)

    # -- events ----------------------------------------------------------------------------------------

    def on_event(self, event: DomainEvent) -> PublishReport:
        """A revocation marks its issuer dirty (published now or batched); a new CA (version) is published; changed
        crlSettings make the CA's CRL due at the next scheduled run, under the new settings (re-enabled ones too)."""
        if isinstance(event, CertificateVersionRevoked | CertificateAuthorityVersionRevoked):
            return self.on_revocation(event.issuer_ca_id)
        if isinstance(event, CertificateAuthorityCrlSettingsChanged):
            self.mark_dirty(event.resource_id)
            return PublishReport(skipped=[f"{event.resource_id}: crlSettings changed, due at the next scheduled run"])
        if isinstance(event, CertificateAuthorityCreated | CertificateAuthorityVersionCreated):
            return self.publish(event.resource_id)
        return PublishReport(skipped=[f"{event.detail_type}: nothing to publish"])

    # -- revocations ------------------------------------------------------------------------------------

    def mark_dirty(self, ca_id: str) -> CrlState:
        """Note that `ca_id`'s revocations changed; its CRLs are rebuilt once the batch delay has passed."""
        name = self._name_of(ca_id)
        return self._update(ca_id, 0, lambda s: s.marked_dirty(self._rt.clock()), ca_name=name)

    def on_revocation(self, ca_id: str) -> PublishReport:
        head = self.mark_dirty(ca_id)
        if head.dirty_since is not None and head.dirty_since + self.policy.batch_delay > self._rt.clock():
            return PublishReport(skipped=[f"{ca_id}: batched until {head.dirty_since + self.policy.batch_delay}"])
        return self.publish(ca_id)

    # -- the schedule -----------------------------------------------------------------------------------

    def publish_due(self, limit: int = 25, has_time: Callable[[], bool] = lambda: True) -> PublishReport:
        """Rebuild what is due (batched revocations, refresh points, failed attempts) and first CRLs of new CAs."""
        now = self._rt.clock()
        due = [s.ca_id for s in self._states.due(now, limit)]
        report = PublishReport(more=len(due) == limit)
        with_crl = self._states.authorities_with_crl()
        ca_ids = list(dict.fromkeys([*due, *(ca.id for ca in self._all_authorities() if ca.id not in with_crl)]))
        for ca_id in ca_ids:
            if not has_time():
                report.more = True
                break
            try:
                report.merge(self.publish(ca_id))
            except Exception as err:
                logger.exception("CRL publication failed", extra={"caId": ca_id})
                report.failed.append(f"{ca_id}: {type(err).__name__}")
        return report

    def _all_authorities(self) -> list[CertificateAuthority]:
        found: list[CertificateAuthority] = []
        token: str | None = None
        while True:
            page = self._authorities.list_authorities(100, token)
            found += [ca for ca in page.items if self._publishable(ca, self._rt.clock())]
            token = page.next_token
            if not token:
                return found

    # -- one CA -----------------------------------------------------------------------------------------

    def publish(self, ca_id: str) -> PublishReport:
        """Rebuild every CRL partition of `ca_id` (even with no entries) and publish its CA certificate."""
        report = PublishReport()
        ca = self._authorities.get_authority(ca_id)
        now = self._rt.clock()
        if ca is None or not self._publishable(ca, now):
            # Out of the due index, or its rows would sit at the head of every scheduled run for good.
            self._states.retire(ca_id, now)
            if ca is not None and not ca.crl_settings.enabled and self._publishable(replace(ca, crl_settings=_ON), now):
                self._publish_ca_certificate(ca)  # its caIssuers URL still serves the certificate
                report.skipped.append(f"{ca_id}: CRLs disabled (crlSettings.enabled false)")
                return report
            report.skipped.append(f"{ca_id}: not an active CA within its validity")
            return report
        head = self._states.get(ca_id, 0) or self._update(ca_id, 0, lambda s: s, ca_name=ca.name)
        observed_marks = head.dirty_marks
        entries = still_listed(self._revocations.revoked_entries(ca_id), now)
        by_partition: dict[int, list[RevokedEntry]] = defaultdict(list)
        for entry in entries:
            by_partition[entry.partition].append(entry)
        partitions = {
            *range(self._partitions_issued(ca_id)),
            *by_partition,
            *(s.partition for s in self._states.of_authority(ca_id)),
        }
        scoped = max(partitions) > 0
        try:
            self._publish_ca_certificate(ca)
            issuer = self._signer_for(ca)
        except CertwrightError as err:
            for partition in sorted(partitions):
                self._record_failure(ca, partition, err)
            report.failed += [f"{ca_id}/{p}: {err.code}" for p in sorted(partitions)]
            return report
        for partition in sorted(partitions):
            url = self._url_for(ca_id, partition) if scoped else None
            try:
                report.merge(self._publish_partition(ca, issuer, partition, by_partition.get(partition, []), url))
            except Exception as err:
                if not isinstance(err, CertwrightError):
                    logger.exception("CRL partition failed", extra={"caId": ca_id, "partition": partition})
                    err = CertwrightError(f"{type(err).__name__}: {err}")
                self._record_failure(ca, partition, err)
                report.failed.append(f"{ca_id}/{partition}: {err.code}")
        if not report.failed:
            try:
                self._update(ca_id, 0, lambda s: s.cleaned(observed_marks))
            except TransientError:
                # Out-raced on the state row by other publishers: what they published stands; the mark stays,
                # so the CA stays due and the next run rebuilds (never an error for a CRL that was published).
                report.more = True
        return report

    def _publish_partition(
        self, ca: CertificateAuthority, issuer: Issuer, partition: int, entries: list[RevokedEntry], url: str | None
    ) -> PublishReport:
        claimed = self._update(ca.id, partition, lambda s: s.claimed(), ca_name=ca.name)
        number, this_update = claimed.last_crl_number, self._rt.clock()
        policy = ca.crl_settings.policy(self.policy)
        crl = build_crl(issuer, CrlRequest(number, this_update, entries, policy, url))
        der = crl.public_bytes(serialization.Encoding.DER)
        etag = self._put_if_newer(
            claimed.object_key, der, "application/pkix-crl", CRL_NUMBER, number, cache_control=CRL_CACHE_CONTROL
        )
        if etag is None:
            return PublishReport(superseded=1)
        self._update(ca.id, partition, lambda s: s.published(number, this_update, policy, etag, entries))
        return PublishReport(published=[f"{ca.id}/{partition}#{number}"])

    def _publish_ca_certificate(self, ca: CertificateAuthority) -> None:
        assert ca.current_version is not None
        pem = ca.current_version.certificate_pem.encode("ascii")
        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        der_key, pem_key = ca_certificate_keys(ca.id)
        number = ca.current_version.version_number
        self._put_if_newer(der_key, der, "application/pkix-cert", CA_VERSION, number, replace_equal=False)
        self._put_if_newer(pem_key, pem, "application/x-pem-file", CA_VERSION, number, replace_equal=False)

    def _put_if_newer(
        self,
        key: str,
        body: bytes,
        content_type: str,
        number_key: str,
        number: int,
        *,
        cache_control: str | None = None,
        replace_equal: bool = False,
    ) -> str | None:
        """Compare-and-swap: put `body` unless the object already carries `number_key` >= `number`.

        Returns the new ETag, or None when a newer (or the same) object is already there.
        """
        for _ in range(_CAS_ATTEMPTS):
            current = self._objects.head(key)
            stored = int(current.metadata.get(number_key, "0") or 0) if current else 0
            if current is not None and (stored > number or (stored == number and not replace_equal)):
                return None
            try:
                return self._objects.put(
                    key,
                    body,
                    content_type=content_type,
                    replaces=current,
                    metadata={number_key: str(number)},
                    cache_control=cache_control,
                )
            except ConflictError as err:
                if err.code != "PreconditionFailed":
                    raise
        raise TransientError(f"{key} kept changing while being published; retry", code="ConcurrentPublish")

    # -- state bookkeeping -----------------------------------------------------------------------------

    def _record_failure(self, ca: CertificateAuthority, partition: int, err: CertwrightError) -> None:
        now = self._rt.clock()
        message = f"{err.code}: {err.message}"
        # If even this write fails the row stays due, and the next run records it.
        with contextlib.suppress(CertwrightError):
            policy = ca.crl_settings.policy(self.policy)
            self._update(ca.id, partition, lambda s: s.failed(now, policy, message), ca_name=ca.name)

    def _update(
        self, ca_id: str, partition: int, change: Callable[[CrlState], CrlState], *, ca_name: str | None = None
    ) -> CrlState:
        """Read-modify-write the state row under its version, retrying when another writer got there first."""
        for _ in range(_CAS_ATTEMPTS):
            state = self._states.get(ca_id, partition) or CrlState(ca_id, partition)
            if ca_name is not None and state.ca_name != ca_name:
                state = replace(state, ca_name=ca_name)
            try:
                return self._states.save(change(state), self._rt.clock())
            except ConflictError as err:
                if err.code != "ConcurrentModification":
                    raise
        raise TransientError(f"CRL state of {ca_id}/{partition} kept changing; retry", code="ConcurrentPublish")

    def _partitions_issued(self, ca_id: str) -> int:
        issued = self._issued_count(ca_id)
        return partition_of(issued, self.policy.partition_size) + 1 if issued else 1

    def _name_of(self, ca_id: str) -> str | None:
        ca = self._authorities.get_authority(ca_id)
        return ca.name if ca else None

    @staticmethod
    def _publishable(ca: CertificateAuthority, now: datetime) -> bool:
        version = ca.current_version
        return (
            ca.lifecycle_state in _PUBLISHABLE
            and ca.holds_key  # an external root's CRL is its owner's to publish
            and version is not None
            and now <= version.validity.not_after
            and ca.crl_settings.enabled  # crlSettings.enabled false: no CRL, nothing in the due index
        )
