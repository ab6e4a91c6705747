"""Signature algorithms a CA signs with (OCI's names), and which CA keys can make each one (KMS's rules)."""

from __future__ import annotations

from enum import StrEnum

from certwright.domain.keys import KeyAlgorithm
from certwright.errors import InvalidInputError


class SigningAlgorithm(StrEnum):
    SHA256_WITH_RSA = "SHA256_WITH_RSA"
    SHA384_WITH_RSA = "SHA384_WITH_RSA"
    SHA512_WITH_RSA = "SHA512_WITH_RSA"
    SHA256_WITH_RSA_PSS = "SHA256_WITH_RSA_PSS"
    SHA384_WITH_RSA_PSS = "SHA384_WITH_RSA_PSS"
    SHA512_WITH_RSA_PSS = "SHA512_WITH_RSA_PSS"
    SHA256_WITH_ECDSA = "SHA256_WITH_ECDSA"
    SHA384_WITH_ECDSA = "SHA384_WITH_ECDSA"
    SHA512_WITH_ECDSA = "SHA512_WITH_ECDSA"

    @property
    def hash_name(self) -> str:
        """SHA256, SHA384 or SHA512."""
        return self.value.split("_", 1)[0]

    @property
    def is_rsa(self) -> bool:
        return "_WITH_RSA" in self.value

    @property
    def is_pss(self) -> bool:
        return self.value.endswith("_RSA_PSS")

    @property
    def kms_name(self) -> str:
        """KMS's SigningAlgorithmSpec: RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PSS_SHA_384, ECDSA_SHA_512, ..."""
        digest = f"SHA_{self.hash_name[3:]}"
        if self.is_pss:
            return f"RSASSA_PSS_{digest}"
        return f"RSASSA_PKCS1_V1_5_{digest}" if self.is_rsa else f"ECDSA_{digest}"


# KMS SigningAlgorithmSpec per key spec: an RSA key makes every PKCS#1 v1.5 and PSS signature; an ECC key only
# ECDSA with its curve's hash (ECC_NIST_P256: ECDSA_SHA_256, ECC_NIST_P384: ECDSA_SHA_384; P-521, the only
# key spec for ECDSA_SHA_512, is not a key algorithm Certwright offers).
_EC_ALGORITHMS = {
    KeyAlgorithm.ECDSA_P256: SigningAlgorithm.SHA256_WITH_ECDSA,
    KeyAlgorithm.ECDSA_P384: SigningAlgorithm.SHA384_WITH_ECDSA,
}


def default_signing_algorithm(key: KeyAlgorithm) -> SigningAlgorithm:
    """What a CA with `key` signs with unless told otherwise (the algorithm it always used)."""
    return SigningAlgorithm.SHA256_WITH_RSA if key.is_rsa else _EC_ALGORITHMS[key]


def allowed_signing_algorithms(key: KeyAlgorithm) -> tuple[SigningAlgorithm, ...]:
    if key.is_rsa:
        return tuple(a for a in SigningAlgorithm if a.is_rsa)
    return (_EC_ALGORITHMS[key],)


def check_signing_algorithm(key: KeyAlgorithm, algorithm: SigningAlgorithm, *, field: str) -> SigningAlgorithm:
    """`algorithm` if a CA key of `key` can sign with it (in KMS), else InvalidInputError(SigningAlgorithmNotSupported)."""
    allowed = allowed_signing_algorithms(key)
    if algorithm not in allowed:
        raise InvalidInputError(
            f"{field}: a {key.value} CA key cannot sign with {algorithm.value} "
            f"(allowed: {', '.join(a.value for a in allowed)})",
            code="SigningAlgorithmNotSupported",
        )
    return algorithm
