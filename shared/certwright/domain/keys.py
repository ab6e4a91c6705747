"""Key algorithms offered to customers, and what each implies for signing."""

from __future__ import annotations

from enum import StrEnum


class KeyAlgorithm(StrEnum):
    RSA2048 = "RSA2048"
    RSA3072 = "RSA3072"
    RSA4096 = "RSA4096"
    ECDSA_P256 = "ECDSA_P256"
    ECDSA_P384 = "ECDSA_P384"

    @property
    def is_rsa(self) -> bool:
        return self.value.startswith("RSA")

    @property
    def rsa_bits(self) -> int:
        return int(self.value[3:]) if self.is_rsa else 0

    @property
    def hash_name(self) -> str:
        """The digest a CA with this key signs with: SHA-384 for P-384, SHA-256 otherwise."""
        return "SHA384" if self is KeyAlgorithm.ECDSA_P384 else "SHA256"
