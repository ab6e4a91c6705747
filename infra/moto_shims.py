"""Teach moto what real KMS does (DESIGN.md, known gaps); used by tests and the local runtime, never in Lambda.

- Sign with MessageType=DIGEST signs the given digest (moto hashes it again); the digest length must match.
- Sign with MessageType=RAW refuses messages over 4096 bytes, as real KMS does.
- Sign refuses a disabled key (DisabledException), as real KMS does.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.core.exceptions import JsonRESTError
from moto.kms import responses as kms_responses
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException

_DIGEST_MODE: contextvars.ContextVar[bool] = contextvars.ContextVar("certwright_kms_digest", default=False)
_DIGEST_SIZES = {"256": 32, "384": 48, "512": 64}
_installed = False


class DisabledException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("DisabledException", message)


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    original_sign: Callable[[Any], str] = kms_responses.KmsResponse.sign

    def sign(self: Any) -> str:
        message_type = self._get_param("MessageType") or "RAW"
        algorithm = self._get_param("SigningAlgorithm") or ""
        message = self._get_param("Message") or ""
        size = len(message.encode() if isinstance(message, str) else message)
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        if key.key_state == "Disabled" or not key.enabled:
            raise DisabledException(f"{key.arn} is disabled.")
        if message_type == "DIGEST":
            expected = _DIGEST_SIZES.get(algorithm[-3:])
            if expected is not None and size != expected:
                raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
        elif size > 4096:
            raise ValidationException("Message must be at most 4096 bytes; use MessageType DIGEST")
        token = _DIGEST_MODE.set(message_type == "DIGEST")
        try:
            return original_sign(self)
        finally:
            _DIGEST_MODE.reset(token)

    kms_responses.KmsResponse.sign = sign  # type: ignore[method-assign]
    _patch_ecdsa()
    _patch_rsa()


def _patch_ecdsa() -> None:
    original = kms_utils.ECDSAPrivateKey.sign

    def sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not _DIGEST_MODE.get():
            return original(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
        hash_algorithm = self._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
        return bytes(self.private_key.sign(message, ec.ECDSA(utils.Prehashed(hash_algorithm))))

    kms_utils.ECDSAPrivateKey.sign = sign  # type: ignore[method-assign]


def _patch_rsa() -> None:
    original = kms_utils.RSAPrivateKey.sign

    def sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not _DIGEST_MODE.get():
            return original(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(signing_algorithm, kms_utils.SigningAlgorithm.rsa_signing_algorithms())
        pad, hash_algorithm = self._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
        return bytes(self.private_key.sign(message, pad, utils.Prehashed(hash_algorithm)))

    kms_utils.RSAPrivateKey.sign = sign  # type: ignore[method-assign]
