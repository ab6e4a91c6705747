"""A small ACME client for the tests, written from RFC 8555 with `cryptography` only, over a pluggable transport
(the ACME edge called directly on the fakes, or HTTP to the local runtime)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

JOSE = "application/jose+json"
AccountKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


Send = Callable[[str, str, bytes | None, dict[str, str]], Reply]


def http_send(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - 127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            got: dict[str, list[str]] = {}
            for k, v in response.headers.items():
                got.setdefault(k.lower(), []).append(v)
            return Reply(response.status, got, response.read())
    except urllib.error.HTTPError as err:
        got = {}
        for k, v in err.headers.items():
            got.setdefault(k.lower(), []).append(v)
        return Reply(err.code, got, err.read())


def jwk_of(key: AccountKey) -> dict[str, str]:
    public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        crv = {256: "P-256", 384: "P-384"}[public.curve.key_size]
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64(numbers.x.to_bytes(size, "big")),
            "y": b64(numbers.y.to_bytes(size, "big")),
        }
    if isinstance(public, rsa.RSAPublicKey):
        n = public.public_numbers()
        return {
            "kty": "RSA",
            "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64(n.e.to_bytes(3, "big")),
        }
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}


def thumbprint(jwk: dict[str, str]) -> str:
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    text = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(text.encode()).digest())


def default_alg(key: AccountKey) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES384" if key.curve.key_size == 384 else "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    return "EdDSA"


def sign(key: AccountKey, alg: str, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        digest: hashes.HashAlgorithm = hashes.SHA384() if alg == "ES384" else hashes.SHA256()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(key, rsa.RSAPrivateKey):
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15() if alg == "RS256" else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        )
        return key.sign(data, pad, hashes.SHA256())
    return key.sign(data)


def jws(
    key: AccountKey,
    payload: Any,
    protected: dict[str, Any],
    *,
    alg: str | None = None,
) -> dict[str, str]:
    """A flattened JWS; `payload` None is POST-as-GET (empty payload), a dict is JSON."""
    header = {"alg": alg or default_alg(key), **protected}
    protected_b64 = b64(json.dumps(header).encode())
    payload_b64 = "" if payload is None else b64(json.dumps(payload).encode())
    signature = sign(key, header["alg"], f"{protected_b64}.{payload_b64}".encode())
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(signature)}


def eab_binding(kid: str, hmac_b64: str, account_jwk: dict[str, str], url: str) -> dict[str, str]:
    protected_b64 = b64(json.dumps({"alg": "HS256", "kid": kid, "url": url}).encode())
    payload_b64 = b64(json.dumps(account_jwk).encode())
    mac = hmac.new(unb64(hmac_b64), f"{protected_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    return {"protected": protected_b64, "payload": payload_b64, "signature": b64(mac)}


def csr_der(
    names: list[str], key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER), key


def csr_with_cn(names: list[str], key: ec.EllipticCurvePrivateKey) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    )
    builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@dataclass
class AcmeClient:
    directory_url: str
    send: Send
    key: AccountKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    kid: str | None = None
    _directory: dict[str, Any] | None = None
    _nonce: str | None = None

    @property
    def jwk(self) -> dict[str, str]:
        return jwk_of(self.key)

    @property
    def directory(self) -> dict[str, Any]:
        if self._directory is None:
            reply = self.send("GET", self.directory_url, None, {})
            assert reply.status == 200, reply.body
            self._directory = reply.json()
        return self._directory

    def nonce(self) -> str:
        if self._nonce is not None:
            nonce, self._nonce = self._nonce, None
            return nonce
        reply = self.send("HEAD", self.directory["newNonce"], None, {})
        assert reply.status == 200
        found = reply.header("Replay-Nonce")
        assert found
        return found

    def post(
        self,
        url: str,
        payload: Any,
        *,
        use_jwk: bool = False,
        key: AccountKey | None = None,
        header: dict[str, Any] | None = None,
    ) -> Reply:
        protected: dict[str, Any] = {"nonce": self.nonce(), "url": url}
        if use_jwk or self.kid is None:
            protected["jwk"] = jwk_of(key or self.key)
        else:
            protected["kid"] = self.kid
        protected.update(header or {})
        return self.raw_post(url, jws(key or self.key, payload, protected))

    def raw_post(self, url: str, body: Any, content_type: str = JOSE) -> Reply:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        reply = self.send("POST", url, data, {"Content-Type": content_type})
        self._nonce = reply.header("Replay-Nonce")
        return reply

    def new_account(self, eab: tuple[str, str] | None, **payload: Any) -> Reply:
        url = self.directory["newAccount"]
        body: dict[str, Any] = {"termsOfServiceAgreed": True, **payload}
        if eab is not None:
            body["externalAccountBinding"] = eab_binding(eab[0], eab[1], self.jwk, url)
        reply = self.post(url, body, use_jwk=True)
        if reply.status in (200, 201):
            self.kid = reply.header("Location")
        return reply

    def new_order(self, names: list[str], **extra: Any) -> Reply:
        return self.post(
            self.directory["newOrder"], {"identifiers": [{"type": "dns", "value": n} for n in names], **extra}
        )

    def get(self, url: str) -> Reply:
        return self.post(url, None)

    def key_authorization(self, token: str) -> str:
        return f"{token}.{thumbprint(self.jwk)}"
