"""AWS KMS: CA signing keys as cryptography private-key objects, and the vault that seals leaf private keys."""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

from certwright.adapters.aws_errors import translate
from certwright.domain.keys import KeyAlgorithm
from certwright.errors import ConflictError, DependencyError, InvalidInputError

KEY_SPECS = {
    KeyAlgorithm.RSA2048: "RSA_2048",
    KeyAlgorithm.RSA3072: "RSA_3072",
    KeyAlgorithm.RSA4096: "RSA_4096",
    KeyAlgorithm.ECDSA_P256: "ECC_NIST_P256",
    KeyAlgorithm.ECDSA_P384: "ECC_NIST_P384",
}
_UNUSABLE_KEY = {"DisabledException", "KMSInvalidStateException", "NotFoundException"}
# What KMS answers for a key this service cannot see or may not use (the key policy or IAM said no).
_INACCESSIBLE_KEY = {"NotFoundException", "AccessDeniedException", "AccessDenied", "InvalidArnException"}


def _digest(data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
    return hashlib.new(algorithm.name, data).digest()


class _KmsSigner:
    """Calls KMS Sign with MessageType=DIGEST, so messages of any size (CRLs) can be signed."""

    def __init__(self, kms: Any, key_id: str, public: PublicKeyTypes) -> None:
        self._kms = kms
        self.key_id = key_id
        self._public = public

    def _sign_digest(self, digest: bytes, signing_algorithm: str) -> bytes:
        try:
            response = self._kms.sign(
                KeyId=self.key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=signing_algorithm
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in _UNUSABLE_KEY:
                raise ConflictError(f"CA key {self.key_id} is not usable", code="CaKeyUnusable") from err
            raise translate(err, "KMS Sign") from err
        except BotoCoreError as err:
            raise translate(err, "KMS Sign") from err
        return bytes(response["Signature"])

    def _refuse_export(self) -> NoReturn:
        raise DependencyError("a KMS-held CA key cannot be exported")


def _prehashed_with(prehashed: utils.Prehashed) -> hashes.HashAlgorithm:
    """The hash a caller's Prehashed digest was made with: the one read of a private attribute, because
    cryptography leaves no other way.

    `Prehashed` keeps its algorithm only as `_algorithm` (it publishes `digest_size` alone), and the size cannot
    tell SHA-256 from SHA3-256 or SHA-512/256; the KMS signing algorithm must name the hash (RSA PKCS#1 v1.5 puts
    its OID into the signature), so guessing from the size could sign a digest under the wrong name.
    """
    algorithm = prehashed._algorithm
    if not isinstance(algorithm, hashes.HashAlgorithm):
        raise DependencyError("a Prehashed digest without its hash algorithm cannot be signed by KMS")
    return algorithm


class KmsRsaSigningKey(_KmsSigner, rsa.RSAPrivateKey):
    def sign(
        self,
        data: bytes | bytearray | memoryview,
        padding: padding.AsymmetricPadding,
        algorithm: utils.Prehashed | hashes.HashAlgorithm | utils.NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, _PKCS1 | _PSS) or isinstance(algorithm, utils.NoDigestInfo):
            raise DependencyError("KMS-held RSA CA keys sign with PKCS#1 v1.5 or PSS over a digest only")
        hash_algorithm = _prehashed_with(algorithm) if isinstance(algorithm, utils.Prehashed) else algorithm
        digest = bytes(data) if isinstance(algorithm, utils.Prehashed) else _digest(bytes(data), hash_algorithm)
        if isinstance(padding, _PSS):
            _check_kms_pss(padding, hash_algorithm)
            return self._sign_digest(digest, f"RSASSA_PSS_{_kms_hash(hash_algorithm)}")
        return self._sign_digest(digest, f"RSASSA_PKCS1_V1_5_{_kms_hash(hash_algorithm)}")

    def public_key(self) -> rsa.RSAPublicKey:
        assert isinstance(self._public, rsa.RSAPublicKey)
        return self._public

    @property
    def key_size(self) -> int:
        return self.public_key().key_size

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        self._refuse_export()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        self._refuse_export()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._refuse_export()

    def __copy__(self) -> KmsRsaSigningKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> KmsRsaSigningKey:
        return self


class KmsEcSigningKey(_KmsSigner, ec.EllipticCurvePrivateKey):
    def sign(
        self, data: bytes | bytearray | memoryview, signature_algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise DependencyError("KMS-held EC CA keys sign with ECDSA only")
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, utils.Prehashed):
            return self._sign_digest(bytes(data), f"ECDSA_{_kms_hash(_prehashed_with(algorithm))}")
        return self._sign_digest(_digest(bytes(data), algorithm), f"ECDSA_{_kms_hash(algorithm)}")

    def public_key(self) -> ec.EllipticCurvePublicKey:
        assert isinstance(self._public, ec.EllipticCurvePublicKey)
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self.public_key().curve

    @property
    def key_size(self) -> int:
        return self.curve.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        self._refuse_export()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        self._refuse_export()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._refuse_export()

    def __copy__(self) -> KmsEcSigningKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> KmsEcSigningKey:
        return self


_PKCS1 = padding.PKCS1v15
_PSS = padding.PSS


def _check_kms_pss(pss: padding.PSS, hash_algorithm: hashes.HashAlgorithm) -> None:
    """KMS's RSASSA_PSS_* use MGF1 with the message hash and a salt as long as the hash; a PSS asking for
    anything else would get a signature its AlgorithmIdentifier misdescribes. Like `_prehashed_with`, this
    reads cryptography's private attributes (PSS and MGF1 publish neither the salt length nor the MGF hash)."""
    salt = getattr(pss, "_salt_length", None)
    mgf_hash = getattr(pss.mgf, "_algorithm", None)
    salt_ok = salt is padding.PSS.DIGEST_LENGTH or salt == hash_algorithm.digest_size
    if not (isinstance(pss.mgf, padding.MGF1) and salt_ok and getattr(mgf_hash, "name", None) == hash_algorithm.name):
        raise DependencyError("KMS signs RSA-PSS only with MGF1 of the same hash and a salt of the hash's length")


def _kms_hash(algorithm: hashes.HashAlgorithm) -> str:
    names = {"sha256": "SHA_256", "sha384": "SHA_384", "sha512": "SHA_512"}
    if algorithm.name not in names:
        raise DependencyError(f"KMS cannot sign with {algorithm.name}")
    return names[algorithm.name]


class KmsCaKeys:
    """CaKeyProvider on KMS: asymmetric SIGN_VERIFY keys, one per CA."""

    def __init__(self, kms: Any, tags: dict[str, str] | None = None) -> None:
        self._kms = kms
        self._tags = tags or {"certwright:purpose": "ca-signing"}
        self._public_keys: dict[str, PublicKeyTypes] = {}

    def create_key(self, algorithm: KeyAlgorithm, description: str) -> str:
        try:
            response = self._kms.create_key(
                KeyUsage="SIGN_VERIFY",
                KeySpec=KEY_SPECS[algorithm],
                Description=description[:8192],
                Tags=[{"TagKey": k, "TagValue": v} for k, v in self._tags.items()],
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS CreateKey") from err
        return str(response["KeyMetadata"]["Arn"])

    def adopt_key(self, key_id: str, algorithm: KeyAlgorithm) -> str:
        try:
            metadata = self._kms.describe_key(KeyId=key_id)["KeyMetadata"]
        except ClientError as err:
            raise _inaccessible(err, key_id, "DescribeKey") from err
        except BotoCoreError as err:
            raise translate(err, "KMS DescribeKey") from err
        arn = str(metadata["Arn"])
        spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec")
        if metadata.get("KeyUsage") != "SIGN_VERIFY":
            raise InvalidInputError(
                f"kmsKeyId: key {arn} has KeyUsage {metadata.get('KeyUsage')}, not SIGN_VERIFY",
                code="KmsKeyUsageInvalid",
            )
        if spec != KEY_SPECS[algorithm]:
            raise InvalidInputError(
                f"kmsKeyId: key {arn} is {spec}; keyAlgorithm {algorithm.value} needs {KEY_SPECS[algorithm]}",
                code="KmsKeySpecMismatch",
            )
        if metadata.get("KeyState") != "Enabled":
            raise ConflictError(
                f"kmsKeyId: key {arn} is {metadata.get('KeyState')}, not Enabled", code="KmsKeyNotEnabled"
            )
        try:
            der = self._kms.get_public_key(KeyId=arn)["PublicKey"]
        except ClientError as err:
            raise _inaccessible(err, key_id, "GetPublicKey") from err
        except BotoCoreError as err:
            raise translate(err, "KMS GetPublicKey") from err
        self._public_keys[arn] = serialization.load_der_public_key(bytes(der))
        return arn

    def public_key(self, key_id: str) -> PublicKeyTypes:
        cached = self._public_keys.get(key_id)
        if cached is None:
            try:
                der = self._kms.get_public_key(KeyId=key_id)["PublicKey"]
            except (ClientError, BotoCoreError) as err:
                raise translate(err, "KMS GetPublicKey") from err
            cached = self._public_keys[key_id] = serialization.load_der_public_key(bytes(der))
        return cached

    def signing_key(self, key_id: str, algorithm: KeyAlgorithm) -> CertificateIssuerPrivateKeyTypes:
        public = self.public_key(key_id)
        if algorithm.is_rsa:
            return KmsRsaSigningKey(self._kms, key_id, public)
        return KmsEcSigningKey(self._kms, key_id, public)

    def schedule_key_deletion(self, key_id: str) -> None:
        try:
            # A key ID is accepted everywhere an ARN is; pass the bare ID.
            self._kms.schedule_key_deletion(KeyId=key_id.rsplit("/", 1)[-1], PendingWindowInDays=7)
        except ClientError as err:
            # Idempotent: a key already scheduled (a retried deletion) or already gone is what was asked for.
            if err.response.get("Error", {}).get("Code") == "NotFoundException" or self._pending_deletion(key_id):
                return
            raise translate(err, "KMS ScheduleKeyDeletion") from err
        except BotoCoreError as err:
            raise translate(err, "KMS ScheduleKeyDeletion") from err

    def _pending_deletion(self, key_id: str) -> bool:
        try:
            state = self._kms.describe_key(KeyId=key_id.rsplit("/", 1)[-1])["KeyMetadata"].get("KeyState")
        except (ClientError, BotoCoreError):
            return False
        return bool(state == "PendingDeletion")


def _inaccessible(err: ClientError, key_id: str, operation: str) -> Exception:
    if err.response.get("Error", {}).get("Code") in _INACCESSIBLE_KEY:
        return InvalidInputError(
            f"kmsKeyId: key {key_id} does not exist or this service may not use it ({operation} refused); "
            "the key must carry the tag certwright:purpose=ca-signing and its policy must allow the stack's roles",
            code="KmsKeyNotAccessible",
        )
    return translate(err, f"KMS {operation}")


class KmsKeyVault:
    """KeyVault on one symmetric KMS key; the encryption context binds ciphertext to certificate and version."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    @staticmethod
    def _context(certificate_id: str, version_number: int) -> dict[str, str]:
        return {"certwright:certificateId": certificate_id, "certwright:versionNumber": str(version_number)}

    def seal(self, plaintext: bytes, certificate_id: str, version_number: int) -> bytes:
        try:
            response = self._kms.encrypt(
                KeyId=self._key_id,
                Plaintext=plaintext,
                EncryptionContext=self._context(certificate_id, version_number),
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS Encrypt") from err
        return bytes(response["CiphertextBlob"])

    def open(self, ciphertext: bytes, certificate_id: str, version_number: int) -> bytes:
        try:
            response = self._kms.decrypt(
                CiphertextBlob=ciphertext,
                KeyId=self._key_id,
                EncryptionContext=self._context(certificate_id, version_number),
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS Decrypt") from err
        return bytes(response["Plaintext"])
