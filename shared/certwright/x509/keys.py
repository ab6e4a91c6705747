"""Key pairs: which public keys are acceptable, and generating service-held keys."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes

from certwright.domain.keys import KeyAlgorithm
from certwright.domain.signing import SigningAlgorithm, default_signing_algorithm
from certwright.errors import InvalidInputError

_CURVES: dict[str, KeyAlgorithm] = {
    "secp256r1": KeyAlgorithm.ECDSA_P256,
    "secp384r1": KeyAlgorithm.ECDSA_P384,
}


def spki_fingerprint(public_key: PublicKeyTypes) -> str:
    """SHA-256 of the SubjectPublicKeyInfo (hex): how a key is recognised across certificates and CSRs."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


def key_algorithm_of(public_key: PublicKeyTypes, *, field: str = "key") -> KeyAlgorithm:
    """The KeyAlgorithm of an acceptable public key; weak or unusual keys are refused."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.public_numbers().e != 65537:
            raise InvalidInputError(f"{field}: RSA public exponent must be 65537", code="UnsupportedKey")
        if public_key.key_size not in (2048, 3072, 4096):
            raise InvalidInputError(
                f"{field}: RSA keys must be 2048, 3072 or 4096 bits (got {public_key.key_size})",
                code="UnsupportedKey",
            )
        return KeyAlgorithm(f"RSA{public_key.key_size}")
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        algorithm = _CURVES.get(public_key.curve.name)
        if algorithm is None:
            raise InvalidInputError(
                f"{field}: curve {public_key.curve.name} is not supported (P-256 or P-384)",
                code="UnsupportedKey",
            )
        return algorithm
    raise InvalidInputError(f"{field}: only RSA and ECDSA (P-256, P-384) keys are supported", code="UnsupportedKey")


def generate_private_key(algorithm: KeyAlgorithm) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if algorithm.is_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=algorithm.rsa_bits)
    curve = ec.SECP384R1() if algorithm is KeyAlgorithm.ECDSA_P384 else ec.SECP256R1()
    return ec.generate_private_key(curve)


def private_key_der(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_key_pem_from_der(der: bytes) -> str:
    key = serialization.load_der_private_key(der, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_key_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def hash_for(algorithm: KeyAlgorithm) -> hashes.SHA256 | hashes.SHA384:
    return hashes.SHA384() if algorithm.hash_name == "SHA384" else hashes.SHA256()


SignatureHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_HASHES: dict[str, type[SignatureHash]] = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}


def signature_parameters(
    key: KeyAlgorithm, algorithm: SigningAlgorithm | None
) -> tuple[SignatureHash, padding.PSS | padding.PKCS1v15 | None]:
    """The hash and (RSA) padding cryptography's builders sign with: RSA-PSS with MGF1 of the same hash and a
    salt as long as the hash (what KMS's RSASSA_PSS_* make), PKCS#1 v1.5 for the other RSA algorithms."""
    chosen = algorithm or default_signing_algorithm(key)
    digest = _HASHES[chosen.hash_name]()
    if chosen.is_pss:
        return digest, padding.PSS(mgf=padding.MGF1(_HASHES[chosen.hash_name]()), salt_length=padding.PSS.DIGEST_LENGTH)
    return digest, padding.PKCS1v15() if chosen.is_rsa else None
