"""KMS adapters on moto (with the shims): CA keys that sign certificates and CRLs, and the leaf-key vault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from certwright.adapters.kms import KmsCaKeys, KmsEcSigningKey, KmsKeyVault, KmsRsaSigningKey
from certwright.domain.keys import KeyAlgorithm
from certwright.errors import CertwrightError, ConflictError, DependencyError
from certwright.x509.keys import hash_for
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from tests.conftest import Aws

NOW = datetime(2024, 5, 17, 10, 30, tzinfo=UTC)
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "KMS Test CA")])
EXPECTED_PUBLIC = {
    KeyAlgorithm.RSA2048: (rsa.RSAPublicKey, 2048),
    KeyAlgorithm.RSA3072: (rsa.RSAPublicKey, 3072),
    KeyAlgorithm.RSA4096: (rsa.RSAPublicKey, 4096),
    KeyAlgorithm.ECDSA_P256: (ec.EllipticCurvePublicKey, 256),
    KeyAlgorithm.ECDSA_P384: (ec.EllipticCurvePublicKey, 384),
}


@pytest.fixture
def keys(aws: Aws) -> KmsCaKeys:
    return KmsCaKeys(aws.session.client("kms"))


@pytest.fixture
def vault(aws: Aws) -> KmsKeyVault:
    return KmsKeyVault(aws.session.client("kms"), aws.settings.key_encryption_key_id)


def self_signed(key: object, algorithm: KeyAlgorithm) -> x509.Certificate:
    signer = key
    assert isinstance(signer, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return (
        x509.CertificateBuilder()
        .subject_name(NAME)
        .issuer_name(NAME)
        .public_key(signer.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signer, hash_for(algorithm))
    )


def crl(key: object, algorithm: KeyAlgorithm, revoked: int) -> x509.CertificateRevocationList:
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(NAME)
        .last_update(NOW)
        .next_update(NOW + timedelta(days=7))
        .add_extension(x509.CRLNumber(7), critical=False)
    )
    for serial in range(1, revoked + 1):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial * 0x1_0000_0000_0001)
            .revocation_date(NOW - timedelta(minutes=serial))
            .build()
        )
    return builder.sign(key, hash_for(algorithm))


def verify(public: PublicKeyTypes, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> None:
    """Verify with cryptography against the key KMS published (never kms.verify)."""
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(algorithm))


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_each_algorithm_gets_a_signing_key_that_signs_certificates_and_crls(
    keys: KmsCaKeys, aws: Aws, algorithm: KeyAlgorithm
) -> None:
    key_id = keys.create_key(algorithm, "Certwright CA test")
    metadata = aws.session.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyUsage"] == "SIGN_VERIFY"
    assert metadata["Arn"] == key_id

    public = keys.public_key(key_id)
    kind, size = EXPECTED_PUBLIC[algorithm]
    assert isinstance(public, kind)
    assert isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    assert public.key_size == size

    key = keys.signing_key(key_id, algorithm)
    assert isinstance(key, KmsRsaSigningKey if algorithm.is_rsa else KmsEcSigningKey)
    assert key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    certificate = self_signed(key, algorithm)
    assert certificate.signature_hash_algorithm is not None
    verify(public, certificate.signature, certificate.tbs_certificate_bytes, certificate.signature_hash_algorithm)
    certificate.verify_directly_issued_by(certificate)

    revocations = crl(key, algorithm, revoked=3)
    assert revocations.is_signature_valid(public)  # type: ignore[arg-type]
    assert revocations.signature_hash_algorithm is not None
    verify(public, revocations.signature, revocations.tbs_certlist_bytes, revocations.signature_hash_algorithm)
    assert aws.calls["kms.Verify"] == 0


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ECDSA_P384, KeyAlgorithm.RSA2048])
def test_a_crl_larger_than_the_kms_message_limit_signs_because_only_its_digest_is_sent(
    keys: KmsCaKeys, aws: Aws, algorithm: KeyAlgorithm
) -> None:
    key_id = keys.create_key(algorithm, "Certwright CA big CRL")
    signs = aws.calls["kms.Sign"]
    revocations = crl(keys.signing_key(key_id, algorithm), algorithm, revoked=2000)
    assert len(revocations.tbs_certlist_bytes) > 4096
    assert len(list(revocations)) == 2000
    assert revocations.is_signature_valid(keys.public_key(key_id))  # type: ignore[arg-type]
    assert aws.calls["kms.Sign"] == signs + 1


def test_the_public_key_is_fetched_once_per_key(keys: KmsCaKeys, aws: Aws) -> None:
    key_id = keys.create_key(KeyAlgorithm.ECDSA_P256, "Certwright CA cache")
    first = keys.public_key(key_id)
    keys.signing_key(key_id, KeyAlgorithm.ECDSA_P256)
    assert keys.public_key(key_id) is first
    assert aws.calls["kms.GetPublicKey"] == 1


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA2048])
def test_a_disabled_key_is_reported_as_unusable(keys: KmsCaKeys, aws: Aws, algorithm: KeyAlgorithm) -> None:
    key_id = keys.create_key(algorithm, "Certwright CA disabled")
    key = keys.signing_key(key_id, algorithm)
    kms = aws.session.client("kms")
    kms.disable_key(KeyId=kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"])  # moto wants the bare id
    with pytest.raises(ConflictError) as caught:
        self_signed(key, algorithm)
    assert caught.value.code == "CaKeyUnusable"
    with pytest.raises(ConflictError) as for_crl:
        crl(key, algorithm, revoked=1)
    assert for_crl.value.code == "CaKeyUnusable"


def test_a_key_scheduled_for_deletion_is_reported_as_unusable(keys: KmsCaKeys, aws: Aws) -> None:
    key_id = keys.create_key(KeyAlgorithm.ECDSA_P256, "Certwright CA deleted")
    key = keys.signing_key(key_id, KeyAlgorithm.ECDSA_P256)
    keys.schedule_key_deletion(key_id)
    state = aws.session.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
    assert state == "PendingDeletion"
    with pytest.raises(ConflictError) as caught:
        self_signed(key, KeyAlgorithm.ECDSA_P256)
    assert caught.value.code == "CaKeyUnusable"


def test_kms_held_keys_refuse_to_be_exported(keys: KmsCaKeys) -> None:
    ec_key = keys.signing_key(keys.create_key(KeyAlgorithm.ECDSA_P256, "ec"), KeyAlgorithm.ECDSA_P256)
    rsa_key = keys.signing_key(keys.create_key(KeyAlgorithm.RSA2048, "rsa"), KeyAlgorithm.RSA2048)
    for key in (ec_key, rsa_key):
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        with pytest.raises(DependencyError):
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        with pytest.raises(DependencyError):
            key.private_numbers()


@pytest.mark.parametrize("digest", [hashes.SHA256(), hashes.SHA384(), hashes.SHA512()])
def test_a_kms_rsa_key_signs_pss_with_a_salt_as_long_as_the_hash(keys: KmsCaKeys, digest: hashes.HashAlgorithm) -> None:
    key = keys.signing_key(keys.create_key(KeyAlgorithm.RSA2048, "rsa"), KeyAlgorithm.RSA2048)
    assert isinstance(key, rsa.RSAPrivateKey)
    pss = padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH)
    signature = key.sign(b"data", pss, digest)
    # Verified with exactly that salt length: a maximum-length salt (moto's own) would not verify.
    key.public_key().verify(signature, b"data", padding.PSS(padding.MGF1(digest), digest.digest_size), digest)


@pytest.mark.parametrize(
    "pss",
    [
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH),
        padding.PSS(padding.MGF1(hashes.SHA256()), 20),
        padding.PSS(padding.MGF1(hashes.SHA384()), 32),  # MGF1 of another hash
    ],
)
def test_a_kms_rsa_key_refuses_pss_that_kms_cannot_make(keys: KmsCaKeys, pss: padding.PSS) -> None:
    key = keys.signing_key(keys.create_key(KeyAlgorithm.RSA2048, "rsa"), KeyAlgorithm.RSA2048)
    assert isinstance(key, rsa.RSAPrivateKey)
    with pytest.raises(DependencyError):
        key.sign(b"data", pss, hashes.SHA256())


# -- the vault -------------------------------------------------------------------------------------------


SECRET = b"-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----\n"


def test_sealed_keys_open_again_for_the_same_certificate_and_version(vault: KmsKeyVault) -> None:
    sealed = vault.seal(SECRET, "cert-1", 3)
    assert SECRET not in sealed
    assert b"not really a key" not in sealed
    assert vault.open(sealed, "cert-1", 3) == SECRET


@pytest.mark.parametrize(("certificate_id", "version"), [("cert-2", 3), ("cert-1", 4), ("cert-1", 33), ("", 3)])
def test_a_sealed_key_does_not_open_for_another_certificate_or_version(
    vault: KmsKeyVault, certificate_id: str, version: int
) -> None:
    sealed = vault.seal(SECRET, "cert-1", 3)
    with pytest.raises(CertwrightError) as caught:
        vault.open(sealed, certificate_id, version)
    assert SECRET.decode() not in str(caught.value)


def test_ciphertext_swapped_between_certificates_does_not_open(vault: KmsKeyVault) -> None:
    first = vault.seal(b"key of cert-1", "cert-1", 1)
    second = vault.seal(b"key of cert-2", "cert-2", 1)
    with pytest.raises(CertwrightError):
        vault.open(second, "cert-1", 1)
    with pytest.raises(CertwrightError):
        vault.open(first, "cert-2", 1)
    assert vault.open(first, "cert-1", 1) == b"key of cert-1"


@pytest.mark.parametrize(
    ("algorithm", "hash_algorithm"),
    [(KeyAlgorithm.RSA2048, hashes.SHA384()), (KeyAlgorithm.ECDSA_P384, hashes.SHA384())],
)
def test_a_prehashed_digest_is_signed_under_its_own_hash(
    keys: KmsCaKeys, algorithm: KeyAlgorithm, hash_algorithm: hashes.HashAlgorithm
) -> None:
    """A caller that hashed already (Prehashed) gets a signature that verifies over the message with that hash."""
    from cryptography.hazmat.primitives.asymmetric import utils

    key = keys.signing_key(keys.create_key(algorithm, "prehashed"), algorithm)
    message = b"to be signed elsewhere"
    digest = hashes.Hash(hash_algorithm)
    digest.update(message)
    prehashed = utils.Prehashed(hash_algorithm)
    if isinstance(key, KmsRsaSigningKey):
        signature = key.sign(digest.finalize(), padding.PKCS1v15(), prehashed)
        key.public_key().verify(signature, message, padding.PKCS1v15(), hash_algorithm)
    else:
        assert isinstance(key, KmsEcSigningKey)
        signature = key.sign(digest.finalize(), ec.ECDSA(prehashed))
        key.public_key().verify(signature, message, ec.ECDSA(hash_algorithm))
