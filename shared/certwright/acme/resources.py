"""ACME resources (RFC 8555 §7.1): accounts, EAB keys, orders, authorizations and challenges, and the order's
state machine (pending → ready → processing → valid | invalid). Frozen values; every change returns a new one."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from certwright.acme.problems import AcmeProblem
from certwright.ports.acme_challenges import ChallengeType

ORDER_LIFETIME = timedelta(days=7)
AUTHORIZATION_LIFETIME = timedelta(days=7)
# How long the validator keeps retrying a challenge that could not be decided.
CHALLENGE_DEADLINE = timedelta(minutes=10)
# An order still processing this long after its finalize began was left by a finalize that died (RFC 8555 §7.1.6
# wants it decided): ten times the ACME server function's timeout (29 s, API Gateway's limit), so no invocation
# is still working on it, and a version it reserved but did not publish never will be (its key and signed
# certificate lived only in that invocation's memory). Its next read decides it (AcmeServer._settled).
FINALIZE_BOUND = timedelta(minutes=5)


class Status(StrEnum):
    PENDING = "pending"
    READY = "ready"
    PROCESSING = "processing"
    VALID = "valid"
    INVALID = "invalid"
    DEACTIVATED = "deactivated"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class EabKey:
    """An External Account Binding credential: its HMAC key is sealed (never stored in plaintext)."""

    key_id: str
    principal: str
    created_at: datetime
    sealed_hmac: bytes = field(repr=False)
    ca_id: str | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Account:
    id: str
    jwk: dict[str, str]
    thumbprint: str
    principal: str
    eab_key_id: str | None
    created_at: datetime
    status: Status = Status.VALID
    contact: tuple[str, ...] = ()

    def document(self, orders_url: str) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "contact": list(self.contact),
            "orders": orders_url,
            "termsOfServiceAgreed": True,
            "key": self.jwk,
            "createdAt": _iso(self.created_at),
        }


@dataclass(frozen=True)
class Challenge:
    type: ChallengeType
    token: str
    status: Status = Status.PENDING
    validated: datetime | None = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    # When the validator gives up (set when the client asks for validation).
    deadline: datetime | None = None


@dataclass(frozen=True)
class Authorization:
    id: str
    account_id: str
    identifier: str
    expires: datetime
    challenges: tuple[Challenge, ...]
    status: Status = Status.PENDING
    wildcard: bool = False

    def challenge(self, kind: str) -> Challenge:
        for c in self.challenges:
            if c.type.value == kind:
                return c
        raise AcmeProblem("malformed", f"authorization {self.id} has no {kind} challenge")

    def with_challenge(self, updated: Challenge) -> Authorization:
        """The authorization once `updated` is decided; a deactivated, revoked or already decided authorization
        stays as it is (RFC 8555 §7.1.6: those states are final)."""
        if self.status is not Status.PENDING:
            return self
        challenges = tuple(updated if c.type is updated.type else c for c in self.challenges)
        status: Status = self.status
        if updated.status is Status.VALID:
            status = Status.VALID
        elif updated.status is Status.INVALID:
            status = Status.INVALID
        return replace(self, challenges=challenges, status=status)

    def current_status(self, now: datetime) -> Status:
        if self.status in (Status.PENDING, Status.VALID) and now >= self.expires:
            return Status.EXPIRED
        return self.status


@dataclass(frozen=True)
class Order:
    id: str
    account_id: str
    ca_id: str
    identifiers: tuple[str, ...]  # DNS names, lower case, sorted, unique
    authorization_ids: tuple[str, ...]
    expires: datetime
    created_at: datetime
    status: Status = Status.PENDING
    not_before: datetime | None = None
    not_after: datetime | None = None
    certificate_id: str | None = None
    version_number: int | None = None
    error: dict[str, Any] | None = None
    replaces: str | None = None
    # When the finalize that made it processing began (None: an order never finalized, or one from before it).
    processing_since: datetime | None = None

    def advanced(self, authorizations: list[Authorization], now: datetime) -> Order:
        """The order's state from its authorizations: ready once all are valid, invalid once one is not."""
        if self.status is not Status.PENDING:
            return self
        if now >= self.expires:
            return replace(self, status=Status.INVALID, error=None)
        states = [a.current_status(now) for a in authorizations]
        if any(s in (Status.INVALID, Status.DEACTIVATED, Status.EXPIRED, Status.REVOKED) for s in states):
            return replace(self, status=Status.INVALID)
        if states and all(s is Status.VALID for s in states):
            return replace(self, status=Status.READY)
        return self

    def processing(self, now: datetime) -> Order:
        if self.status is not Status.READY:
            raise AcmeProblem("orderNotReady", f"the order is {self.status.value}, not ready")
        return replace(self, status=Status.PROCESSING, processing_since=now)

    def stuck(self, now: datetime) -> bool:
        """Processing for longer than any finalize can take (FINALIZE_BOUND): its finalize died."""
        if self.status is not Status.PROCESSING:
            return False
        since = self.processing_since or self.created_at
        return now >= since + FINALIZE_BOUND

    def issued(self, certificate_id: str, version_number: int) -> Order:
        return replace(self, status=Status.VALID, certificate_id=certificate_id, version_number=version_number)

    def failed(self, problem: dict[str, Any]) -> Order:
        return replace(self, status=Status.INVALID, error=problem)


def normalize_identifiers(raw: object) -> tuple[str, ...]:
    """The order's DNS identifiers (RFC 8555 §7.1.4), lower-cased, unique and sorted; other types refused."""
    if not isinstance(raw, list) or not raw:
        raise AcmeProblem("malformed", "identifiers must be a non-empty list")
    names: set[str] = set()
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise AcmeProblem("malformed", "each identifier needs a type and a value")
        if item.get("type") != "dns":
            raise AcmeProblem("unsupportedIdentifier", f"identifier type {item.get('type')!r} is not supported")
        value = item["value"].strip().rstrip(".").lower()
        if not value or len(value) > 253:
            raise AcmeProblem("rejectedIdentifier", f"{item['value']!r} is not a DNS name")
        names.add(value)
    if len(names) > 100:
        raise AcmeProblem("rejectedIdentifier", "an order may name at most 100 identifiers")
    return tuple(sorted(names))


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


iso = _iso
