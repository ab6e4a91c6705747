"""CRL publishing state in the Certwright table: one row per (CA, partition), version-guarded, indexed when due.

Keys:
  CRL#{ca}  / P#{partition:06d}   kind CRL   (ByKind: CRL, RenewalDue: CRL at the time it must be rebuilt)

Every write is conditional on the row version read, so two publishers never overwrite each other's claim,
publication or dirty mark; the loser gets a ConflictError and reads again. The stream turns these rows into
CrlPublished and CrlStale (certwright.outbox).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import errors as _errors
from certwright.adapters.dynamodb_table import versioned
from certwright.domain.crl import CrlState
from certwright.domain.revocation import CrlPolicy
from certwright.errors import ConflictError

CRL_KIND = "CRL"
DUE_PARTITION = "CRL"  # partition of the sparse RenewalDue index holding CRLs to rebuild


def _time(raw: Any) -> datetime | None:
    return codec.parse_time(str(raw)) if raw else None


def _iso(moment: datetime | None) -> str | None:
    return codec.iso(moment) if moment else None


def state_to_data(s: CrlState) -> dict[str, Any]:
    return {
        "caId": s.ca_id,
        "partition": s.partition,
        "caName": s.ca_name,
        "lastCrlNumber": s.last_crl_number,
        "publishedCrlNumber": s.published_crl_number,
        "thisUpdate": _iso(s.this_update),
        "nextUpdate": _iso(s.next_update),
        "objectKey": s.object_key,
        "etag": s.etag,
        "serialCount": s.serial_count,
        "serials": list(s.serials),
        "dirtySince": _iso(s.dirty_since),
        "dirtyMarks": s.dirty_marks,
        "staleAlertedFor": s.stale_alerted_for,
        "lastError": s.last_error,
    }


def state_from_data(raw: dict[str, Any], row_version: int) -> CrlState:
    return CrlState(
        ca_id=raw["caId"],
        partition=int(raw["partition"]),
        ca_name=raw.get("caName", ""),
        last_crl_number=int(raw.get("lastCrlNumber", 0)),
        published_crl_number=int(raw.get("publishedCrlNumber", 0)),
        this_update=_time(raw.get("thisUpdate")),
        next_update=_time(raw.get("nextUpdate")),
        etag=raw.get("etag", ""),
        serial_count=int(raw.get("serialCount", 0)),
        serials=tuple(raw.get("serials") or ()),
        dirty_since=_time(raw.get("dirtySince")),
        dirty_marks=int(raw.get("dirtyMarks", 0)),
        stale_alerted_for=raw.get("staleAlertedFor"),
        last_error=raw.get("lastError", ""),
        row_version=row_version,
    )


class DynamoDbCrlStates:
    def __init__(self, model: type[Row], policy: CrlPolicy) -> None:
        self._row = model
        self._policy = policy

    def retire(self, ca_id: str, now: datetime) -> None:
        """Take a CA that publishes no more (deleted, expired) out of the due index; its rows stay as history."""
        for state in self.of_authority(ca_id):
            row = self._to_row(state, now)
            row.renewal_pk = row.renewal_at = None
            try:
                with _errors("retire CRL state"):
                    row.save()
            except ConflictError:
                continue  # written meanwhile: the next skip retires it

    def _to_row(self, state: CrlState, now: datetime) -> Row:
        row = self._row(
            f"CRL#{state.ca_id}",
            f"P#{state.partition:06d}",
            kind=CRL_KIND,
            data=state_to_data(state),
            list_pk=CRL_KIND,
            list_sk=f"{state.ca_id}#{state.partition:06d}",
            renewal_pk=DUE_PARTITION,
            renewal_at=codec.iso(state.due_at(self._policy, now)),
        )
        return versioned(row, state.row_version)

    def get(self, ca_id: str, partition: int) -> CrlState | None:
        with _errors("read CRL state"):
            try:
                row = self._row.get(f"CRL#{ca_id}", f"P#{partition:06d}", consistent_read=True)
            except DoesNotExist:
                return None
        return state_from_data(row.data, row.row_version)

    def of_authority(self, ca_id: str) -> list[CrlState]:
        with _errors("list CRL states"):
            rows = self._row.query(f"CRL#{ca_id}", self._row.sk.startswith("P#"), consistent_read=True)
            return [state_from_data(r.data, r.row_version) for r in rows]

    def save(self, state: CrlState, now: datetime) -> CrlState:
        """Write `state` if the row is still at the version it was read at (new: if there is none)."""
        with _errors("update CRL state"):
            self._to_row(state, now).save()
        return replace(state, row_version=state.row_version + 1)

    def due(self, now: datetime, limit: int) -> list[CrlState]:
        with _errors("list CRLs due"):
            rows = self._row.renewal_due.query(DUE_PARTITION, self._row.renewal_at <= codec.iso(now), limit=limit)
            return [state_from_data(r.data, r.row_version) for r in rows]

    def authorities_with_crl(self) -> set[str]:
        with _errors("list CRL states"):
            return {str(r.data["caId"]) for r in self._row.by_kind.query(CRL_KIND)}

    def issued_count(self, ca_id: str) -> int:
        """How many certificates `ca_id` has issued: its issuance counter (CA#{ca} / ISSUED), 0 if none yet."""
        with _errors("read issuance counter"):
            try:
                row = self._row.get(f"CA#{ca_id}", "ISSUED", consistent_read=True)
            except DoesNotExist:
                return 0
        return int(row.issued or 0)
