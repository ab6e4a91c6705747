"""The moto shims behave like real KMS Sign: DIGEST signs the given digest, RAW is size-limited, disabled keys refuse."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tests.conftest import Aws

MESSAGE = b"tbsCertificate bytes, as far as KMS can tell" * 200  # 8,800 bytes: over the RAW limit
HASHES = {"SHA_256": hashes.SHA256(), "SHA_384": hashes.SHA384(), "SHA_512": hashes.SHA512()}


def new_key(kms: Any, spec: str) -> tuple[str, Any]:
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    return key_id, public


def error_code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    ("spec", "algorithm"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ECC_NIST_P384", "ECDSA_SHA_384"),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_384"),
        ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_512"),
    ],
)
def test_a_digest_signature_verifies_over_the_original_message(aws: Aws, spec: str, algorithm: str) -> None:
    kms = aws.session.client("kms")
    key_id, public = new_key(kms, spec)
    hash_algorithm = HASHES[algorithm[-7:]]
    digest = hashlib.new(hash_algorithm.name, MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)["Signature"]
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, MESSAGE, padding.PKCS1v15(), hash_algorithm)
        with pytest.raises(InvalidSignature):
            # Without the shim moto hashes the digest again; that signature would match sha(digest) instead.
            public.verify(signature, digest, padding.PKCS1v15(), hash_algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, MESSAGE, ec.ECDSA(hash_algorithm))
        with pytest.raises(InvalidSignature):
            public.verify(signature, digest, ec.ECDSA(hash_algorithm))


def test_a_raw_signature_still_verifies_over_the_message(aws: Aws) -> None:
    kms = aws.session.client("kms")
    key_id, public = new_key(kms, "ECC_NIST_P256")
    message = MESSAGE[:4096]
    signature = kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    public.verify(signature["Signature"], message, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("message_type", [{"MessageType": "RAW"}, {}])
def test_raw_messages_over_4096_bytes_are_refused(aws: Aws, message_type: dict[str, str]) -> None:
    kms = aws.session.client("kms")
    key_id, _ = new_key(kms, "ECC_NIST_P256")
    with pytest.raises(ClientError) as caught:
        kms.sign(KeyId=key_id, Message=MESSAGE[:4097], SigningAlgorithm="ECDSA_SHA_256", **message_type)
    assert error_code(caught) == "ValidationException"


@pytest.mark.parametrize(
    ("spec", "algorithm", "length"),
    [
        ("ECC_NIST_P256", "ECDSA_SHA_256", 31),
        ("ECC_NIST_P256", "ECDSA_SHA_256", 48),
        ("ECC_NIST_P384", "ECDSA_SHA_384", 32),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", 64),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", 48),
    ],
)
def test_a_digest_of_the_wrong_length_is_refused(aws: Aws, spec: str, algorithm: str, length: int) -> None:
    kms = aws.session.client("kms")
    key_id, _ = new_key(kms, spec)
    with pytest.raises(ClientError) as caught:
        kms.sign(KeyId=key_id, Message=b"\x01" * length, MessageType="DIGEST", SigningAlgorithm=algorithm)
    assert error_code(caught) == "ValidationException"


def test_a_disabled_key_refuses_to_sign_until_enabled(aws: Aws) -> None:
    kms = aws.session.client("kms")
    key_id, public = new_key(kms, "ECC_NIST_P256")
    digest = hashlib.sha256(MESSAGE).digest()
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as caught:
        kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    assert error_code(caught) == "DisabledException"
    kms.enable_key(KeyId=key_id)
    signed = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    public.verify(signed["Signature"], MESSAGE, ec.ECDSA(hashes.SHA256()))
