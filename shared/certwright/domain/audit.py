"""Audit records: who did what to which resource, when, and with what result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AuditRecord:
    resource_id: str
    action: str
    actor: str
    at: datetime
    result: str
    details: dict[str, str] = field(default_factory=dict)
