"""Key ports: CA signing keys that never leave their key store, and the envelope for leaf private keys."""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

from certwright.domain.keys import KeyAlgorithm


class CaKeyProvider(Protocol):
    """CA signing keys held in a key store that never exports them (KMS).

    Every method raises TransientError when the key store throttles or is unreachable, and DependencyError
    when it refuses for another reason.
    """

    def create_key(self, algorithm: KeyAlgorithm, description: str) -> str:
        """A new signing key of `algorithm`; returns its key id."""
        ...

    def adopt_key(self, key_id: str, algorithm: KeyAlgorithm) -> str:
        """An existing key the customer brings (kmsKeyId), checked: it exists and this service may describe it
        and read its public key (else InvalidInputError KmsKeyNotAccessible), it is an asymmetric signing key
        of `algorithm` (KmsKeySpecMismatch, KmsKeyUsageInvalid) and it is enabled (ConflictError KmsKeyNotEnabled).
        Returns its canonical id (the ARN in KMS)."""
        ...

    def public_key(self, key_id: str) -> PublicKeyTypes:
        """The public half of `key_id`."""
        ...

    def signing_key(self, key_id: str, algorithm: KeyAlgorithm) -> CertificateIssuerPrivateKeyTypes:
        """A private-key object whose sign() calls the key store; it never holds the key itself. Its sign()
        raises ConflictError(CaKeyUnusable) when the key is disabled, pending deletion or gone."""
        ...

    def schedule_key_deletion(self, key_id: str) -> None:
        """Schedule `key_id` for deletion (the key store's waiting period); a key already gone is no error."""
        ...


class KeyVault(Protocol):
    """Envelope for leaf private keys: ciphertext bound to (certificate, version) by encryption context."""

    def seal(self, plaintext: bytes, certificate_id: str, version_number: int) -> bytes:
        """The ciphertext of `plaintext`, openable only for the same (certificate, version).

        Raises TransientError or DependencyError when the key store fails."""
        ...

    def open(self, ciphertext: bytes, certificate_id: str, version_number: int) -> bytes:
        """The plaintext sealed for (certificate, version).

        Raises DependencyError when the ciphertext was sealed for another version or is corrupt,
        TransientError when the key store throttles."""
        ...
