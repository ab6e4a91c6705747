"""Values every port shares: the clock, a page of a listing, a serial claim and an idempotent reservation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

Clock = Callable[[], datetime]
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `next_token` (opaque) continues it, None on the last page."""

    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class SerialClaim:
    """A serial number claimed for one issuer before the issuer signs with it (claimed once, ever).

    With `issuer_row_version`, the claim also holds only while the issuer's row is still at that version: the
    CA the request was checked against is the one that signs (IssuerChanged otherwise).
    """

    issuer_ca_id: str
    serial_number: str
    issuer_row_version: int = 0


@dataclass(frozen=True)
class Reservation:
    """What an idempotent request reserved (certwright.services.reservation): the version it is producing."""

    token: str
    certificate_id: str
    version_number: int
    expires_at: datetime
    row_version: int = 0
