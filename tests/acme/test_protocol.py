"""The pure ACME protocol module: JWS parsing and verification, JWK thumbprints, EAB, problems, ARI, orders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certwright.acme import ari, jws
from certwright.acme.problems import AcmeProblem
from certwright.acme.resources import FINALIZE_BOUND, Authorization, Challenge, Order, Status, normalize_identifiers
from certwright.ports.acme_challenges import ChallengeType
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from tests.acme.client import b64, eab_binding, jwk_of
from tests.acme.client import jws as sign_jws

URL = "https://acme.test/acme/ca-1/new-order"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _kind(body: Any, **parse: Any) -> str:
    with pytest.raises(AcmeProblem) as caught:
        parsed = jws.parse(json.dumps(body))
        jws.verify(parsed, jws.public_key(jws.canonical_jwk(parsed.jwk or {})))
    return caught.value.kind


KEYS = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "RS256": lambda: rsa.generate_private_key(65537, 2048),
    "PS256": lambda: rsa.generate_private_key(65537, 2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_each_supported_algorithm_verifies_and_a_changed_payload_does_not(alg: str) -> None:
    key = KEYS[alg]()
    body = sign_jws(key, {"x": 1}, {"nonce": "n", "url": URL, "jwk": jwk_of(key)}, alg=alg)
    parsed = jws.parse(json.dumps(body))
    jws.verify(parsed, jws.public_key(jws.canonical_jwk(parsed.jwk or {})))
    assert parsed.payload_json() == {"x": 1}
    body["payload"] = b64(b'{"x":2}')
    assert _kind(body) == "malformed"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512", ""])
def test_refused_algorithms(alg: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    body = sign_jws(key, {}, {"nonce": "n", "url": URL, "jwk": jwk_of(key)}, alg="ES256")
    header = {"alg": alg, "nonce": "n", "url": URL, "jwk": jwk_of(key)}
    body["protected"] = b64(json.dumps(header).encode())
    assert _kind(body) == ("malformed" if not alg else "badSignatureAlgorithm")


def test_an_algorithm_that_does_not_fit_the_key_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    body = sign_jws(key, {}, {"nonce": "n", "url": URL, "jwk": jwk_of(key)}, alg="ES384")
    header = {"alg": "ES256", "nonce": "n", "url": URL, "jwk": jwk_of(key)}
    body["protected"] = b64(json.dumps(header).encode())
    assert _kind(body) == "badSignatureAlgorithm"


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ({"nonce": "n", "url": URL}, "malformed"),  # neither jwk nor kid
        ({"nonce": "n", "url": URL, "kid": "k", "jwk": "JWK"}, "malformed"),  # both
        ({"url": URL, "jwk": "JWK"}, "badNonce"),
        ({"nonce": "n", "jwk": "JWK"}, "unauthorized"),  # no url
    ],
)
def test_header_rules(header: dict[str, Any], kind: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    header = {k: (jwk_of(key) if v == "JWK" else v) for k, v in header.items()}
    assert _kind(sign_jws(key, {}, header)) == kind


def test_only_the_flattened_serialization_with_unpadded_base64url() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    body = sign_jws(key, {}, {"nonce": "n", "url": URL, "jwk": jwk_of(key)})
    assert _kind({"payload": body["payload"], "signatures": [body]}) == "malformed"
    assert _kind({**body, "header": {"kid": "x"}}) == "malformed"
    assert _kind({**body, "signature": body["signature"] + "="}) == "malformed"
    for garbage in (b"", b"[]", b"{", "é".encode()):
        with pytest.raises(AcmeProblem, match=r"JSON|object") as caught:
            jws.parse(garbage)
        assert caught.value.kind == "malformed"


def test_rfc7638_thumbprint_example() -> None:
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
        "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jws.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert jws.key_authorization("tok", jwk) == "tok.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_private_jwk_or_a_weak_key_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(AcmeProblem) as private:
        jws.canonical_jwk({**jwk_of(key), "d": "secret"})
    assert private.value.kind == "badPublicKey" and "secret" not in str(private.value)
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key the server must refuse
    with pytest.raises(AcmeProblem) as small:
        jws.public_key(jwk_of(weak))
    assert small.value.kind == "badPublicKey"


def _binding(key: Any, hmac_key: str = b64(b"k" * 32), url: str = URL, bound: Any = None) -> jws.Jws:
    parsed = jws.eab_of({"externalAccountBinding": eab_binding("eab-1", hmac_key, bound or jwk_of(key), url)})
    assert parsed is not None
    return parsed


def test_eab_verifies_and_refuses_another_url_key_or_mac() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    secret = b"k" * 32
    jws.verify_eab(_binding(key), secret, jwk_of(key), URL)
    cases = {
        "url": (_binding(key, url=URL + "x"), secret),
        "key": (_binding(key, bound=jwk_of(ec.generate_private_key(ec.SECP256R1()))), secret),
        "mac": (_binding(key), b"x" * 32),
    }
    for name, (binding, hmac_key) in cases.items():
        with pytest.raises(AcmeProblem) as caught:
            jws.verify_eab(binding, hmac_key, jwk_of(key), URL)
        assert caught.value.kind == "unauthorized", name
    header = {"alg": "HS512", "kid": "eab-1", "url": URL}
    raw = {"protected": b64(json.dumps(header).encode()), "payload": b64(b"{}"), "signature": b64(b"x")}
    with pytest.raises(AcmeProblem) as wrong_alg:
        jws.eab_of({"externalAccountBinding": raw})
    assert wrong_alg.value.kind == "badSignatureAlgorithm"


def test_problem_documents() -> None:
    doc = AcmeProblem("badSignatureAlgorithm", "no", algorithms=("ES256",)).document()
    assert doc == {
        "type": "urn:ietf:params:acme:error:badSignatureAlgorithm",
        "detail": "no",
        "status": 400,
        "algorithms": ["ES256"],
    }
    assert AcmeProblem("orderNotReady", "x").status == 403
    assert AcmeProblem("unauthorized", "x").status == 403


def _certificate(aki: bytes, serial: int) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=90))
        .add_extension(x509.AuthorityKeyIdentifier(aki, None, None), critical=False)
        .sign(key, hashes.SHA256())
    )


def test_ari_cert_id_is_the_rfc9773_example() -> None:
    aki = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
    certificate = _certificate(aki, 0x87654321)
    assert ari.cert_id(certificate) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    parsed = ari.CertId.parse("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
    assert (parsed.key_identifier, parsed.serial) == (aki, 0x87654321)
    for bad in ("", "a", "a.b.c", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.gA", "!!.AIdlQyE"):
        with pytest.raises(AcmeProblem):
            ari.CertId.parse(bad)


def test_ari_windows() -> None:
    start, end = NOW, NOW + timedelta(days=90)
    normal = ari.suggested_window(start, end, NOW, renew_now=False)
    assert start + timedelta(days=60) == normal.start < normal.end == start + timedelta(days=75)
    urgent = ari.suggested_window(start, end, NOW, renew_now=True)
    assert urgent.start < urgent.end < NOW


def _authz(status: Status, expires: datetime = NOW + timedelta(days=1)) -> Authorization:
    return Authorization("z", "a", "www.example.com", expires, (Challenge(ChallengeType.HTTP_01, "t"),), status)


def test_order_state_machine() -> None:
    order = Order("o", "a", "ca", ("www.example.com",), ("z",), NOW + timedelta(days=1), NOW)
    assert order.advanced([_authz(Status.PENDING)], NOW).status is Status.PENDING
    ready = order.advanced([_authz(Status.VALID)], NOW)
    assert ready.status is Status.READY
    assert order.advanced([_authz(Status.INVALID)], NOW).status is Status.INVALID
    assert order.advanced([_authz(Status.PENDING, NOW)], NOW).status is Status.INVALID  # expired authorization
    with pytest.raises(AcmeProblem) as early:
        order.processing(NOW)
    assert early.value.kind == "orderNotReady"
    assert ready.processing(NOW).issued("cert-1", 1).status is Status.VALID
    # Processing for longer than any finalize takes: its finalize died (counted from when it began).
    later = NOW + timedelta(days=1)
    processing = ready.processing(later)
    assert processing.processing_since == later
    assert not processing.stuck(later + FINALIZE_BOUND - timedelta(seconds=1))
    assert processing.stuck(later + FINALIZE_BOUND)
    assert not ready.stuck(later + FINALIZE_BOUND) and not processing.issued("cert-1", 1).stuck(later + FINALIZE_BOUND)


def test_identifiers() -> None:
    raw = [{"type": "dns", "value": "B.example.com."}, {"type": "dns", "value": "a.example.com"}]
    assert normalize_identifiers(raw) == ("a.example.com", "b.example.com")
    with pytest.raises(AcmeProblem) as ip:
        normalize_identifiers([{"type": "ip", "value": "10.0.0.1"}])
    assert ip.value.kind == "unsupportedIdentifier"
    with pytest.raises(AcmeProblem):
        normalize_identifiers([])


@pytest.mark.parametrize("final", [Status.DEACTIVATED, Status.REVOKED, Status.INVALID, Status.VALID])
def test_a_decided_or_deactivated_authorization_keeps_its_state_whatever_a_late_challenge_says(final: Status) -> None:
    """The validator may finish after the client deactivated the authorization: its result must not revive it."""
    authorization = _authz(final)
    late = Challenge(ChallengeType.HTTP_01, "t", status=Status.VALID)
    assert authorization.with_challenge(late) == authorization
