"""What every service receives: clock, id and serial sources, and the acting caller."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from certwright.domain.audit import AuditRecord


def system_clock() -> datetime:
    return datetime.now(UTC)


def random_serial() -> int:
    """A positive 127-bit serial from the CSPRNG (RFC 5280 allows 20 octets; CABF asks for >= 64 random bits)."""
    return secrets.randbits(127) | 1 << 64


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


@dataclass(frozen=True)
class Runtime:
    clock: Callable[[], datetime] = system_clock
    serials: Callable[[], int] = random_serial
    ids: Callable[[str], str] = new_id

    def audit(
        self, resource_id: str, action: str, actor: str, result: str = "SUCCEEDED", **details: str
    ) -> AuditRecord:
        return AuditRecord(resource_id, action, actor, self.clock(), result, details)
