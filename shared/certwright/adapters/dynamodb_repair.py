"""In-flight rows on the table: reserved certificate versions not yet published, found by the repair pass.

A version row enters the IN_FLIGHT partition of the sparse RenewalDue index when it is reserved (begin_version,
keyed by when the repair pass may act) and leaves it when it is published or failed, so the pass reads only
reservations whose writer may have died; a query, never a scan.
"""

from __future__ import annotations

from datetime import datetime

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_store import DynamoDbStore
from certwright.adapters.dynamodb_table import IN_FLIGHT_PARTITION, version_sk
from certwright.domain.certificate import CertificateVersion


class DynamoDbRepairStore(DynamoDbStore):
    """The InFlightVersions port, on the store the repair pass also needs (certwright.ports.RepairStore)."""

    def in_flight(self, now: datetime, limit: int) -> list[CertificateVersion]:
        """Reserved versions the repair pass may look at by `now`, oldest first."""
        with self._errors("list reserved versions"):
            rows = self._row.renewal_due.query(IN_FLIGHT_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit)
            return [codec.version_from_data(r.data) for r in rows if r.kind == "CERT_VERSION"]

    def forget_in_flight(self, certificate_id: str, version_number: int) -> None:
        """Drop a stale index entry (a version published or failed by a writer that left it indexed)."""
        row = self._get(f"CERT#{certificate_id}", version_sk(version_number))
        if row is None or row.renewal_pk != IN_FLIGHT_PARTITION:
            return
        with self._errors("forget reserved version"):
            row.update(actions=[self._row.renewal_pk.remove(), self._row.renewal_at.remove()])
