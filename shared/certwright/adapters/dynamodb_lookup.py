"""Finding certificates by what a client sees: the BySerial and ByFingerprint indexes over certificate version rows.

A published version row carries `serial_key` (its serial number, lowercase hex without leading zeros) and
`fingerprint_key` (the SHA-256 of its DER certificate, lowercase hex); dynamodb_certificates sets both (dynamodb_codec.lookup_keys) when it
completes the version. The indexes are KEYS_ONLY: a query answers the rows' keys (CERT#{id} / V#{n}), nothing else.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PynamoDBException

from certwright.adapters.dynamodb_codec import fingerprint_key, serial_key
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import translate_pynamo

MAX_MATCHES = 100  # serials are unique per CA; more matches than this is not a lookup any more


class DynamoDbCertificateLookup:
    """Certificate versions by serial number or SHA-256 fingerprint, from the sparse lookup indexes."""

    def __init__(self, row: type[Row]) -> None:
        self._row = row

    def by_serial(self, serial_number: str) -> list[tuple[str, int]]:
        """(certificate id, version number) of every version with this serial number."""
        return self._query(self._row.by_serial, serial_key(serial_number), "find certificates by serial number")

    def by_fingerprint(self, fingerprint: str) -> list[tuple[str, int]]:
        """(certificate id, version number) of the version whose DER has this SHA-256."""
        return self._query(self._row.by_fingerprint, fingerprint_key(fingerprint), "find certificates by fingerprint")

    def _query(self, index: Any, key: str, action: str) -> list[tuple[str, int]]:
        try:
            rows = list(index.query(key, limit=MAX_MATCHES))
        except PynamoDBException as err:
            raise translate_pynamo(err, action) from err
        return [
            (row.pk.removeprefix("CERT#"), int(row.sk.removeprefix("V#")))
            for row in rows
            if row.pk.startswith("CERT#") and row.sk.startswith("V#")
        ]
