"""The version-lookup port: published certificate versions by serial number or SHA-256 fingerprint (an index)."""

from __future__ import annotations

from typing import Protocol


class VersionIndex(Protocol):
    """Both methods answer (certificate id, version number) pairs of published versions, at most 100; they raise
    TransientError when the table throttles or is unreachable and DependencyError when it refuses otherwise."""

    def by_serial(self, serial_number: str) -> list[tuple[str, int]]:
        """Versions with this serial number (any case, colons and leading zeros ignored)."""
        ...

    def by_fingerprint(self, fingerprint: str) -> list[tuple[str, int]]:
        """The version whose DER certificate has this SHA-256 (hex, any case, colons ignored)."""
        ...
