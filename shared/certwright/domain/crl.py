"""The publishing state of one CRL (a CA's, or one partition of it) and the pure decisions made on it.

One state per (CA, partition). `last_crl_number` is claimed (written under the row version) before a CRL is
signed, so no two CRLs ever carry the same number; `published_crl_number` is the one last seen in S3.
Partition 0 is the CA's head: it also records that the CA's revocations changed (`dirty_since`,
`dirty_marks`) so they are batched into one rebuild after `CrlPolicy.batch_delay`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from certwright.domain.publication import ca_certificate_object_key, crl_object_key
from certwright.domain.revocation import CrlPolicy, RevokedEntry

NEVER_PUBLISHED = "NEVER_PUBLISHED"
# CrlPublished lists the serials a CRL contains. EventBridge takes 256 KB per entry; a serial is at most 40
# hex digits (+3 bytes of JSON), so 4,000 of them (~172 KB) leave room for the rest. Beyond that the event
# carries the most recently revoked 4,000 and `serial_count` says how many the CRL holds.
MAX_EVENT_SERIALS = 4_000


def ca_certificate_keys(ca_id: str) -> tuple[str, str]:
    """Where the CA certificate is published: DER (the caIssuers target) and, beside it, PEM."""
    der = ca_certificate_object_key(ca_id)
    return der, der.removesuffix(".cer") + ".pem"


@dataclass(frozen=True)
class CrlState:
    ca_id: str
    partition: int
    ca_name: str = ""
    last_crl_number: int = 0
    published_crl_number: int = 0
    this_update: datetime | None = None
    next_update: datetime | None = None
    etag: str = ""
    serial_count: int = 0
    serials: tuple[str, ...] = ()
    dirty_since: datetime | None = None
    dirty_marks: int = 0
    stale_alerted_for: str | None = None
    last_error: str = ""
    row_version: int = 0

    @property
    def object_key(self) -> str:
        return crl_object_key(self.ca_id, self.partition)

    def due_at(self, policy: CrlPolicy, now: datetime) -> datetime:
        """When this CRL must be rebuilt: batched revocations, or its refresh point, whichever comes first."""
        candidates = [policy.refresh_at(self.this_update) if self.this_update else now]
        if self.dirty_since is not None:
            candidates.append(self.dirty_since + policy.batch_delay)
        return min(candidates)

    def marked_dirty(self, now: datetime) -> CrlState:
        return replace(self, dirty_since=self.dirty_since or now, dirty_marks=self.dirty_marks + 1)

    def claimed(self) -> CrlState:
        return replace(self, last_crl_number=max(self.last_crl_number, self.published_crl_number) + 1)

    def published(
        self, number: int, this_update: datetime, policy: CrlPolicy, etag: str, entries: Sequence[RevokedEntry]
    ) -> CrlState:
        """Record a CRL that reached S3, unless a newer one was recorded meanwhile."""
        if number <= self.published_crl_number:
            return self
        return replace(
            self,
            published_crl_number=number,
            this_update=this_update,
            next_update=policy.next_update(this_update),
            etag=etag,
            serial_count=len(entries),
            serials=event_serials(entries),
            stale_alerted_for=None,
            last_error="",
        )

    def cleaned(self, observed_marks: int) -> CrlState:
        """Clear the dirty mark if no revocation was marked since `observed_marks` was read."""
        if self.dirty_marks != observed_marks:
            return self
        return replace(self, dirty_since=None)

    def failed(self, now: datetime, policy: CrlPolicy, error: str) -> CrlState:
        """Record a failed rebuild; alert (once per CRL generation) when relying parties are about to notice."""
        failed = replace(self, last_error=error[:500])
        if self.next_update is None:
            subject = NEVER_PUBLISHED
        elif now >= self.next_update - policy.refresh_before / 2:
            subject = self.next_update.isoformat()
        else:
            return failed
        return failed if self.stale_alerted_for == subject else replace(failed, stale_alerted_for=subject)


def event_serials(entries: Iterable[RevokedEntry]) -> tuple[str, ...]:
    """The serials a CrlPublished event names: most recently revoked first, at most MAX_EVENT_SERIALS."""
    newest_first = sorted(entries, key=lambda e: (e.revoked_at, e.serial_number), reverse=True)
    return tuple(e.serial_number for e in newest_first[:MAX_EVENT_SERIALS])


def still_listed(entries: Iterable[RevokedEntry], this_update: datetime) -> list[RevokedEntry]:
    """Entries a CRL issued at `this_update` lists: every revoked certificate until its notAfter has passed.

    Past notAfter no validator accepts the certificate anyway (RFC 5280 3.3 allows dropping it then); entries
    without a known notAfter stay for good. Sorted by serial so rebuilds are reproducible.
    """
    kept = [e for e in entries if e.not_after is None or e.not_after >= this_update]
    return sorted(kept, key=lambda e: int(e.serial_number, 16))
