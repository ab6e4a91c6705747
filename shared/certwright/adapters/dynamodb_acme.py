"""The ACME server's rows in the one table (the AcmeStore port).

Keys (beside those in dynamodb_models):
  ACMENONCE#{nonce}     / N             a nonce until it is used (conditional delete) or expires (expires_at)
  ACMEEAB#{key id}      / K             an EAB key; `secret` holds its KMS-sealed HMAC key
  ACMEEABS#{principal}  / {key id}      the principal's EAB keys (no secret)
  ACMEACCT#{id}         / A             an account
  ACMEKEY#{thumbprint}  / K             the account a key belongs to (one account per key)
  ACMEORDER#{id}        / O             an order;  ACMEORDERS#{account} / {order id} its account's list
  ACMEAUTHZ#{id}        / Z             an authorization with its challenges
  ACMECERT#{account}    / {names}       the Certwright certificate an account's name set issued
  ACMEREPLACED#{certId} / R             the order that replaced a certificate (RFC 9773 `replaces`), once
Nonces, and orders (with their account's reference) and authorizations that can no longer issue, carry `ttl`
(certwright.acme.retention): the table's TTL deletes them later; no check depends on that deletion.
Only the authorization stands for events (AcmeChallengeRequested: adapters/dynamodb_images.py decodes it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.exceptions import DeleteError, PutError

from certwright.acme.resources import Account, Authorization, Challenge, EabKey, Order, Status
from certwright.acme.retention import authorization_drop_at, nonce_drop_at, order_drop_at
from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import TableAdapter, translate_pynamo, versioned
from certwright.errors import ConflictError
from certwright.ports.acme import CHANGE_ATTEMPTS
from certwright.ports.acme_challenges import ChallengeType

AUTHZ_KIND = "ACME_AUTHZ"
T = TypeVar("T")


def _t(at: datetime | None) -> str | None:
    return None if at is None else codec.iso(at)


def _pt(text: str | None) -> datetime | None:
    return None if text is None else codec.parse_time(text)


def eab_to_data(k: EabKey) -> dict[str, Any]:
    return {
        "keyId": k.key_id,
        "principal": k.principal,
        "createdAt": codec.iso(k.created_at),
        "caId": k.ca_id,
        "revoked": k.revoked,
    }


def eab_from(data: dict[str, Any], sealed: bytes) -> EabKey:
    return EabKey(
        key_id=data["keyId"],
        principal=data["principal"],
        created_at=codec.parse_time(data["createdAt"]),
        sealed_hmac=sealed,
        ca_id=data.get("caId"),
        revoked=bool(data.get("revoked")),
    )


def account_to_data(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "jwk": a.jwk,
        "thumbprint": a.thumbprint,
        "principal": a.principal,
        "eabKeyId": a.eab_key_id,
        "createdAt": codec.iso(a.created_at),
        "status": a.status.value,
        "contact": list(a.contact),
    }


def account_from(d: dict[str, Any]) -> Account:
    return Account(
        id=d["id"],
        jwk=dict(d["jwk"]),
        thumbprint=d["thumbprint"],
        principal=d["principal"],
        eab_key_id=d.get("eabKeyId"),
        created_at=codec.parse_time(d["createdAt"]),
        status=Status(d["status"]),
        contact=tuple(d.get("contact") or ()),
    )


def order_to_data(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "accountId": o.account_id,
        "caId": o.ca_id,
        "identifiers": list(o.identifiers),
        "authorizationIds": list(o.authorization_ids),
        "expires": codec.iso(o.expires),
        "createdAt": codec.iso(o.created_at),
        "status": o.status.value,
        "notBefore": _t(o.not_before),
        "notAfter": _t(o.not_after),
        "certificateId": o.certificate_id,
        "versionNumber": o.version_number,
        "error": o.error,
        "replaces": o.replaces,
        "processingSince": _t(o.processing_since),
    }


def order_from(d: dict[str, Any]) -> Order:
    return Order(
        id=d["id"],
        account_id=d["accountId"],
        ca_id=d["caId"],
        identifiers=tuple(d["identifiers"]),
        authorization_ids=tuple(d["authorizationIds"]),
        expires=codec.parse_time(d["expires"]),
        created_at=codec.parse_time(d["createdAt"]),
        status=Status(d["status"]),
        not_before=_pt(d.get("notBefore")),
        not_after=_pt(d.get("notAfter")),
        certificate_id=d.get("certificateId"),
        version_number=d.get("versionNumber"),
        error=d.get("error"),
        replaces=d.get("replaces"),
        processing_since=_pt(d.get("processingSince")),
    )


def authz_to_data(z: Authorization) -> dict[str, Any]:
    return {
        "id": z.id,
        "accountId": z.account_id,
        "identifier": z.identifier,
        "expires": codec.iso(z.expires),
        "status": z.status.value,
        "wildcard": z.wildcard,
        "challenges": [
            {
                "type": c.type.value,
                "token": c.token,
                "status": c.status.value,
                "validated": _t(c.validated),
                "error": c.error,
                "attempts": c.attempts,
                "deadline": _t(c.deadline),
            }
            for c in z.challenges
        ],
    }


def authz_from(d: dict[str, Any]) -> Authorization:
    return Authorization(
        id=d["id"],
        account_id=d["accountId"],
        identifier=d["identifier"],
        expires=codec.parse_time(d["expires"]),
        status=Status(d["status"]),
        wildcard=bool(d.get("wildcard")),
        challenges=tuple(
            Challenge(
                type=ChallengeType(c["type"]),
                token=c["token"],
                status=Status(c["status"]),
                validated=_pt(c.get("validated")),
                error=c.get("error"),
                attempts=int(c.get("attempts") or 0),
                deadline=_pt(c.get("deadline")),
            )
            for c in d["challenges"]
        ),
    )


def _names_key(names: tuple[str, ...]) -> str:
    """A sort key of bounded size for a name set (up to 100 names of 253 characters)."""
    return hashlib.sha256(",".join(names).encode("utf-8")).hexdigest()


class DynamoDbAcme(TableAdapter):
    """The AcmeStore port on the shared table helper."""

    def add_nonce(self, nonce: str, expires: datetime) -> None:
        row = self._row(f"ACMENONCE#{nonce}", "N", kind="ACME_NONCE", data={})
        row.expires_at = int(expires.timestamp())
        row.ttl = nonce_drop_at(expires)
        with self._errors("store nonce"):
            row.save()

    def consume_nonce(self, nonce: str, now: datetime) -> bool:
        row = self._row(f"ACMENONCE#{nonce}", "N", kind="ACME_NONCE", data={})
        try:
            # Single use: only the one delete that finds the unexpired row succeeds.
            row.delete(
                condition=self._row.pk.exists() & (self._row.expires_at > int(now.timestamp())),
                add_version_condition=False,
            )
        except DeleteError as err:
            if _condition_failed(err):
                return False
            raise translate_pynamo(err, "use nonce") from err
        return True

    def add_eab_key(self, key: EabKey) -> None:
        data = eab_to_data(key)
        with self._errors("create EAB key"), self._transaction() as tx:
            tx.save(self._row(f"ACMEEAB#{key.key_id}", "K", kind="ACME_EAB", data=data, secret=key.sealed_hmac))
            tx.save(self._row(f"ACMEEABS#{key.principal}", key.key_id, kind="ACME_EAB_REF", data=data))

    def get_eab_key(self, key_id: str) -> EabKey | None:
        row = self._get(f"ACMEEAB#{key_id}", "K")
        return None if row is None or row.secret is None else eab_from(row.data, bytes(row.secret))

    def eab_keys_of(self, principal: str) -> list[EabKey]:
        with self._errors("list EAB keys"):
            rows = list(self._row.query(f"ACMEEABS#{principal}", consistent_read=True))
        keys = [eab_from(r.data, b"") for r in rows]
        return sorted(keys, key=lambda k: (k.created_at, k.key_id))

    def revoke_eab_key(self, key_id: str) -> None:
        row = self._get(f"ACMEEAB#{key_id}", "K")
        if row is None:
            return
        data = {**row.data, "revoked": True}
        ref = self._get(f"ACMEEABS#{data['principal']}", key_id)
        with self._errors("revoke EAB key"), self._transaction() as tx:
            row.data = data
            tx.save(row)
            if ref is not None:
                ref.data = data
                tx.save(ref)

    def create_account(self, account: Account) -> None:
        data = account_to_data(account)
        with self._errors("create account"), self._transaction() as tx:
            tx.save(self._row(f"ACMEACCT#{account.id}", "A", kind="ACME_ACCOUNT", data=data))
            tx.save(self._row(f"ACMEKEY#{account.thumbprint}", "K", kind="ACME_KEY", data={"accountId": account.id}))

    def get_account(self, account_id: str) -> Account | None:
        row = self._get(f"ACMEACCT#{account_id}", "A")
        return None if row is None else account_from(row.data)

    def account_by_thumbprint(self, thumbprint: str) -> Account | None:
        row = self._get(f"ACMEKEY#{thumbprint}", "K")
        return None if row is None else self.get_account(str(row.data["accountId"]))

    def save_account(self, account: Account, previous_thumbprint: str | None = None) -> None:
        stored = self._get(f"ACMEACCT#{account.id}", "A")
        row = self._row(f"ACMEACCT#{account.id}", "A", kind="ACME_ACCOUNT", data=account_to_data(account))
        row = versioned(row, stored.row_version if stored is not None else 0)
        with self._errors("update account"), self._transaction() as tx:
            tx.save(row)
            if previous_thumbprint is not None and previous_thumbprint != account.thumbprint:
                old = self._get(f"ACMEKEY#{previous_thumbprint}", "K")
                if old is not None:
                    tx.delete(old)
                new = self._row(f"ACMEKEY#{account.thumbprint}", "K", kind="ACME_KEY", data={"accountId": account.id})
                tx.save(new)

    def put_order(self, order: Order) -> None:
        data, ttl = order_to_data(order), order_drop_at(order)
        with self._errors("create order"), self._transaction() as tx:
            tx.save(self._row(f"ACMEORDER#{order.id}", "O", kind="ACME_ORDER", data=data, ttl=ttl))
            tx.save(self._row(f"ACMEORDERS#{order.account_id}", order.id, kind="ACME_ORDER_REF", data={}, ttl=ttl))

    def get_order(self, order_id: str) -> Order | None:
        row = self._get(f"ACMEORDER#{order_id}", "O")
        return None if row is None else order_from(row.data)

    def update_order(self, order: Order, expected: Status) -> None:
        stored = self._get(f"ACMEORDER#{order.id}", "O")
        if stored is None or stored.data.get("status") != expected.value:
            raise ConflictError(f"order {order.id} is no longer {expected.value}", code="ConcurrentModification")
        self._write_order(order, stored.row_version)

    def change_order(self, order_id: str, change: Callable[[Order], Order]) -> Order | None:
        def read() -> tuple[Order, int] | None:
            stored = self._get(f"ACMEORDER#{order_id}", "O")
            return None if stored is None else (order_from(stored.data), stored.row_version)

        return _changed(f"order {order_id}", read, change, self._write_order)

    def _write_order(self, order: Order, row_version: int) -> None:
        ttl = order_drop_at(order)
        # Conditional on the row version read: a concurrent transition makes this write fail.
        row = self._row(f"ACMEORDER#{order.id}", "O", kind="ACME_ORDER", data=order_to_data(order), ttl=ttl)
        row = versioned(row, 1)
        row.row_version = row_version
        ref = self._get(f"ACMEORDERS#{order.account_id}", order.id)
        if ref is None or ref.ttl == ttl:
            with self._errors("update order"):
                row.save()
            return
        # The account's list names the order as long as the order is kept: its reference keeps the same ttl.
        ref.ttl = ttl
        with self._errors("update order"), self._transaction() as tx:
            tx.save(row)
            tx.save(ref)

    def orders_of(self, account_id: str) -> list[str]:
        with self._errors("list orders"):
            return [r.sk for r in self._row.query(f"ACMEORDERS#{account_id}", consistent_read=True)]

    def put_authorization(self, authorization: Authorization) -> None:
        data, ttl = authz_to_data(authorization), authorization_drop_at(authorization)
        row = self._row(f"ACMEAUTHZ#{authorization.id}", "Z", kind=AUTHZ_KIND, data=data, ttl=ttl)
        stored = self._get(f"ACMEAUTHZ#{authorization.id}", "Z")
        with self._errors("write authorization"):
            versioned(row, stored.row_version if stored is not None else 0).save()

    def change_authorization(
        self, authorization_id: str, change: Callable[[Authorization], Authorization]
    ) -> Authorization | None:
        def read() -> tuple[Authorization, int] | None:
            stored = self._get(f"ACMEAUTHZ#{authorization_id}", "Z")
            return None if stored is None else (authz_from(stored.data), stored.row_version)

        def write(changed: Authorization, row_version: int) -> None:
            data, ttl = authz_to_data(changed), authorization_drop_at(changed)
            row = self._row(f"ACMEAUTHZ#{authorization_id}", "Z", kind=AUTHZ_KIND, data=data, ttl=ttl)
            row.row_version = row_version  # the write's condition: still the version read
            with self._errors("write authorization"):
                row.save()

        return _changed(f"authorization {authorization_id}", read, change, write)

    def get_authorization(self, authorization_id: str) -> Authorization | None:
        row = self._get(f"ACMEAUTHZ#{authorization_id}", "Z")
        return None if row is None else authz_from(row.data)

    def claim_replacement(self, cert_id: str, order_id: str) -> str | None:
        row = self._row(f"ACMEREPLACED#{cert_id}", "R", kind="ACME_REPLACED", data={"orderId": order_id})
        try:
            with self._errors("claim replacement"):
                row.save(condition=self._row.pk.does_not_exist())
        except ConflictError as err:
            if err.code != "ConcurrentModification":
                raise
            holder = self.replacement_of(cert_id)
            return None if holder in (order_id, None) else holder
        return None

    def release_replacement(self, cert_id: str, order_id: str) -> None:
        stored = self._get(f"ACMEREPLACED#{cert_id}", "R")
        if stored is None or stored.data.get("orderId") != order_id:
            return
        with self._errors("release replacement"):
            stored.delete()

    def replacement_of(self, cert_id: str) -> str | None:
        row = self._get(f"ACMEREPLACED#{cert_id}", "R")
        return None if row is None else str(row.data["orderId"])

    def certificate_for(self, account_id: str, names: tuple[str, ...]) -> str | None:
        row = self._get(f"ACMECERT#{account_id}", _names_key(names))
        return None if row is None else str(row.data["certificateId"])

    def link_certificate(self, account_id: str, names: tuple[str, ...], certificate_id: str) -> None:
        row = self._row(f"ACMECERT#{account_id}", _names_key(names), kind="ACME_CERT", data={})
        row.data = {"certificateId": certificate_id}
        stored = self._get(f"ACMECERT#{account_id}", _names_key(names))
        with self._errors("link certificate"):
            versioned(row, stored.row_version if stored is not None else 0).save()


def _condition_failed(err: PutError | DeleteError) -> bool:
    cause = err.cause
    response = getattr(cause, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in str(err)


def _changed(
    what: str,
    read: Callable[[], tuple[T, int] | None],
    change: Callable[[T], T],
    write: Callable[[T, int], None],
) -> T | None:
    """`change` applied to what `read` finds (a value and its row version), written by `write` on that version;
    after a lost race (ConcurrentModification) read again and apply it again: CHANGE_ATTEMPTS times, then
    ConflictError. None when there is nothing to change; the stored value when `change` changes nothing."""
    for _ in range(CHANGE_ATTEMPTS):
        found = read()
        if found is None:
            return None
        current, row_version = found
        changed = change(current)
        if changed == current:
            return current
        try:
            write(changed, row_version)
        except ConflictError as err:
            if err.code != "ConcurrentModification":
                raise
            continue  # someone wrote it in between: apply the change to what they wrote
        return changed
    raise ConflictError(f"{what} keeps changing concurrently; retry", code="ConcurrentModification")


__all__ = ["DynamoDbAcme", "Row"]
