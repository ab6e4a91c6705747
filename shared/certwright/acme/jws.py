"""ACME's JWS (RFC 8555 §6.2, RFC 7515 flattened JSON): parsing, the header rules, signature verification, JWK
thumbprints (RFC 7638) and External Account Binding (RFC 8555 §7.3.4). Every refusal is an AcmeProblem."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from certwright.acme.problems import AcmeProblem, malformed

# The algorithms accepted for account keys; "none", HS* and anything else are badSignatureAlgorithm.
ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
_EC = {"ES256": (ec.SECP256R1, hashes.SHA256, 32), "ES384": (ec.SECP384R1, hashes.SHA384, 48)}
_CURVES: dict[str, type[ec.EllipticCurve]] = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}
MIN_RSA_BITS = 2048
MAX_JWS_BYTES = 64 * 1024

AccountKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: object, what: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2); anything else is malformed."""
    if not isinstance(text, str) or "=" in text:
        raise malformed(f"{what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as err:
        raise malformed(f"{what} is not base64url") from err


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise malformed(f"{what} is not JSON") from err
    if not isinstance(value, dict):
        raise malformed(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True)
class Jws:
    """One flattened JWS as received: its protected header, payload bytes and signature, and what was signed."""

    protected: dict[str, Any]
    payload: bytes
    signature: bytes
    signing_input: bytes

    @property
    def alg(self) -> str:
        return str(self.protected.get("alg", ""))

    @property
    def url(self) -> str:
        return str(self.protected.get("url", ""))

    @property
    def nonce(self) -> str:
        return str(self.protected.get("nonce", ""))

    @property
    def kid(self) -> str | None:
        kid = self.protected.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def jwk(self) -> dict[str, Any] | None:
        jwk = self.protected.get("jwk")
        return jwk if isinstance(jwk, dict) else None

    @property
    def post_as_get(self) -> bool:
        return self.payload == b""

    def payload_json(self) -> dict[str, Any]:
        """The payload as a JSON object (an empty payload is POST-as-GET, refused here)."""
        if self.post_as_get:
            raise malformed("this request needs a JSON payload, not POST-as-GET")
        return _json_object(self.payload, "the JWS payload")


def parse(body: bytes | str) -> Jws:
    """A flattened JWS (the only serialization RFC 8555 §6.2 allows) with its header checked: `alg` one of
    ALGORITHMS, `nonce` and `url` present, exactly one of `jwk` and `kid`."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > MAX_JWS_BYTES:
        raise malformed("the JWS is too large")
    return _from_object(_json_object(raw, "the request body"), mode="outer")


def parse_inner(value: object) -> Jws:
    """The inner JWS of a keyChange (RFC 8555 §7.3.5): signed by the new key, given as `jwk`, no nonce."""
    if not isinstance(value, dict):
        raise malformed("the keyChange payload is not a JWS object")
    return _from_object(value, mode="inner")


def _from_object(outer: dict[str, Any], *, mode: str) -> Jws:
    if set(outer) - {"protected", "payload", "signature", "header"} or "signatures" in outer:
        raise malformed("the JWS must be in flattened JSON serialization")
    if "header" in outer:
        raise malformed("the JWS must not have an unprotected header")
    protected_b64, payload_b64, signature_b64 = (outer.get(k) for k in ("protected", "payload", "signature"))
    if not isinstance(protected_b64, str) or not isinstance(payload_b64, str) or not isinstance(signature_b64, str):
        raise malformed("the JWS needs protected, payload and signature strings")
    protected = _json_object(b64url_decode(protected_b64, "the protected header"), "the protected header")
    payload = b64url_decode(payload_b64, "the payload")
    signature = b64url_decode(signature_b64, "the signature")
    jws = Jws(protected, payload, signature, f"{protected_b64}.{payload_b64}".encode("ascii"))
    _check_header(jws, mode=mode)
    return jws


def _check_header(jws: Jws, *, mode: str) -> None:
    alg = jws.protected.get("alg")
    if not isinstance(alg, str) or not alg:
        raise malformed("the protected header has no alg")
    if mode == "inner":
        if alg not in ALGORITHMS:
            raise AcmeProblem("badSignatureAlgorithm", f"alg {alg!r} is not supported", algorithms=ALGORITHMS)
        if not isinstance(jws.protected.get("jwk"), dict) or "kid" in jws.protected:
            raise malformed("the inner keyChange JWS needs a jwk (the new key) and no kid")
        if "nonce" in jws.protected:
            raise malformed("the inner keyChange JWS must not carry a nonce")
    elif mode == "eab":
        if alg != "HS256":
            raise AcmeProblem(
                "badSignatureAlgorithm", "the external account binding must use HS256", algorithms=("HS256",)
            )
        if "nonce" in jws.protected:
            raise malformed("the external account binding must not carry a nonce")
        if not isinstance(jws.protected.get("kid"), str) or "jwk" in jws.protected:
            raise malformed("the external account binding needs a kid (the EAB key id) and no jwk")
    else:
        if alg not in ALGORITHMS:
            raise AcmeProblem("badSignatureAlgorithm", f"alg {alg!r} is not supported", algorithms=ALGORITHMS)
        if not isinstance(jws.protected.get("nonce"), str) or not jws.protected["nonce"]:
            raise AcmeProblem("badNonce", "the protected header has no nonce")
        has_jwk, has_kid = "jwk" in jws.protected, "kid" in jws.protected
        if has_jwk == has_kid:
            raise malformed("the protected header must have exactly one of jwk and kid")
        if has_jwk and not isinstance(jws.protected["jwk"], dict):
            raise malformed("jwk is not a JSON object")
        if has_kid and not isinstance(jws.protected["kid"], str):
            raise malformed("kid is not a string")
    if not isinstance(jws.protected.get("url"), str) or not jws.protected["url"]:
        raise AcmeProblem("unauthorized", "the protected header has no url")


def public_key(jwk: dict[str, Any]) -> AccountKey:
    """The public key a JWK describes (EC P-256/P-384, RSA >= 2048 bits, Ed25519); anything else badPublicKey."""
    kty = jwk.get("kty")
    try:
        if kty == "EC":
            curve = _CURVES.get(str(jwk.get("crv")))
            if curve is None:
                raise AcmeProblem("badPublicKey", f"curve {jwk.get('crv')!r} is not supported")
            x = int.from_bytes(b64url_decode(jwk.get("x"), "jwk x"), "big")
            y = int.from_bytes(b64url_decode(jwk.get("y"), "jwk y"), "big")
            return ec.EllipticCurvePublicNumbers(x, y, curve()).public_key()
        if kty == "RSA":
            n = int.from_bytes(b64url_decode(jwk.get("n"), "jwk n"), "big")
            e = int.from_bytes(b64url_decode(jwk.get("e"), "jwk e"), "big")
            key = rsa.RSAPublicNumbers(e, n).public_key()
            if key.key_size < MIN_RSA_BITS:
                raise AcmeProblem("badPublicKey", f"RSA keys need at least {MIN_RSA_BITS} bits")
            return key
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk.get("x"), "jwk x"))
    except ValueError as err:
        raise AcmeProblem("badPublicKey", "the JWK is not a valid public key") from err
    raise AcmeProblem("badPublicKey", f"key type {kty!r} is not supported")


def verify(jws: Jws, key: AccountKey) -> None:
    """Check the signature of `jws` with `key`; the algorithm must fit the key (badSignatureAlgorithm) and the
    signature must verify (malformed, as Boulder and pebble answer)."""
    alg = jws.alg
    try:
        if alg in _EC:
            curve, digest, size = _EC[alg]
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, curve):
                raise AcmeProblem("badSignatureAlgorithm", f"{alg} does not fit the account key", algorithms=ALGORITHMS)
            if len(jws.signature) != 2 * size:
                raise malformed("the JWS signature does not verify")
            r = int.from_bytes(jws.signature[:size], "big")
            s = int.from_bytes(jws.signature[size:], "big")
            key.verify(encode_dss_signature(r, s), jws.signing_input, ec.ECDSA(digest()))
        elif alg in ("RS256", "PS256"):
            if not isinstance(key, rsa.RSAPublicKey):
                raise AcmeProblem("badSignatureAlgorithm", f"{alg} does not fit the account key", algorithms=ALGORITHMS)
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if alg == "RS256"
                else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
            )
            key.verify(jws.signature, jws.signing_input, pad, hashes.SHA256())
        elif alg == "EdDSA":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise AcmeProblem("badSignatureAlgorithm", "EdDSA does not fit the account key", algorithms=ALGORITHMS)
            key.verify(jws.signature, jws.signing_input)
        else:
            raise AcmeProblem("badSignatureAlgorithm", f"alg {alg!r} is not supported", algorithms=ALGORITHMS)
    except InvalidSignature as err:
        raise malformed("the JWS signature does not verify") from err


def canonical_jwk(jwk: dict[str, Any]) -> dict[str, str]:
    """The required members of a public JWK (RFC 7638 §3.2), the form stored and compared."""
    kty = jwk.get("kty")
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}.get(str(kty))
    if members is None:
        raise AcmeProblem("badPublicKey", f"key type {kty!r} is not supported")
    if any(not isinstance(jwk.get(m), str) for m in members):
        raise AcmeProblem("badPublicKey", "the JWK lacks a required member")
    if "d" in jwk:
        raise AcmeProblem("badPublicKey", "the JWK holds a private key")
    return {m: str(jwk[m]) for m in members}


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url."""
    text = json.dumps(canonical_jwk(jwk), separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(text.encode("utf-8")).digest())


def key_authorization(token: str, jwk: dict[str, Any]) -> str:
    """token "." thumbprint (RFC 8555 §8.1)."""
    return f"{token}.{thumbprint(jwk)}"


def eab_of(payload: dict[str, Any]) -> Jws | None:
    """The externalAccountBinding of a newAccount payload, parsed and header-checked; None when absent."""
    binding = payload.get("externalAccountBinding")
    if binding is None:
        return None
    if not isinstance(binding, dict):
        raise malformed("externalAccountBinding is not a JWS object")
    return _from_object(binding, mode="eab")


def verify_eab(binding: Jws, hmac_key: bytes, account_jwk: dict[str, Any], url: str) -> None:
    """RFC 8555 §7.3.4: HS256 over the binding with the EAB key, its url the newAccount url, its payload the
    account's JWK. A mismatch is unauthorized; a bad MAC too."""
    if binding.url != url:
        raise AcmeProblem("unauthorized", "the external account binding's url is not the newAccount url")
    try:
        bound = _json_object(binding.payload, "the external account binding's payload")
        same_key = canonical_jwk(bound) == canonical_jwk(account_jwk)
    except AcmeProblem as err:
        raise AcmeProblem("malformed", "the external account binding's payload is not the account JWK") from err
    if not same_key:
        raise AcmeProblem("unauthorized", "the external account binding is for another account key")
    expected = hmac.new(hmac_key, binding.signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, binding.signature):
        raise AcmeProblem("unauthorized", "the external account binding's MAC does not verify")
