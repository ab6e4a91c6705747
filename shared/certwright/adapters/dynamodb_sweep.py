"""The SweepQueue port on DynamoDB: the SWEEP and DEPLOY_RETRY partitions of the sparse RenewalDue index."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_certificates import certificate_row
from certwright.adapters.dynamodb_table import DEPLOY_RETRY_PARTITION, SWEEP_PARTITION, TableAdapter
from certwright.domain.association import Association
from certwright.domain.certificate import Certificate


class DynamoDbSweepQueue(TableAdapter):
    """What the sweep visits: a query on the sparse index reads only due rows."""

    def due_for_sweep(self, now: datetime, limit: int) -> list[Certificate]:
        """Certificates whose next check has come; reads only those (a query on the sparse index)."""
        with self._errors("list certificates due"):
            rows = self._row.renewal_due.query(SWEEP_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit)
            return [codec.certificate_from_data(r.data, r.row_version) for r in rows]

    def deployments_to_retry(self, now: datetime, limit: int) -> list[Association]:
        with self._errors("list deployments to retry"):
            rows = self._row.renewal_due.query(
                DEPLOY_RETRY_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit
            )
            return [codec.association_from_data(r.data, r.row_version) for r in rows]

    def save_sweep(self, certificate: Certificate) -> Certificate:
        """The sweep's bookkeeping (lease, alerts, next check), conditional on the row version it read."""
        with self._errors("update certificate"):
            certificate_row(self._row, certificate).save()
        return replace(certificate, row_version=certificate.row_version + 1)
