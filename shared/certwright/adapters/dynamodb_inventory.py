"""The inventory index rows of the table and the searches they serve (GET /certificates?hostname=...&sortBy=...).

A listed resource has one small index row per partition it is found in — `{KIND}#ALL`, and for a certificate one
per SAN, per tag and for its issuer — at `{pk}` / `IX#{facet}`, each carrying the resource's three sort keys
(name, time created, the CURRENT version's notAfter). The three sparse InventoryBy* GSIs order each partition by
one of them. The adapter that writes a resource's row syncs its index rows right after (`InventoryIndex.sync`:
a diff against the rows stored, so a crash between the two is repaired by the resource's next write); a search
re-checks every filter on the resource row itself, so a stale index row costs a read, never a wrong answer.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pynamodb.connection import Connection

from certwright.adapters import dynamodb_items
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import TableAdapter
from certwright.domain import inventory
from certwright.domain.inventory import NO_EXPIRY, InventoryQuery, SortBy
from certwright.errors import InvalidInputError

INDEX_KIND = "INDEX"
INDEX_PREFIX = "IX#"
# A token holds the query's fingerprint and, per partition read, the sort key it reached: a few hundred characters.
MAX_TOKEN = 4096
_SORT_ATTRIBUTE = {SortBy.NAME: "ix_name", SortBy.TIME_CREATED: "ix_created", SortBy.NOT_AFTER: "ix_expiry"}
_DONE = "done"
# A sort key is a name (255 characters) or a time, "#", and an id.
MAX_SORT_KEY = 400

T = TypeVar("T")


class Keep:
    """Keep the stored notAfter sort key (a write that does not change the CURRENT version)."""


KEEP = Keep()


def not_after_of(sort_value: str | None) -> datetime | None:
    if not sort_value or sort_value.startswith(NO_EXPIRY):
        return None
    return datetime.fromisoformat(sort_value.rsplit("#", 1)[0])


@dataclass
class _Cursor:
    partition: str
    # The sort key of the last entry consumed (the next read starts after it); None: from the start.
    position: str | None
    exhausted: bool = False
    buffer: deque[Row] = field(default_factory=deque)


class InventoryIndex(TableAdapter):
    """Index rows of one kind of resource (`prefix`: CERT, CA, BUNDLE) and the searches over them."""

    def __init__(self, model: type[Row], connection: Connection, prefix: str, *, entry_sk: str | None = None) -> None:
        """`entry_sk`: the resource rows are their own index entries (associations: sk "A"), not IX# rows."""
        super().__init__(model, connection)
        self._prefix = prefix
        self._entry_sk = entry_sk

    # -- maintenance -----------------------------------------------------------------------------------------

    def sync(
        self,
        resource_id: str,
        facets: Iterable[str],
        *,
        name: str,
        created: datetime,
        not_after: datetime | Keep | None,
        listed: bool = True,
        fresh: bool = False,
    ) -> int:
        """Make the resource's index rows exactly these facets with these sort keys (none when not `listed`);
        the number of index rows written or deleted (0: they were already in line). `fresh`: the caller has just
        created the resource row (a conditional put on a new id), so no index row of it can exist: no read."""
        pk = f"{self._prefix}#{resource_id}"
        existing: dict[str, Row] = {}
        if not fresh:
            with self._errors("read inventory index rows"):
                existing = {
                    str(r.sk): r
                    for r in self._row.query(pk, self._row.sk.startswith(INDEX_PREFIX), consistent_read=True)
                }
        if isinstance(not_after, Keep):
            stored = existing.get(f"{INDEX_PREFIX}ALL")
            expiry_at = not_after_of(stored.ix_expiry if stored is not None else None)
        else:
            expiry_at = not_after
        rows = index_rows(self._row, self._prefix, resource_id, facets, name, created, expiry_at) if listed else []
        desired = {str(row.sk): row for row in rows}
        stale = [row for sk, row in existing.items() if sk not in desired]
        changed = [
            row
            for sk, row in desired.items()
            if sk not in existing
            or (existing[sk].ix_pk, existing[sk].ix_name, existing[sk].ix_created, existing[sk].ix_expiry)
            != (row.ix_pk, row.ix_name, row.ix_created, row.ix_expiry)
        ]
        if not stale and not changed:
            return 0
        with self._errors("write inventory index rows"), self._row.batch_write() as batch:
            for row in stale:
                batch.delete(row)
            for row in changed:
                batch.save(row)
        return len(stale) + len(changed)

    # -- search ------------------------------------------------------------------------------------------------

    def search(
        self,
        query: InventoryQuery,
        limit: int,
        token: str | None,
        load: Callable[[list[str]], dict[str, T]],
        accept: Callable[[T, datetime | None], bool],
        *,
        facets: Iterable[str] | None = None,
    ) -> tuple[list[T], str | None]:
        """Up to `limit` resources `accept` takes, in the query's order, reading at most read_budget(limit)
        index entries; `load` turns resource row keys (pk) into resources (absent ones are skipped). The
        partitions read are `facets` (their union), by default the query's driving ones."""
        attribute = _SORT_ATTRIBUTE[query.order]
        selected = inventory.driving_facets(query) if facets is None else tuple(facets)
        partitions = [f"{self._prefix}#{facet}" for facet in selected]
        fingerprint = query.fingerprint(self._prefix)
        cursors = self._cursors(token, fingerprint, partitions, attribute)
        begins, lower, upper = inventory.sort_range(query)
        index = {
            "ix_name": self._row.inventory_by_name,
            "ix_created": self._row.inventory_by_created,
            "ix_expiry": self._row.inventory_by_expiry,
        }[attribute]
        sort_attribute = getattr(self._row, attribute)
        condition = (
            sort_attribute.startswith(begins)
            if begins is not None
            else sort_attribute.between(lower, upper)
            if lower is not None and upper is not None
            else None
        )
        budget, read = inventory.read_budget(limit), 0
        chunk = min(budget, max(limit, 25))
        items: list[T] = []
        seen: set[str] = set()

        def fetch(cursor: _Cursor) -> int:
            # Only an empty buffer is refilled: from the last entry consumed (or the partition's start).
            start_key = None if cursor.position is None else self._key(cursor.partition, cursor.position, attribute)
            with self._errors("search the inventory"):
                result = index.query(
                    cursor.partition,
                    condition,
                    scan_index_forward=not query.descending,
                    limit=min(chunk, budget - read),
                    last_evaluated_key=start_key,
                )
                rows = list(result)
                if result.last_evaluated_key is None:
                    cursor.exhausted = True
            cursor.buffer.extend(rows)
            return len(rows)

        out_of_budget = False
        while len(items) < limit and not out_of_budget:
            candidates: list[tuple[str, Row]] = []
            while len(candidates) < limit - len(items):
                waiting = [c for c in cursors if not c.buffer and not c.exhausted]
                if waiting:
                    if read >= budget:
                        out_of_budget = True
                        break
                    for cursor in waiting:
                        read += fetch(cursor)
                    continue
                live = [c for c in cursors if c.buffer]
                if not live:
                    break
                heads = [str(getattr(c.buffer[0], attribute)) for c in live]
                chosen = max(heads) if query.descending else min(heads)
                row = None
                for cursor in live:
                    if str(getattr(cursor.buffer[0], attribute)) == chosen:
                        row = cursor.buffer.popleft()
                        cursor.position = str(getattr(row, attribute))
                if row is not None and str(row.pk) not in seen:
                    seen.add(str(row.pk))
                    candidates.append((str(row.pk), row))
            if not candidates:
                break
            with self._errors("read listed resources"):
                loaded = load([pk for pk, _ in candidates])
            for pk, row in candidates:
                item = loaded.get(pk)
                if item is not None and accept(item, not_after_of(row.ix_expiry)):
                    items.append(item)
            if all(c.exhausted and not c.buffer for c in cursors):
                break
        if all(c.exhausted and not c.buffer for c in cursors):
            return items, None
        return items, _token(fingerprint, cursors)

    def _cursors(self, token: str | None, fingerprint: str, partitions: list[str], attribute: str) -> list[_Cursor]:
        if not token:
            return [_Cursor(p, None) for p in partitions]
        invalid = InvalidInputError("page token is not valid", code="InvalidPageToken")
        if len(token) > MAX_TOKEN:
            raise invalid
        try:
            raw = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        except (ValueError, UnicodeError, RecursionError) as err:
            raise invalid from err
        if not isinstance(raw, dict) or set(raw) != {"q", "p"} or not isinstance(raw["p"], list):
            raise invalid
        if raw["q"] != fingerprint or len(raw["p"]) != len(partitions):
            raise InvalidInputError("page token does not belong to this query", code="InvalidPageToken")
        cursors = []
        for partition, position in zip(partitions, raw["p"], strict=True):
            if position == _DONE:
                cursors.append(_Cursor(partition, None, exhausted=True))
                continue
            if position is not None:
                # The sort key of the last entry consumed: "{value}#{resource id}".
                if not isinstance(position, str) or not 3 <= len(position) <= MAX_SORT_KEY:
                    raise invalid
                _, sep, resource_id = position.rpartition("#")
                if not sep or not resource_id:
                    raise invalid
            cursors.append(_Cursor(partition, position))
        return cursors

    def _key(self, partition: str, position: str, attribute: str) -> dict[str, Any]:
        """The index entry's DynamoDB key, rebuilt from its partition and sort key (what a token carries)."""
        resource_id = position.rpartition("#")[2]
        facet = partition[len(self._prefix) + 1 :]
        return {
            "pk": {"S": f"{self._prefix}#{resource_id}"},
            "sk": {"S": self._entry_sk or f"{INDEX_PREFIX}{facet}"},
            "ix_pk": {"S": partition},
            attribute: {"S": position},
        }


def index_rows(
    model: type[Row],
    prefix: str,
    resource_id: str,
    facets: Iterable[str],
    name: str,
    created: datetime,
    not_after: datetime | None,
) -> list[Row]:
    """The index rows of one listed resource: one per facet, each with the resource's three sort keys."""
    entries = _index_entries(prefix, resource_id, facets, name, created, not_after)
    return [model(pk, sk, kind=INDEX_KIND, data={}, **keys) for pk, sk, keys in entries]


def index_items(
    prefix: str,
    resource_id: str,
    facets: Iterable[str],
    name: str,
    created: datetime,
    not_after: datetime | None,
) -> list[dict[str, Any]]:
    """index_rows as low-level items (dynamodb_items), to write in the resource's own transaction."""
    entries = _index_entries(prefix, resource_id, facets, name, created, not_after)
    return [dynamodb_items.item(pk, sk, kind=INDEX_KIND, data={}, **keys) for pk, sk, keys in entries]


def _index_entries(
    prefix: str,
    resource_id: str,
    facets: Iterable[str],
    name: str,
    created: datetime,
    not_after: datetime | None,
) -> list[tuple[str, str, dict[str, Any]]]:
    """The one layout of an index row, per facet: its key and its index attributes (the facet's partition and the
    resource's three sort keys)."""
    sorts = inventory.sort_values(name, created, not_after, resource_id)
    return [
        (
            f"{prefix}#{resource_id}",
            f"{INDEX_PREFIX}{facet}",
            {
                "ix_pk": f"{prefix}#{facet}",
                "ix_name": sorts[SortBy.NAME],
                "ix_created": sorts[SortBy.TIME_CREATED],
                "ix_expiry": sorts[SortBy.NOT_AFTER],
            },
        )
        for facet in facets
    ]


def _token(fingerprint: str, cursors: list[_Cursor]) -> str:
    positions: list[Any] = []
    for c in cursors:
        if c.exhausted and not c.buffer:
            positions.append(_DONE)
        elif c.position is None:
            positions.append(None)
        else:
            positions.append(c.position)
    text = json.dumps({"q": fingerprint, "p": positions}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


class Loader(Generic[T]):
    """Resource rows by pk, one BatchGetItem per 100 (eventually consistent, as the index is)."""

    def __init__(self, model: type[Row], sk: str, decode: Callable[[Row], T]) -> None:
        self._row, self._sk, self._decode = model, sk, decode

    def __call__(self, pks: list[str]) -> dict[str, T]:
        found: dict[str, T] = {}
        for start in range(0, len(pks), 100):
            for row in self._row.batch_get([(pk, self._sk) for pk in pks[start : start + 100]]):
                found[str(row.pk)] = self._decode(row)
        return found
