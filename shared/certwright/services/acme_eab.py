"""External Account Binding keys (RFC 8555 §7.3.4) through the authenticated API: created for the calling
principal (the HMAC key shown once, stored only sealed), listed for their owner, revoked by their owner; both
changes are audited (the key id and principal, never the HMAC key)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from certwright.acme.jws import b64url
from certwright.acme.resources import EabKey
from certwright.authorization.identity import normalize_arn
from certwright.errors import NotFoundError
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

    def list(self, caller: str) -> list[EabKey]:
        return self._store.eab_keys_of(normalize_arn(caller))

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
