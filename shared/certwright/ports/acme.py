"""The ACME storage port: nonces, EAB keys, accounts (by id and by key thumbprint), orders, authorizations and
the link from an account's name set to its Certwright certificate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from certwright.acme.resources import Account, Authorization, EabKey, Order, Status

# How often change_authorization (and change_order) reads again after losing a race before it gives up (ConflictError).
CHANGE_ATTEMPTS = 5


class AcmeStore(Protocol):
    """Every method raises TransientError when the store throttles and DependencyError when it fails otherwise."""

    def add_nonce(self, nonce: str, expires: datetime) -> None:
        """Store a fresh nonce until `expires`."""
        ...

    def consume_nonce(self, nonce: str, now: datetime) -> bool:
        """Delete the nonce if it exists and has not expired; True when it did (each nonce is good once)."""
        ...

    def add_eab_key(self, key: EabKey) -> None:
        """Write a new EAB key (its HMAC key sealed); ConflictError if the id exists."""
        ...

    def get_eab_key(self, key_id: str) -> EabKey | None: ...

    def eab_keys_of(self, principal: str) -> list[EabKey]:
        """The principal's EAB keys, oldest first."""
        ...

    def revoke_eab_key(self, key_id: str) -> None:
        """Mark the key revoked (accounts bound through it stop working)."""
        ...

    def create_account(self, account: Account) -> None:
        """Write a new account; ConflictError(ConcurrentModification) if its key (thumbprint) has an account."""
        ...

    def get_account(self, account_id: str) -> Account | None: ...

    def account_by_thumbprint(self, thumbprint: str) -> Account | None: ...

    def save_account(self, account: Account, previous_thumbprint: str | None = None) -> None:
        """Overwrite the account; with `previous_thumbprint`, move its key binding too (key rollover), failing
        with ConflictError if the new key already has an account."""
        ...

    def put_order(self, order: Order) -> None: ...

    def get_order(self, order_id: str) -> Order | None: ...

    def update_order(self, order: Order, expected: Status) -> None:
        """Write `order` only if the stored one is still in `expected`; else ConflictError."""
        ...

    def change_order(self, order_id: str, change: Callable[[Order], Order]) -> Order | None:
        """Apply `change` to the stored order and write the result only if nobody wrote the order since it was
        read; after a lost race, read it again and apply `change` again (CHANGE_ATTEMPTS times, then
        ConflictError), as change_authorization does. Returns what is stored afterwards; None when there is no
        such order."""
        ...

    def orders_of(self, account_id: str) -> list[str]:
        """The ids of the account's orders."""
        ...

    def put_authorization(self, authorization: Authorization) -> None:
        """Write a new authorization (a new order's)."""
        ...

    def change_authorization(
        self, authorization_id: str, change: Callable[[Authorization], Authorization]
    ) -> Authorization | None:
        """Apply `change` to the stored authorization and write the result only if nobody wrote the authorization
        since it was read; after a lost race, read it again and apply `change` again (CHANGE_ATTEMPTS times, then
        ConflictError). Returns what is stored afterwards; None when there is no such authorization."""
        ...

    def get_authorization(self, authorization_id: str) -> Authorization | None: ...

    def claim_replacement(self, cert_id: str, order_id: str) -> str | None:
        """Record that order `order_id` replaces the certificate `cert_id` (its renewalInfo CertID), once: None
        when the claim is this order's (also again), else the id of the order that holds it (nothing written)."""
        ...

    def release_replacement(self, cert_id: str, order_id: str) -> None:
        """Drop the claim if `order_id` holds it (its finalize failed: the certificate is not replaced)."""
        ...

    def replacement_of(self, cert_id: str) -> str | None:
        """The order that replaced (or is replacing) the certificate `cert_id`, if any."""
        ...

    def certificate_for(self, account_id: str, names: tuple[str, ...]) -> str | None:
        """The Certwright certificate an earlier order of the account issued for exactly `names`."""
        ...

    def link_certificate(self, account_id: str, names: tuple[str, ...], certificate_id: str) -> None: ...


class EabSealer(Protocol):
    """Seals EAB HMAC keys (KMS, encryption context bound to the EAB key id): the store never holds one in
    plaintext. Raises TransientError or DependencyError when the key store fails."""

    def seal(self, hmac_key: bytes, key_id: str) -> bytes: ...

    def open(self, sealed: bytes, key_id: str) -> bytes: ...
