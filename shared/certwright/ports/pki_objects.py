"""The PKI-objects port: the public bucket's objects (CRLs, CA certificates), written compare-and-swap."""

from __future__ import annotations

from typing import Protocol

from certwright.domain.publication import StoredObject  # defined once, in the domain; re-exported here

__all__ = ["PkiObjects", "StoredObject"]


class PkiObjects(Protocol):
    """Objects of the PKI bucket. Both methods raise TransientError when the store throttles or is unreachable
    and DependencyError when it refuses for another reason."""

    def head(self, key: str) -> StoredObject | None:
        """The object's ETag and metadata, or None if there is none."""
        ...

    def put(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str,
        replaces: StoredObject | None,
        metadata: dict[str, str] | None = None,
        cache_control: str | None = None,
    ) -> str:
        """Write the object only if it is still `replaces` (None: only if absent); returns the new ETag.

        Raises ConflictError(PreconditionFailed) if another writer got there first: look again."""
        ...
