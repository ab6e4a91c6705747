"""Teach moto what real AWS does (DESIGN.md, known gaps); used by tests and the local runtime, never in Lambda.

- KMS Sign with MessageType=DIGEST signs the given digest (moto hashes it again); the digest length must match.
- KMS Sign with MessageType=RAW refuses messages over 4096 bytes, as real KMS does.
- KMS Sign refuses a disabled key (DisabledException), as real KMS does.
- ELBv2 ModifyListener with Certificates replaces only the default certificate (moto drops the SNI ones too),
  and AddListenerCertificates refuses a certificate ACM does not hold (CertificateNotFound), as ELBv2 does.
- ACM DescribeCertificate reports Serial as colon-separated hex bytes ("0a:1b:..."), as ACM does (moto: decimal).
- S3 conditional puts and DynamoDB conditional writes are atomic, as AWS's are (infra/moto_atomic.py).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.acm import models as acm_models
from moto.core.exceptions import JsonRESTError
from moto.elbv2 import models as elbv2_models
from moto.elbv2.exceptions import ELBClientError
from moto.kms import responses as kms_responses
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException

from infra import moto_atomic

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
    _patch_elbv2()
    _patch_acm()
    moto_atomic.install()


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


def _patch_elbv2() -> None:
    original_modify = elbv2_models.ELBv2Backend.modify_listener
    original_add = elbv2_models.ELBv2Backend.add_listener_certificates

    def modify_listener(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
        sni = list(listener.certificates[1:]) if listener.certificates else []
        result = original_modify(self, arn, *args, **kwargs)
        default = listener.certificates[0] if listener.certificates else None
        listener.certificates = [c for c in [default, *sni] if c is not None]
        listener.certificates = list(dict.fromkeys(listener.certificates))
        return result

    def add_listener_certificates(self: Any, arn: str, certificates: list[dict[str, Any]]) -> Any:
        for certificate in certificates:
            if not self._certificate_exists(certificate_arn=certificate["CertificateArn"]):
                raise ELBClientError("CertificateNotFound", f"Certificate {certificate['CertificateArn']} not found")
        return original_add(self, arn, certificates)

    elbv2_models.ELBv2Backend.modify_listener = modify_listener  # type: ignore[method-assign]
    elbv2_models.ELBv2Backend.add_listener_certificates = add_listener_certificates  # type: ignore[method-assign]


def _patch_acm() -> None:
    original = acm_models.CertBundle.describe

    def describe(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original(self)
        serial = f"{self._cert.serial_number:x}"
        serial = serial if len(serial) % 2 == 0 else "0" + serial
        described["Certificate"]["Serial"] = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2))
        return described

    acm_models.CertBundle.describe = describe  # type: ignore[method-assign]
