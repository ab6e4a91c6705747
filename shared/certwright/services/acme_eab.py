"""External Account Binding keys (RFC 8555 §7.3.4) through the authenticated API: created for the calling
principal (the HMAC key shown once, stored only sealed), listed for their owner (and, as far as the policies
let them read them, another principal's for an admin), revoked by their owner or an admin; both changes are
audited (the key id and principal, never the HMAC key)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from certwright.acme.jws import b64url
from certwright.acme.resources import EabKey
from certwright.authorization.identity import normalize_arn, principal_from_arn
from certwright.authorization.visibility import visible
from certwright.errors import AccessDeniedError, InvalidInputError, NotFoundError
from certwright.ports import Page
from certwright.ports.acme import AcmeStore, EabSealer
from certwright.ports.audit import AuditLog
from certwright.services.authorities import AuthorityService
from certwright.services.context import Runtime

HMAC_BYTES = 32


@dataclass(frozen=True)
class CreatedEabKey:
    key: EabKey
    hmac_key: str  # base64url; returned once, never stored in plaintext


class EabKeyService:
    def __init__(
        self, store: AcmeStore, sealer: EabSealer, authorities: AuthorityService, audit: AuditLog, runtime: Runtime
    ) -> None:
        self._store = store
        self._audit = audit
        self._sealer = sealer
        self._authorities = authorities
        self._rt = runtime

    def create(self, caller: str, ca_id: str | None = None) -> CreatedEabKey:
        if ca_id is not None:
            self._authorities.get(ca_id)  # NotFound for a CA that does not exist
        key_id = self._rt.ids("eab")
        secret = secrets.token_bytes(HMAC_BYTES)
        key = EabKey(
            key_id=key_id,
            principal=normalize_arn(caller),
            created_at=self._rt.clock(),
            sealed_hmac=self._sealer.seal(secret, key_id),
            ca_id=ca_id,
        )
        self._store.add_eab_key(key)
        details = {"certificateAuthorityId": ca_id} if ca_id else {}
        self._audit.record(self._rt.audit(key_id, "CreateAcmeEabKey", caller, **details))
        return CreatedEabKey(key, b64url(secret))

    @staticmethod
    def owner(caller: str, principal: str | None) -> str:
        """Whose keys a listing is of: `principal` (normalized: a session ARN means its role) or else the caller;
        InvalidInputError (InvalidParameter) for a principal that is not an IAM ARN, before anything is read."""
        if principal is None:
            return normalize_arn(caller)
        try:
            return principal_from_arn(principal).arn
        except AccessDeniedError as err:
            raise InvalidInputError(
                "principal must be an IAM ARN (arn:aws:iam::ACCOUNT:role/NAME, user/NAME or root, an assumed-role "
                "session or a federated user)"
            ) from err

    def list_page(self, caller: str, principal: str | None, limit: int, token: str | None) -> Page[EabKey]:
        """A page of `principal`'s keys (the caller's own without one), oldest first; `token` is the last page's.

        The caller's own keys are all listed (anyone holds their own). Another principal's are only those the
        caller may Read (Cedar, through the request's visibility: the stack's admins, or whom an extra policy
        lets read EabKey entities); to anyone else that principal has none. They are filtered before paging,
        so a page (and whether there is a next one) tells nothing of keys the caller may not see.
        """
        owner = self.owner(caller, principal)
        keys = self._store.eab_keys_of(owner)
        if owner != normalize_arn(caller):
            keys = [k for k in keys if visible(k)]
        start = _after(keys, token) if token else 0
        chunk = keys[start : start + limit]
        more = start + limit < len(keys)
        return Page(chunk, _position(chunk[-1]) if more and chunk else None)

    def get(self, key_id: str) -> EabKey | None:
        """The key (for the API's authorization: its owner is the principal it binds accounts to)."""
        return self._store.get_eab_key(key_id)

    def revoke(self, key_id: str, caller: str) -> EabKey:
        """Revoke the key: accounts bound through it stop working. Who may (its owner or an admin) the API's rule
        decides (api/permissions.py, Cedar `Revoke` on the EabKey)."""
        key = self._store.get_eab_key(key_id)
        if key is None:
            raise NotFoundError(f"EAB key {key_id} not found")
        self._store.revoke_eab_key(key_id)
        self._audit.record(self._rt.audit(key_id, "RevokeAcmeEabKey", caller, principal=key.principal))
        found = self._store.get_eab_key(key_id)
        assert found is not None
        return found


def _position(key: EabKey) -> str:
    """Where a page ended: the last key's sort key (the listing's order: time created, then id)."""
    return f"{key.created_at.isoformat()} {key.key_id}"


def _after(keys: list[EabKey], token: str) -> int:
    """The index of the first key after the position `token` names."""
    created, _, key_id = token.partition(" ")
    try:
        position = (datetime.fromisoformat(created), key_id)
    except ValueError as err:
        raise InvalidInputError("page token is not valid", code="InvalidPageToken") from err
    return next((i for i, k in enumerate(keys) if (k.created_at, k.key_id) > position), len(keys))
