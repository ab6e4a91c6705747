"""The InventoryReindex port on DynamoDB: index rows of existing CAs, certificates and bundles rebuilt from their rows.

A page walks the ByKind index (`list_pk` = CA, CERT or BUNDLE, by time created), re-reads those resource rows
strongly consistent (the GSI may lag a write), and syncs each one's index rows with `InventoryIndex.sync` — the
very diff the writers run, so a page over rows already in line writes nothing. A resource written again while
its page ran is synced once more from its new row, so the pass never puts back what a writer just replaced.
A certificate's notAfter sort key comes from its CURRENT version row. The cursor of the scheduled pass is one
row, REINDEX / CURSOR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters import dynamodb_items as items
from certwright.adapters.dynamodb_ca_bundles import bundle_from_data
from certwright.adapters.dynamodb_inventory import InventoryIndex
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import TableAdapter, conflict_or_translated, version_sk
from certwright.domain.authority import LifecycleState
from certwright.domain.inventory import authority_facets, bundle_facets, certificate_facets
from certwright.ports import ReindexKind, ReindexPage

CURSOR_PK, CURSOR_SK = "REINDEX", "CURSOR"
_ROW_SK: dict[str, str] = {"CA": "A", "CERT": "C", "BUNDLE": "B"}


@dataclass(frozen=True)
class _Entry:
    """What one resource's index rows are made of."""

    resource_id: str
    facets: tuple[str, ...]
    name: str
    created: datetime
    current_version: int
    not_after: datetime | None
    listed: bool


class DynamoDbReindex(TableAdapter):
    """Reindex pages over the ByKind index, and the scheduled pass's cursor row."""

    def reindex_page(self, kind: ReindexKind, token: str | None, limit: int) -> ReindexPage:
        start = self._start_key(token, {"list_pk": kind}, ("list_sk",))
        with self._errors("list resources to reindex"):
            result = self._row.by_kind.query(kind, limit=limit, last_evaluated_key=start)
            pks = [str(r.pk) for r in result]
            next_token = self._page_token(result.last_evaluated_key)
        index = InventoryIndex(self._row, self._connection, kind)
        written = 0
        first = self._entries(kind, pks)
        for entry in first.values():
            written += self._sync(index, entry)
        # A writer that changed a resource meanwhile synced it from its new row; sync again from that row, so an
        # index row this page wrote from the older one does not outlive it.
        for pk, entry in self._entries(kind, list(first)).items():
            if entry != first[pk]:
                written += self._sync(index, entry)
        return ReindexPage(len(pks), written, next_token)

    def get_reindex_cursor(self) -> str | None:
        row = self._get(CURSOR_PK, CURSOR_SK)
        cursor = row.data.get("cursor") if row is not None else None
        return cursor if isinstance(cursor, str) else None

    def put_reindex_cursor(self, cursor: str | None) -> None:
        """One unconditional put: two passes racing both move it forward, and the pages they ran are idempotent."""
        row = items.item(CURSOR_PK, CURSOR_SK, kind="REINDEX_CURSOR", data={"cursor": cursor})
        try:
            self._connection.client.put_item(TableName=self._table_name, Item={**row, "row_version": {"N": "1"}})
        except (ClientError, BotoCoreError) as err:
            raise conflict_or_translated(err, "store the reindex cursor") from err

    # -- reading ---------------------------------------------------------------------------------------------

    @staticmethod
    def _sync(index: InventoryIndex, entry: _Entry) -> int:
        return index.sync(
            entry.resource_id,
            entry.facets,
            name=entry.name,
            created=entry.created,
            not_after=entry.not_after,
            listed=entry.listed,
        )

    def _entries(self, kind: ReindexKind, pks: list[str]) -> dict[str, _Entry]:
        """The index-relevant content of these resource rows (by pk), read strongly consistent; gone ones are left out."""
        rows = self._consistent(pks, _ROW_SK[kind])
        if kind == "CA":
            return {pk: _authority(row) for pk, row in rows.items()}
        if kind == "BUNDLE":
            return {pk: _bundle(row) for pk, row in rows.items()}
        certificates = {pk: codec.certificate_from_data(row.data, row.row_version) for pk, row in rows.items()}
        keys = [
            (pk, version_sk(c.current_version_number)) for pk, c in certificates.items() if c.current_version_number
        ]
        not_after: dict[str, datetime] = {}
        with self._errors("read current certificate versions"):
            for start in range(0, len(keys), 100):
                for row in self._row.batch_get(keys[start : start + 100], consistent_read=True):
                    version = codec.version_from_data(row.data)
                    if version.version_number == certificates[str(row.pk)].current_version_number:
                        not_after[str(row.pk)] = version.validity.not_after
        return {
            pk: _Entry(
                c.id,
                certificate_facets(c),
                c.name,
                c.created_at,
                c.current_version_number,
                not_after.get(pk),
                c.lifecycle_state is not LifecycleState.DELETED,
            )
            for pk, c in certificates.items()
        }

    def _consistent(self, pks: list[str], sk: str) -> dict[str, Row]:
        found: dict[str, Row] = {}
        with self._errors("read resources to reindex"):
            for start in range(0, len(pks), 100):
                for row in self._row.batch_get([(pk, sk) for pk in pks[start : start + 100]], consistent_read=True):
                    found[str(row.pk)] = row
        return found


def _authority(row: Row) -> _Entry:
    ca = codec.authority_from_data(row.data, row.row_version)
    version = ca.current_version
    return _Entry(
        ca.id,
        authority_facets(ca),
        ca.name,
        ca.created_at,
        version.version_number if version else 0,
        version.validity.not_after if version else None,
        ca.lifecycle_state is not LifecycleState.DELETED,
    )


def _bundle(row: Row) -> _Entry:
    bundle = bundle_from_data(row.data, row.row_version)
    return _Entry(
        bundle.id,
        bundle_facets(bundle),
        bundle.name,
        bundle.created_at,
        0,
        None,
        bundle.lifecycle_state is not LifecycleState.DELETED,
    )
