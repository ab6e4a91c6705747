"""The inventory reindex port: bring the index rows of existing CAs, certificates and CA bundles in line with their
rows, one bounded page at a time, and the cursor that lets a scheduled pass resume where the last one stopped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ReindexKind = Literal["CA", "CERT", "BUNDLE"]
REINDEX_KINDS: tuple[ReindexKind, ...] = ("CA", "CERT", "BUNDLE")


@dataclass(frozen=True)
class ReindexPage:
    """One page of a reindex: resources examined, index rows written or deleted, and where the next page starts."""

    examined: int
    written: int
    next_token: str | None


class InventoryReindex(Protocol):
    def reindex_page(self, kind: ReindexKind, token: str | None, limit: int) -> ReindexPage:
        """Sync the index rows of at most `limit` resources of `kind` (in the order they were created, from
        `token`, None: the start) with their rows: missing rows written, stale ones corrected or deleted, the
        index rows of a DELETED resource removed. Idempotent: a second run over the same rows writes nothing.
        Raises InvalidInputError(InvalidPageToken) for a token of another kind or a malformed one."""
        ...

    def get_reindex_cursor(self) -> str | None:
        """The cursor the last scheduled pass stored (services/reindex.py owns its format), or None."""
        ...

    def put_reindex_cursor(self, cursor: str | None) -> None:
        """Store the cursor (None: start over next time)."""
        ...
