"""The reindex pass: one bounded page of inventory index repair per run, resuming from a stored cursor.

Run by the renewal sweep after the repair pass. Each run syncs the index rows of at most `batch` resources
(InventoryReindex.reindex_page) and stores where it stopped: the CAs, then the certificates, then the CA bundles,
and then it starts over. So a deployed table whose older rows have no index rows is backfilled a page per run,
and a crash between a row write and its index sync is repaired on the next cycle. A page over rows already in
line writes nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from certwright.errors import InvalidInputError
from certwright.ports import REINDEX_KINDS, InventoryReindex, ReindexKind

DEFAULT_BATCH = 100


@dataclass
class ReindexReport:
    kind: str = ""
    examined: int = 0
    written: int = 0
    # True when this run finished the last kind: the next run starts a new cycle.
    cycle_done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def encode_cursor(kind: ReindexKind, token: str | None) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": kind, "t": token}).encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[ReindexKind, str | None]:
    """The kind and page token a cursor holds; an absent or unreadable cursor starts from the beginning."""
    start: tuple[ReindexKind, str | None] = (REINDEX_KINDS[0], None)
    if not cursor:
        return start
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError):
        return start
    if not isinstance(raw, dict) or raw.get("k") not in REINDEX_KINDS:
        return start
    token = raw.get("t")
    kind = next(k for k in REINDEX_KINDS if k == raw["k"])
    return kind, token if isinstance(token, str) else None


class ReindexPass:
    def __init__(self, store: InventoryReindex, batch: int = DEFAULT_BATCH) -> None:
        self._store = store
        self._batch = batch

    def run(self) -> ReindexReport:
        """One page, from the stored cursor; the cursor moves past it."""
        kind, token = decode_cursor(self._store.get_reindex_cursor())
        try:
            page = self._store.reindex_page(kind, token, self._batch)
        except InvalidInputError:
            # A token the adapter no longer reads (a changed key format): redo this kind from its start.
            page = self._store.reindex_page(kind, None, self._batch)
        report = ReindexReport(kind, page.examined, page.written)
        if page.next_token is not None:
            self._store.put_reindex_cursor(encode_cursor(kind, page.next_token))
            return report
        position = REINDEX_KINDS.index(kind)
        if position + 1 < len(REINDEX_KINDS):
            self._store.put_reindex_cursor(encode_cursor(REINDEX_KINDS[position + 1], None))
        else:
            self._store.put_reindex_cursor(None)
            report.cycle_done = True
        return report

    def run_all(self, max_pages: int = 10_000) -> ReindexReport:
        """Operator use: a whole cycle from the start (at most `max_pages` pages); the totals."""
        self._store.put_reindex_cursor(None)
        total = ReindexReport("ALL")
        for _ in range(max_pages):
            report = self.run()
            total.examined += report.examined
            total.written += report.written
            if report.cycle_done:
                total.cycle_done = True
                break
        return total
