"""Hostile and malformed input: every rejection is a 4xx with a stable code, and leaves no side effect behind.

"No side effect" means: no KMS key created, nothing signed, encrypted or decrypted, and not one item of the
certificates table or the idempotency table added, changed or removed.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.api.app import handle
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.api_events import api_event
from tests.conftest import Answer, ApiClient, Aws, Clock, Hierarchy, leaf_body, root_ca_body, sub_ca_body

# One embedded AWS, container and hierarchy for the whole module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

# -- the "rejected without side effect" assertion ------------------------------------------------------------

WATCHED_KMS_CALLS = ("kms.CreateKey", "kms.Sign", "kms.Encrypt", "kms.Decrypt", "kms.ScheduleKeyDeletion")


@dataclass(frozen=True)
class SideEffects:
    """Everything a request could change: the KMS calls that create or use keys, and every stored item."""

    kms: dict[str, int]
    keys: list[tuple[str, str]]
    items: list[str]


def _all_items(aws: Aws) -> list[dict[str, Any]]:
    idempotency = aws.table_items(aws.settings.idempotency_table_name)
    return aws.table_items() + idempotency


def side_effects(aws: Aws) -> SideEffects:
    items = _all_items(aws)
    keys = sorted((i.get("pk", i.get("id", {})).get("S", ""), i.get("sk", {}).get("S", "")) for i in items)
    canonical = sorted(json.dumps(i, sort_keys=True, default=lambda b: bytes(b).hex()) for i in items)
    return SideEffects({name: aws.calls[name] for name in WATCHED_KMS_CALLS}, keys, canonical)


def assert_rejected(aws: Aws, request: Callable[[], Answer], status: int, code: str) -> Answer:
    """Send `request`; it must answer `status` with `code` and leave KMS and both tables exactly as they were."""
    before = side_effects(aws)
    answer = request()
    assert (answer.status, (answer.body or {}).get("code")) == (status, code), answer.body
    assert set(answer.body) == {"code", "message"} and answer.body["message"], answer.body
    after = side_effects(aws)
    assert after.kms == before.kms, "a rejected request called KMS"
    assert after.keys == before.keys, "a rejected request added or removed items"
    assert after.items == before.items, "a rejected request changed stored items"
    return answer


# -- request builders -----------------------------------------------------------------------------------------


def csr_body(issuer_id: str, csr_pem: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "external",
        "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": issuer_id,
        "profile": "TLS_SERVER",
        "validityDuration": "P30D",
        "csrPem": csr_pem,
    }
    body.update(overrides)
    return body


def import_body(certificate_pem: str, chain_pem: str, private_key_pem: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "imported",
        "configType": "IMPORTED",
        "certificatePem": certificate_pem,
        "certChainPem": chain_pem,
        "privateKeyPem": private_key_pem,
    }
    body.update(overrides)
    return body


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(
    key: CertificateIssuerPrivateKeyTypes | None = None,
    *,
    subject: Iterable[tuple[x509.ObjectIdentifier, str]] = ((NameOID.COMMON_NAME, "csr.example.com"),),
    dns: Iterable[str] = ("csr.example.com",),
    extensions: Iterable[x509.ExtensionType] = (),
) -> str:
    key = key or p256()
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(oid, value) for oid, value in subject])
    )
    names = [x509.DNSName(n) for n in dns]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=isinstance(extension, x509.BasicConstraints))
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode("ascii")


def pem_of(der: bytes, label: str) -> str:
    text = base64.b64encode(der).decode("ascii")
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def der_of(pem: str) -> bytes:
    return x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER)


WEAK_RSA_BITS = 1024  # below the 2048-bit floor on purpose: the service must refuse it


def tampered_signature_csr() -> str:
    der = bytearray(der_of(make_csr()))
    der[-1] ^= 0x01  # the last byte of the DER is the last byte of the signature BIT STRING
    return pem_of(bytes(der), "CERTIFICATE REQUEST")


def san(value: str, kind: str = "DNS") -> dict[str, str]:
    return {"type": kind, "value": value}


# -- a local PKI for imports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_pem(self) -> str:
        return pem_of_key(self.key)


def pem_of_key(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    encryption: serialization.KeySerializationEncryption | None = None,
    private_format: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, private_format, encryption or serialization.NoEncryption()
    ).decode("ascii")


def issue_local(
    common_name: str,
    *,
    issuer: Issued | None = None,
    ca: bool,
    not_before: datetime,
    not_after: datetime,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
    dns: Iterable[str] = (),
) -> Issued:
    key = key or p256()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.certificate.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    names = [x509.DNSName(n) for n in dns]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signed = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(signed, key)


@dataclass(frozen=True)
class LocalPki:
    root: Issued
    leaf: Issued
    now: datetime

    def leaf_named(self, common_name: str, **kw: Any) -> Issued:
        window = {"not_before": self.now - timedelta(days=1), "not_after": self.now + timedelta(days=90)}
        return issue_local(common_name, issuer=self.root, ca=False, **(window | kw))


@pytest.fixture
def pki(clock: Clock) -> LocalPki:
    now = clock.now
    root = issue_local("Local Root", ca=True, not_before=now - timedelta(days=30), not_after=now + timedelta(days=3650))
    leaf = issue_local(
        "imported.example.com",
        issuer=root,
        ca=False,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=90),
        dns=["imported.example.com"],
    )
    return LocalPki(root, leaf, now)


# -- CAs the tests issue from ---------------------------------------------------------------------------------

CONSTRAINTS = {
    "permittedDnsSubtrees": ["example.com"],
    "excludedDnsSubtrees": ["secret.example.com"],
    "permittedIpSubtrees": ["10.0.0.0/8"],
}


@pytest.fixture
def constrained(api: ApiClient, hierarchy: Hierarchy) -> str:
    """An issuing CA limited to example.com (minus secret.example.com) and 10.0.0.0/8."""
    body = sub_ca_body(hierarchy.root["id"], name="constrained", rules={"nameConstraint": CONSTRAINTS})
    created = api.post("/certificate-authorities", body)
    assert created.status == 201, created.body
    return str(created.body["id"])


@pytest.fixture
def ruled(api: ApiClient, hierarchy: Hierarchy) -> str:
    """An issuing CA whose rule caps leaf validity at 30 days."""
    body = sub_ca_body(hierarchy.root["id"], name="ruled", rules={"leafCertificateMaxValidityDuration": "P30D"})
    created = api.post("/certificate-authorities", body)
    assert created.status == 201, created.body
    return str(created.body["id"])


# -- the helper itself ----------------------------------------------------------------------------------------


def test_the_helper_notices_a_side_effect(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    with pytest.raises(AssertionError):
        assert_rejected(aws, lambda: api.post("/certificates", leaf_body(hierarchy.issuing["id"])), 201, "x")
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    with pytest.raises(AssertionError, match="a rejected request"):
        # A change made on the way to an error answer (here: an audited rename) is caught too.
        assert_rejected(aws, lambda: _rename_then_fail(api, cert_id), 400, "InvalidParameter")


def _rename_then_fail(api: ApiClient, cert_id: str) -> Answer:
    assert api.call("PATCH", f"/certificates/{cert_id}", {"name": "renamed"}).status == 200
    return api.call("PATCH", f"/certificates/{cert_id}", {})


# -- malformed, oversized, unknown fields, wrong types, missing fields, bad enums -----------------------------

ROUTES_WITH_BODIES = ["/certificate-authorities", "/certificates", "/associations"]


@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
@pytest.mark.parametrize(
    "raw",
    ['{"name": ', "{'name': 'single quotes'}", '{"name": "x",}', "not json at all", '{"name": "x"} {"name": "y"}'],
)
def test_invalid_json_is_refused(api: ApiClient, aws: Aws, path: str, raw: str) -> None:
    assert_rejected(aws, lambda: api.post(path, raw), 400, "InvalidJson")


@pytest.mark.parametrize("raw", ["[]", "null", "42", '"a string"', '[{"name": "x"}]'])
def test_a_body_that_is_not_an_object_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, raw: str) -> None:
    assert_rejected(aws, lambda: api.post("/certificates", raw), 400, "InvalidParameter")


@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
def test_a_body_over_64_kib_is_refused_with_413(api: ApiClient, aws: Aws, hierarchy: Hierarchy, path: str) -> None:
    body = json.dumps(leaf_body(hierarchy.issuing["id"], description="x" * 70_000))
    assert_rejected(aws, lambda: api.post(path, body), 413, "PayloadTooLarge")


def test_the_size_limit_counts_bytes_not_characters(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    # 30,000 characters, 90,000 bytes in UTF-8.
    body = json.dumps(leaf_body(hierarchy.issuing["id"], description="€" * 30_000), ensure_ascii=False)
    assert len(body) < 64 * 1024 < len(body.encode())
    assert_rejected(aws, lambda: api.post("/certificates", body), 413, "PayloadTooLarge")


def test_the_size_limit_is_exactly_64_kib(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    def body_of(size: int) -> str:
        text = json.dumps(leaf_body(hierarchy.issuing["id"], description=""))
        return text[:-1] + " " * (size - len(text)) + "}"

    at_limit, over_limit = body_of(64 * 1024), body_of(64 * 1024 + 1)
    assert (len(at_limit), len(over_limit)) == (65536, 65537)
    assert api.post("/certificates", at_limit).status == 201
    assert_rejected(aws, lambda: api.post("/certificates", over_limit), 413, "PayloadTooLarge")


def _ca(**overrides: Any) -> dict[str, Any]:
    return root_ca_body(**overrides)


def _without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


def _subject(**overrides: Any) -> dict[str, Any]:
    return {"commonName": "www.example.com", "organization": "Certwright"} | overrides


UNKNOWN_FIELDS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("/certificate-authorities", lambda _: _ca(color="blue")),
    ("/certificate-authorities", lambda _: _ca(subject={"commonName": "Root", "userId": "pki"})),
    ("/certificate-authorities", lambda _: _ca(rules={"pathLengthConstraint": 1, "maxPathLen": 3})),
    ("/certificate-authorities", lambda _: _ca(rules={"nameConstraint": {"permittedDirectorySubtrees": ["x"]}})),
    ("/certificates", lambda ca: leaf_body(ca, isCa=True)),
    ("/certificates", lambda ca: leaf_body(ca, subject=_subject(businessCategory="1"))),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames=[san("a.example.com") | {"critical": "y"}])),
    (
        "/certificates",
        lambda ca: leaf_body(ca, renewalRule={"renewalInterval": "P10D", "advanceRenewalPeriod": "P5D", "jitter": 1}),
    ),
    ("/associations", lambda _: {"certificateId": "cert-x", "associatedResourceId": "arn:x", "force": True}),
]


@pytest.mark.parametrize(("path", "body"), UNKNOWN_FIELDS)
def test_unknown_fields_are_refused_at_any_depth(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, path: str, body: Callable[[str], dict[str, Any]]
) -> None:
    answer = assert_rejected(aws, lambda: api.post(path, body(hierarchy.issuing["id"])), 400, "UnknownField")
    assert answer.body["message"].startswith("unknown field: ")


WRONG_TYPES: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("/certificate-authorities", lambda _: _ca(name=123)),
    ("/certificate-authorities", lambda _: _ca(subject="CN=Root")),
    ("/certificate-authorities", lambda _: _ca(validityDuration=3650)),
    ("/certificate-authorities", lambda _: _ca(rules={"pathLengthConstraint": "two"})),
    ("/certificate-authorities", lambda _: _ca(rules={"nameConstraint": {"permittedDnsSubtrees": "example.com"}})),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames="www.example.com")),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames=[{"type": "DNS", "value": 5}])),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames=["www.example.com"])),
    ("/certificates", lambda ca: leaf_body(ca, subject=["www.example.com"])),
    ("/certificates", lambda ca: leaf_body(ca, csrPem={"pem": "x"})),
    ("/certificates", lambda ca: leaf_body(ca, issuerCertificateAuthorityId=[ca])),
    ("/associations", lambda ca: {"certificateId": "cert-x", "associatedResourceId": "arn:x", "hostnames": "a.com"}),
]


@pytest.mark.parametrize(("path", "body"), WRONG_TYPES)
def test_wrong_types_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, path: str, body: Callable[[str], dict[str, Any]]
) -> None:
    assert_rejected(aws, lambda: api.post(path, body(hierarchy.issuing["id"])), 400, "InvalidParameter")


MISSING_FIELDS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("/certificate-authorities", lambda _: _without(_ca(), "name")),
    ("/certificate-authorities", lambda _: _without(_ca(), "subject")),
    ("/certificate-authorities", lambda _: _without(_ca(), "configType")),
    ("/certificate-authorities", lambda _: _ca(subject={"organization": "Certwright"})),
    ("/certificate-authorities", lambda _: _without(sub_ca_body("x"), "issuerCertificateAuthorityId")),
    ("/certificates", lambda ca: _without(leaf_body(ca), "name")),
    ("/certificates", lambda ca: _without(leaf_body(ca), "configType")),
    ("/certificates", lambda ca: _without(leaf_body(ca), "issuerCertificateAuthorityId")),
    ("/certificates", lambda ca: _without(leaf_body(ca), "profile")),
    ("/certificates", lambda ca: _without(leaf_body(ca), "subject")),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames=[{"type": "DNS"}])),
    ("/certificates", lambda ca: leaf_body(ca, renewalRule={"renewalInterval": "P10D"})),
    ("/certificates", lambda ca: leaf_body(ca, configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA")),
    ("/certificates", lambda ca: import_body("", "", "", certificatePem=None)),
    ("/associations", lambda _: {"associatedResourceId": "arn:aws:iam::123456789012:role/web-host"}),
    ("/associations", lambda _: {}),
]


@pytest.mark.parametrize(("path", "body"), MISSING_FIELDS)
def test_missing_required_fields_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, path: str, body: Callable[[str], dict[str, Any]]
) -> None:
    assert_rejected(aws, lambda: api.post(path, body(hierarchy.issuing["id"])), 400, "InvalidParameter")


BAD_ENUMS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("/certificate-authorities", lambda _: _ca(configType="SELF_SIGNED")),
    ("/certificate-authorities", lambda _: _ca(keyAlgorithm="RSA1024")),
    ("/certificate-authorities", lambda _: _ca(keyAlgorithm="ecdsa_p256")),
    ("/certificate-authorities", lambda _: _ca(keyAlgorithm="ED25519")),
    ("/certificates", lambda ca: leaf_body(ca, configType="ISSUED_BY_EXTERNAL_CA")),
    ("/certificates", lambda ca: leaf_body(ca, profile="EMAIL_PROTECTION")),
    ("/certificates", lambda ca: leaf_body(ca, keyAlgorithm="ECDSA_P521")),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames=[san("pki@example.com", "RFC822")])),
    ("/certificates", lambda ca: leaf_body(ca, subjectAlternativeNames=[san("https://example.com", "URL")])),
]


@pytest.mark.parametrize(("path", "body"), BAD_ENUMS)
def test_bad_enum_values_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, path: str, body: Callable[[str], dict[str, Any]]
) -> None:
    assert_rejected(aws, lambda: api.post(path, body(hierarchy.issuing["id"])), 400, "InvalidParameter")


@pytest.mark.parametrize(
    "body",
    [{"stage": "LATEST"}, {"stage": "current"}, {"stage": "PENDING", "extra": 1}, {"validityDuration": 30}],
)
def test_a_new_version_with_a_bad_body_is_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, body: dict[str, Any]
) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    code = "UnknownField" if "extra" in body else "InvalidParameter"
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions", body), 400, code)


@pytest.mark.parametrize(
    "query",
    [
        "includePrivateKey=maybe",
        "includePrivateKey=1",
        "versionNumber=abc",
        "versionNumber=0",
        "versionNumber=-1",
        "stage=NEWEST",
    ],
)
def test_bad_query_parameters_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, query: str) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    assert_rejected(aws, lambda: api.get(f"/certificates/{cert_id}/bundle?{query}"), 400, "InvalidParameter")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=ten", "limit=-5", "page=%%%not-base64", "page=bm90LXNlYWxlZA"]
)
def test_bad_paging_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, query: str) -> None:
    # A token outside base64url's alphabet is refused by the schema; a well-formed one this service did not seal
    # for the caller is refused when opened.
    code = "InvalidPageToken" if query == "page=bm90LXNlYWxlZA" else "InvalidParameter"
    assert_rejected(aws, lambda: api.get(f"/certificates?{query}"), 400, code)


# -- CSRs -------------------------------------------------------------------------------------------------------


def _garbage_after_pem() -> str:
    return make_csr() + "garbage after the PEM block\n"


def _garbage_before_pem() -> str:
    return "Subject: csr.example.com\n" + make_csr()


def _trailing_bytes_inside_der() -> str:
    return pem_of(der_of(make_csr()) + b"\x00\x00", "CERTIFICATE REQUEST")


def _bad_base64() -> str:
    return "-----BEGIN CERTIFICATE REQUEST-----\nMIIB$$$$\n-----END CERTIFICATE REQUEST-----\n"


def _not_der() -> str:
    return pem_of(b"this is not DER at all", "CERTIFICATE REQUEST")


def _certificate_instead(pki_now: datetime) -> str:
    return issue_local("csr.example.com", ca=False, not_before=pki_now, not_after=pki_now + timedelta(days=1)).pem


def _private_key_instead() -> str:
    return pem_of_key(p256())


CSR_CASES: list[tuple[str, Callable[[], str], str]] = [
    ("not a PEM document", lambda: "hello, I am a certificate request", "InvalidParameter"),
    ("empty", lambda: "   ", "InvalidParameter"),
    ("a certificate", lambda: _certificate_instead(datetime(2030, 1, 1)), "InvalidParameter"),
    ("a private key", _private_key_instead, "InvalidParameter"),
    ("garbage after the PEM", _garbage_after_pem, "InvalidParameter"),
    ("garbage before the PEM", _garbage_before_pem, "InvalidParameter"),
    ("two CSRs", lambda: make_csr() + make_csr(), "InvalidParameter"),
    ("bad base64", _bad_base64, "InvalidParameter"),
    ("not DER inside", _not_der, "InvalidCsr"),
    ("trailing bytes inside the DER", _trailing_bytes_inside_der, "InvalidCsr"),
    ("a tampered signature", tampered_signature_csr, "InvalidCsr"),
    (
        "RSA 1024",
        lambda: make_csr(rsa.generate_private_key(public_exponent=65537, key_size=WEAK_RSA_BITS)),
        "UnsupportedKey",
    ),
    ("RSA e=3", lambda: make_csr(rsa.generate_private_key(public_exponent=3, key_size=2048)), "UnsupportedKey"),
    ("P-521", lambda: make_csr(ec.generate_private_key(ec.SECP521R1())), "UnsupportedKey"),
    ("secp256k1", lambda: make_csr(ec.generate_private_key(ec.SECP256K1())), "UnsupportedKey"),
    ("Ed25519", lambda: make_csr(ed25519.Ed25519PrivateKey.generate()), "UnsupportedKey"),
    ("basicConstraints cA", lambda: make_csr(extensions=[x509.BasicConstraints(True, None)]), "CsrRequestsCaPowers"),
    (
        "keyUsage keyCertSign",
        lambda: make_csr(extensions=[_key_usage(key_cert_sign=True)]),
        "CsrRequestsCaPowers",
    ),
    ("keyUsage cRLSign", lambda: make_csr(extensions=[_key_usage(crl_sign=True)]), "CsrRequestsCaPowers"),
    (
        "nameConstraints",
        lambda: make_csr(extensions=[x509.NameConstraints([x509.DNSName("example.com")], None)]),
        "CsrRequestsCaPowers",
    ),
    (
        "EKU codeSigning for TLS_SERVER",
        lambda: make_csr(extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING])]),
        "CsrExtendedKeyUsageNotAllowed",
    ),
    (
        "EKU serverAuth and clientAuth for TLS_SERVER",
        lambda: make_csr(
            extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])]
        ),
        "CsrExtendedKeyUsageNotAllowed",
    ),
    (
        "EKU anyExtendedKeyUsage",
        lambda: make_csr(extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])]),
        "CsrExtendedKeyUsageNotAllowed",
    ),
    (
        "an e-mail SAN for a server-only profile",
        lambda: make_csr(extensions=[x509.SubjectAlternativeName([x509.RFC822Name("pki@example.com")])], dns=()),
        "SanNotAllowedForProfile",
    ),
    (
        "an unsupported subject attribute",
        lambda: make_csr(
            subject=[(NameOID.COMMON_NAME, "csr.example.com"), (NameOID.BUSINESS_CATEGORY, "Private Organization")]
        ),
        "InvalidCsr",
    ),
    (
        "a repeated subject attribute",
        lambda: make_csr(subject=[(NameOID.COMMON_NAME, "csr.example.com"), (NameOID.COMMON_NAME, "b.example.com")]),
        "InvalidCsr",
    ),
    (
        "a bidi override in the organization",
        lambda: make_csr(subject=[(NameOID.COMMON_NAME, "csr.example.com"), (NameOID.ORGANIZATION_NAME, "Acme\u202e")]),
        "InvalidParameter",
    ),
    (
        "a CR/LF in the commonName",
        lambda: make_csr(subject=[(NameOID.COMMON_NAME, "csr.example.com\r\nX-Injected: 1")]),
        "InvalidParameter",
    ),
    (
        "a bad last SAN",
        lambda: make_csr(dns=["csr.example.com", "b.example.com", "*.*.example.com"]),
        "InvalidParameter",
    ),
    (
        "a duplicate last SAN",
        lambda: make_csr(dns=["csr.example.com", "b.example.com", "CSR.example.com"]),
        "InvalidParameter",
    ),
]


def _key_usage(*, key_cert_sign: bool = False, crl_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def test_a_good_csr_is_accepted(api: ApiClient, hierarchy: Hierarchy) -> None:
    """The control for the CSR cases below: the same body with a well-formed CSR is issued."""
    extensions = [_key_usage(), x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])]
    created = api.post("/certificates", csr_body(hierarchy.issuing["id"], make_csr(extensions=extensions)))
    assert created.status == 201, created.body
    assert created.body["subjectAlternativeNames"] == [san("csr.example.com")]


@pytest.mark.parametrize(("case", "csr", "code"), CSR_CASES, ids=[c[0] for c in CSR_CASES])
def test_bad_csrs_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, case: str, csr: Callable[[], str], code: str
) -> None:
    body = csr_body(hierarchy.issuing["id"], csr())
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, code)


def test_a_new_version_with_a_bad_csr_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", csr_body(hierarchy.issuing["id"], make_csr())).body["id"]
    for csr, code in [
        (tampered_signature_csr(), "InvalidCsr"),
        (make_csr(extensions=[x509.BasicConstraints(True, 0)]), "CsrRequestsCaPowers"),
        (make_csr(ec.generate_private_key(ec.SECP521R1())), "UnsupportedKey"),
    ]:
        assert_rejected(aws, lambda c=csr: api.post(f"/certificates/{cert_id}/versions", {"csrPem": c}), 400, code)
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions", {}), 400, "InvalidParameter")


def test_a_csr_whose_key_contradicts_key_algorithm_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    body = csr_body(hierarchy.issuing["id"], make_csr(), keyAlgorithm="ECDSA_P384")
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")


def test_a_csr_on_a_service_keyed_certificate_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    body = leaf_body(hierarchy.issuing["id"], csrPem=make_csr())
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")


# -- names ------------------------------------------------------------------------------------------------------

OUTSIDE_CONSTRAINTS = [
    san("www.example.org"),
    san("www.notexample.com"),
    san("example.com.evil.org"),
    san("secret.example.com"),
    san("db.secret.example.com"),
    san("*.secret.example.com"),
    san("192.168.1.10", "IP"),
    san("11.0.0.1", "IP"),
    san("::1", "IP"),
    san("::ffff:10.0.0.1", "IP"),
]


def test_names_inside_the_constraints_are_issued(api: ApiClient, constrained: str) -> None:
    names = [san("www.example.com"), san("*.api.example.com"), san("10.1.2.3", "IP"), san("example.com")]
    created = api.post("/certificates", leaf_body(constrained, subjectAlternativeNames=names))
    assert created.status == 201, created.body


@pytest.mark.parametrize("outside", OUTSIDE_CONSTRAINTS, ids=[n["value"] for n in OUTSIDE_CONSTRAINTS])
def test_sans_outside_the_name_constraints_are_refused(
    api: ApiClient, aws: Aws, constrained: str, outside: dict[str, str]
) -> None:
    body = leaf_body(constrained, subjectAlternativeNames=[san("www.example.com"), outside])
    answer = assert_rejected(aws, lambda: api.post("/certificates", body), 422, "NameConstraintViolation")
    shown = str(ipaddress.ip_address(outside["value"])) if outside["type"] == "IP" else outside["value"]
    assert shown in answer.body["message"]


def test_a_host_name_common_name_is_held_to_the_constraints(api: ApiClient, aws: Aws, constrained: str) -> None:
    body = leaf_body(constrained, subject=_subject(commonName="www.example.net"), subjectAlternativeNames=[])
    assert_rejected(aws, lambda: api.post("/certificates", body), 422, "NameConstraintViolation")


def test_a_csr_name_outside_the_constraints_is_refused(api: ApiClient, aws: Aws, constrained: str) -> None:
    csr = make_csr(dns=["csr.example.com", "a.example.com", "intranet.corp.local"])
    assert_rejected(aws, lambda: api.post("/certificates", csr_body(constrained, csr)), 422, "NameConstraintViolation")


def test_constraints_of_an_ancestor_bind_its_descendants(api: ApiClient, aws: Aws, constrained: str) -> None:
    below = api.post("/certificate-authorities", sub_ca_body(constrained, name="below", validityDuration="P2Y"))
    assert below.status == 201, below.body
    body = leaf_body(below.body["id"], subjectAlternativeNames=[san("www.example.com"), san("www.example.org")])
    assert_rejected(aws, lambda: api.post("/certificates", body), 422, "NameConstraintViolation")


BAD_DNS_NAMES = [
    "*.*.example.com",
    "a*.example.com",
    "*a.example.com",
    "www.*.example.com",
    "*.com",
    "*",
    "xn--zz.example.com",
    "xn--a.example.com",
    "xn--pypal-4ve.example.com",  # "p\u0430ypal": a Cyrillic small a among Latin letters
    "xn--ls8h.example.com",  # an emoji
    "xn--bcher-2pa.example.com",  # "bÜcher": an upper-case U-label is not a valid A-label
    "xn---bbb.example.com",  # decodes to U+056D, whose one true A-label is xn--bbb
    "ab--cd.example.com",
    "bücher.example.com",
    "www.ex\u0430mple.com",  # a Cyrillic small a, not converted to an A-label
    "localhost",
    "a..example.com",
    ".example.com",
    "-www.example.com",
    "www-.example.com",
    "under_score.example.com",
    "www.example.123",
    "10.0.0.1",
    "a" * 64 + ".example.com",
    "www example.com",
    "www.example.com\x00.evil.org",
    "www.example.com\r\n",
]


@pytest.mark.parametrize("name", BAD_DNS_NAMES)
def test_bad_dns_names_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, name: str) -> None:
    body = leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=[san(name)])
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")


def test_a_mixed_script_label_is_named_in_the_refusal(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    spoof = "xn--" + "p\u0430ypal".encode("punycode").decode("ascii")
    assert spoof == "xn--pypal-4ve"
    body = leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=[san(f"{spoof}.example.com")])
    answer = assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")
    assert "mixes scripts" in answer.body["message"]


def test_a_valid_idn_is_accepted(api: ApiClient, hierarchy: Hierarchy) -> None:
    """The control for the IDN cases: a lower-case, single-script A-label ("bücher") is fine."""
    body = leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=[san("xn--bcher-kva.example.com")])
    assert api.post("/certificates", body).status == 201


@pytest.mark.parametrize("address", ["10.0.0.256", "010.0.0.1", "10.0.0.0/8", "1.2.3", "fe80::1%eth0", "::g"])
def test_bad_ip_addresses_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, address: str) -> None:
    body = leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=[san(address, "IP")])
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")


CONTROL_CHARACTERS = {
    "NUL": "\x00",
    "CR/LF": "\r\n",
    "LF": "\n",
    "TAB": "\t",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "bidi override U+202E": "\u202e",
    "bidi isolate U+2067": "\u2067",
    "zero-width space U+200B": "\u200b",
    "line separator U+2028": "\u2028",
}
SUBJECT_FIELDS = ["commonName", "organization", "organizationalUnit", "locality", "stateOrProvince"]


@pytest.mark.parametrize("char", list(CONTROL_CHARACTERS.values()), ids=list(CONTROL_CHARACTERS))
def test_control_characters_in_any_subject_field_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, char: str
) -> None:
    for field in SUBJECT_FIELDS:
        body = leaf_body(hierarchy.issuing["id"], subject=_subject(**{field: f"Acme{char}Corp"}))
        answer = assert_rejected(aws, lambda b=body: api.post("/certificates", b), 400, "InvalidParameter")
        assert f"subject.{field}" in answer.body["message"]


@pytest.mark.parametrize("char", ["\x00", "\r\n", "\u202e"], ids=["NUL", "CR/LF", "U+202E"])
def test_control_characters_in_a_ca_subject_create_no_key(api: ApiClient, aws: Aws, char: str) -> None:
    body = root_ca_body(subject={"commonName": f"Evil{char}Root", "organization": "Certwright"})
    assert_rejected(aws, lambda: api.post("/certificate-authorities", body), 400, "InvalidParameter")


@pytest.mark.parametrize(
    "subject",
    [
        {"commonName": ""},
        {"commonName": "   "},
        {"commonName": " www.example.com"},
        {"commonName": "www.example.com "},
        {"commonName": "x" * 65},
        {"commonName": "www.example.com", "organization": ""},
        {"commonName": "www.example.com", "country": "usa"},
        {"commonName": "www.example.com", "country": "us"},
        {"commonName": "www.example.com", "country": "U1"},
    ],
)
def test_empty_or_malformed_subjects_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, subject: dict[str, str]
) -> None:
    body = leaf_body(hierarchy.issuing["id"], subject=subject)
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")
    ca = sub_ca_body(hierarchy.root["id"], subject=subject)
    assert_rejected(aws, lambda: api.post("/certificate-authorities", ca), 400, "InvalidParameter")


def test_more_than_100_sans_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    names = [san(f"host{i}.example.com") for i in range(101)]
    body = leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=names)
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")


@pytest.mark.parametrize(
    ("first", "again"),
    [
        (san("www.example.com"), san("www.example.com")),
        (san("www.example.com"), san("WWW.Example.COM")),
        (san("www.example.com"), san("www.example.com.")),
        (san("2001:db8::1", "IP"), san("2001:0db8:0:0:0:0:0:1", "IP")),
        (san("10.0.0.1", "IP"), san("10.0.0.1", "IP")),
    ],
)
def test_duplicate_sans_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, first: dict[str, str], again: dict[str, str]
) -> None:
    body = leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=[first, san("api.example.com"), again])
    answer = assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")
    assert "duplicates" in answer.body["message"]


LAST_BAD = [
    (san("a*.example.com"), 400, "InvalidParameter"),
    (san("xn--pypal-4ve.example.com"), 400, "InvalidParameter"),
    (san("www.example.com\x00"), 400, "InvalidParameter"),
    (san("10.0.0.256", "IP"), 400, "InvalidParameter"),
    (san("HOST0.example.com"), 400, "InvalidParameter"),
    (san("www.example.org"), 422, "NameConstraintViolation"),
    (san("db.secret.example.com"), 422, "NameConstraintViolation"),
    (san("192.168.0.1", "IP"), 422, "NameConstraintViolation"),
]


@pytest.mark.parametrize(("last", "status", "code"), LAST_BAD, ids=[repr(b[0]["value"]) for b in LAST_BAD])
def test_every_name_is_checked_even_when_only_the_last_is_bad(
    api: ApiClient, aws: Aws, constrained: str, last: dict[str, str], status: int, code: str
) -> None:
    good = [san(f"host{i}.example.com") for i in range(30)] + [san(f"10.0.0.{i}", "IP") for i in range(1, 20)]
    body = leaf_body(constrained, subjectAlternativeNames=[*good, last])
    answer = assert_rejected(aws, lambda: api.post("/certificates", body), status, code)
    if status == 400:
        assert f"subjectAlternativeNames[{len(good)}]" in answer.body["message"]
    else:
        assert last["value"] in answer.body["message"]
    # Without the last name the very same request is issued: only the last name was wrong.
    assert api.post("/certificates", leaf_body(constrained, subjectAlternativeNames=good)).status == 201


def test_every_association_hostname_is_checked(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    role = "arn:aws:iam::123456789012:role/web-host"

    def associate(hostnames: list[str]) -> Answer:
        return api.post(
            "/associations", {"certificateId": cert_id, "associatedResourceId": role, "hostnames": hostnames}
        )

    assert_rejected(
        aws, lambda: associate(["www.example.com", "api.example.com", "a*.example.com"]), 400, "InvalidParameter"
    )
    assert_rejected(
        aws, lambda: associate(["www.example.com", "api.example.com", "www.example.com"]), 400, "InvalidParameter"
    )
    refused = assert_rejected(
        aws, lambda: associate(["www.example.com", "api.example.com", "mail.example.com"]), 422, "HostnameNotCovered"
    )
    assert "mail.example.com" in refused.body["message"]
    assert associate(["www.example.com", "api.example.com"]).status == 201


@pytest.mark.parametrize(
    "resource",
    [
        "not-an-arn",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::123456789012:group/admins",
        "arn:aws:sts::123:assumed-role/x/y",
    ],
)
def test_associations_to_unusable_resources_are_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, resource: str
) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    body = {"certificateId": cert_id, "associatedResourceId": resource}
    assert_rejected(aws, lambda: api.post("/associations", body), 400, "InvalidParameter")


@pytest.mark.parametrize(
    "constraint",
    [
        {"permittedIpSubtrees": ["10.0.0.1/8"]},
        {"excludedIpSubtrees": ["not-a-network"]},
        {"permittedDnsSubtrees": ["*.example.com"]},
        {"permittedDnsSubtrees": ["exa mple.com"]},
        {"excludedDnsSubtrees": ["secret\u202e.example.com"]},
    ],
)
def test_bad_name_constraints_create_no_ca(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, constraint: dict[str, list[str]]
) -> None:
    body = sub_ca_body(hierarchy.root["id"], rules={"nameConstraint": constraint})
    assert_rejected(aws, lambda: api.post("/certificate-authorities", body), 400, "InvalidParameter")


# -- validity ---------------------------------------------------------------------------------------------------


def test_the_ca_rule_caps_leaf_validity_to_the_second(api: ApiClient, aws: Aws, ruled: str) -> None:
    assert api.post("/certificates", leaf_body(ruled, validityDuration="P30D")).status == 201
    for too_long in ["P30DT1S", "P31D", "P1Y", "PT721H"]:
        body = leaf_body(ruled, validityDuration=too_long)
        assert_rejected(aws, lambda b=body: api.post("/certificates", b), 422, "ValidityExceedsCaRule")


def test_a_renewal_beyond_the_ca_rule_is_refused(api: ApiClient, aws: Aws, ruled: str) -> None:
    cert_id = api.post("/certificates", leaf_body(ruled, validityDuration="P30D")).body["id"]
    request = {"validityDuration": "P31D"}
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions", request), 422, "ValidityExceedsCaRule")


def test_a_leaf_may_not_outlive_its_issuer(api: ApiClient, aws: Aws, clock: Clock, hierarchy: Hierarchy) -> None:
    short = api.post(
        "/certificate-authorities", sub_ca_body(hierarchy.root["id"], name="short", validityDuration="P1Y")
    )
    assert short.status == 201, short.body
    ca_id = short.body["id"]
    assert_rejected(
        aws, lambda: api.post("/certificates", leaf_body(ca_id, validityDuration="P2Y")), 422, "ValidityExceedsIssuer"
    )
    # Validity is inclusive: a P1Y leaf issued at the CA's own notBefore ends exactly when the CA does ...
    same = api.post("/certificates", leaf_body(ca_id, validityDuration="P1Y"))
    assert same.status == 201, same.body
    assert same.body["currentVersion"]["validity"]["notAfter"] == short.body["currentVersion"]["validity"]["notAfter"]
    # ... and one second later it would end one second after the CA.
    clock.advance(seconds=1)
    assert_rejected(
        aws, lambda: api.post("/certificates", leaf_body(ca_id, validityDuration="P1Y")), 422, "ValidityExceedsIssuer"
    )


def test_a_subordinate_may_not_outlive_its_issuer_and_creates_no_key(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy
) -> None:
    body = sub_ca_body(hierarchy.root["id"], validityDuration="P11Y")
    assert_rejected(aws, lambda: api.post("/certificate-authorities", body), 422, "ValidityExceedsIssuer")


def test_the_ca_validity_rule_binds_subordinates(api: ApiClient, aws: Aws) -> None:
    root = api.post("/certificate-authorities", root_ca_body(rules={"certificateAuthorityMaxValidityDuration": "P3Y"}))
    assert root.status == 201, root.body
    body = sub_ca_body(root.body["id"], validityDuration="P3YT1S")
    assert_rejected(aws, lambda: api.post("/certificate-authorities", body), 422, "ValidityExceedsCaRule")
    assert api.post("/certificate-authorities", sub_ca_body(root.body["id"], validityDuration="P3Y")).status == 201


BAD_DURATIONS = ["P0D", "PT0S", "90 days", "P", "PT", "P1.5D", "-P1D", "p90d", "P90DT", "P90", "90D", "P101Y", "P1Y "]


@pytest.mark.parametrize("duration", BAD_DURATIONS)
def test_invalid_durations_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, duration: str) -> None:
    leaf = leaf_body(hierarchy.issuing["id"], validityDuration=duration)
    assert_rejected(aws, lambda: api.post("/certificates", leaf), 400, "InvalidParameter")
    ca = sub_ca_body(hierarchy.root["id"], validityDuration=duration)
    assert_rejected(aws, lambda: api.post("/certificate-authorities", ca), 400, "InvalidParameter")
    rule = sub_ca_body(hierarchy.root["id"], rules={"leafCertificateMaxValidityDuration": duration})
    assert_rejected(aws, lambda: api.post("/certificate-authorities", rule), 400, "InvalidParameter")


@pytest.mark.parametrize(
    "rule",
    [
        {"renewalInterval": "P0D", "advanceRenewalPeriod": "P5D"},
        {"renewalInterval": "PT30S", "advanceRenewalPeriod": "P5D"},
        {"renewalInterval": "P20D", "advanceRenewalPeriod": "P30D"},
        {"renewalInterval": "P20D", "advanceRenewalPeriod": "5 days"},
    ],
)
def test_bad_renewal_rules_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, rule: dict[str, str]) -> None:
    body = leaf_body(hierarchy.issuing["id"], validityDuration="P30D", renewalRule=rule)
    assert_rejected(aws, lambda: api.post("/certificates", body), 400, "InvalidParameter")


@pytest.mark.parametrize("when", ["tomorrow", "2020-01-01T00:00:00Z", "2099-01-01T00:00:00", "PT1H"])
def test_bad_deletion_times_are_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, when: str) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    request = {"timeOfDeletion": when}
    path = f"/certificates/{cert_id}/actions/schedule-deletion"
    assert_rejected(aws, lambda: api.post(path, request), 400, "InvalidParameter")


# -- imports ----------------------------------------------------------------------------------------------------


def test_a_good_import_is_accepted(api: ApiClient, pki: LocalPki) -> None:
    created = api.post("/certificates", import_body(pki.leaf.pem, pki.root.pem, pki.leaf.key_pem))
    assert created.status == 201, created.body
    assert created.body["subject"]["commonName"] == "imported.example.com"


IMPORT_CASES: list[tuple[str, Callable[[LocalPki], dict[str, Any]], str]] = [
    (
        "the key does not match",
        lambda p: import_body(p.leaf.pem, p.root.pem, pem_of_key(p256())),
        "KeyMismatch",
    ),
    (
        "the root's key for the leaf",
        lambda p: import_body(p.leaf.pem, p.root.pem, p.root.key_pem),
        "KeyMismatch",
    ),
    (
        "a chain that does not link",
        lambda p: import_body(
            p.leaf.pem,
            issue_local(
                "Other Root", ca=True, not_before=p.now - timedelta(days=1), not_after=p.now + timedelta(days=9)
            ).pem,
            p.leaf.key_pem,
        ),
        "ChainDoesNotLink",
    ),
    (
        "a chain certificate that is not a CA",
        lambda p: _leaf_under_a_leaf(p),
        "ChainDoesNotLink",
    ),
    ("a CA certificate as the leaf", lambda p: import_body(p.root.pem, p.root.pem, p.root.key_pem), "InvalidImport"),
    (
        "an encrypted PKCS#8 key",
        lambda p: import_body(
            p.leaf.pem, p.root.pem, pem_of_key(p.leaf.key, serialization.BestAvailableEncryption(b"secret"))
        ),
        "InvalidPrivateKey",
    ),
    (
        "an encrypted traditional OpenSSL key",
        lambda p: import_body(
            p.leaf.pem,
            p.root.pem,
            pem_of_key(
                p.leaf.key,
                serialization.BestAvailableEncryption(b"secret"),
                serialization.PrivateFormat.TraditionalOpenSSL,
            ),
        ),
        "InvalidPrivateKey",
    ),
    (
        "a public key for the private key",
        lambda p: import_body(
            p.leaf.pem,
            p.root.pem,
            p.leaf.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        ),
        "InvalidParameter",
    ),
    (
        "two leaf certificates",
        lambda p: import_body(p.leaf.pem + p.leaf.pem, p.root.pem, p.leaf.key_pem),
        "InvalidParameter",
    ),
    ("a chain of nine", lambda p: import_body(p.leaf.pem, p.root.pem * 9, p.leaf.key_pem), "InvalidParameter"),
    (
        "garbage after the chain",
        lambda p: import_body(p.leaf.pem, p.root.pem + "junk", p.leaf.key_pem),
        "InvalidParameter",
    ),
    ("a CSR as the certificate", lambda p: import_body(make_csr(), p.root.pem, p.leaf.key_pem), "InvalidParameter"),
    (
        "not DER inside the certificate",
        lambda p: import_body(pem_of(b"nonsense", "CERTIFICATE"), p.root.pem, p.leaf.key_pem),
        "InvalidParameter",
    ),
    (
        "an RSA 1024 leaf",
        lambda p: _with_key(p, rsa.generate_private_key(public_exponent=65537, key_size=WEAK_RSA_BITS)),
        "UnsupportedKey",
    ),
    (
        "a bidi override in the subject",
        lambda p: _named(p, "imported\u202emoc.elpmaxe"),
        "InvalidParameter",
    ),
    ("a NUL in the subject", lambda p: _named(p, "www.bank.example\x00.evil.org"), "InvalidParameter"),
    (
        "a NUL in a SAN",
        lambda p: _named(p, "imported.example.com", dns=["imported.example.com", "www.bank.example\x00.evil.org"]),
        "InvalidParameter",
    ),
    (
        "an issuer id on an import",
        lambda p: import_body(p.leaf.pem, p.root.pem, p.leaf.key_pem, issuerCertificateAuthorityId="ca-x"),
        "InvalidParameter",
    ),
    (
        "a renewal rule on an import",
        lambda p: import_body(
            p.leaf.pem,
            p.root.pem,
            p.leaf.key_pem,
            renewalRule={"renewalInterval": "P1D", "advanceRenewalPeriod": "P1D"},
        ),
        "InvalidParameter",
    ),
    ("no chain", lambda p: import_body(p.leaf.pem, "", p.leaf.key_pem), "InvalidParameter"),
]


def _leaf_under_a_leaf(p: LocalPki) -> dict[str, Any]:
    child = issue_local(
        "child.example.com",
        issuer=p.leaf,
        ca=False,
        not_before=p.now - timedelta(days=1),
        not_after=p.now + timedelta(days=9),
    )
    return import_body(child.pem, p.leaf.pem + p.root.pem, child.key_pem)


def _with_key(p: LocalPki, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    leaf = p.leaf_named("weak.example.com", key=key)
    return import_body(leaf.pem, p.root.pem, leaf.key_pem)


def _named(p: LocalPki, common_name: str, dns: Iterable[str] = ()) -> dict[str, Any]:
    leaf = p.leaf_named(common_name, dns=dns)
    return import_body(leaf.pem, p.root.pem, leaf.key_pem)


@pytest.mark.parametrize(("case", "body", "code"), IMPORT_CASES, ids=[c[0] for c in IMPORT_CASES])
def test_bad_imports_are_refused(
    api: ApiClient, aws: Aws, pki: LocalPki, case: str, body: Callable[[LocalPki], dict[str, Any]], code: str
) -> None:
    request = body(pki)
    assert_rejected(aws, lambda: api.post("/certificates", request), 400, code)


@pytest.mark.parametrize("which", ["leaf", "chain"])
def test_an_expired_or_not_yet_valid_certificate_is_not_imported(
    api: ApiClient, aws: Aws, pki: LocalPki, which: str
) -> None:
    for window in [{"not_after": pki.now - timedelta(seconds=1)}, {"not_before": pki.now + timedelta(seconds=1)}]:
        if which == "leaf":
            leaf = pki.leaf_named("dated.example.com", **window)
            body = import_body(leaf.pem, pki.root.pem, leaf.key_pem)
        else:
            dates = {"not_before": pki.now - timedelta(days=9), "not_after": pki.now + timedelta(days=9)} | window
            root = issue_local("Dated Root", ca=True, **dates)
            leaf = issue_local(
                "dated.example.com",
                issuer=root,
                ca=False,
                not_before=pki.now - timedelta(days=1),
                not_after=pki.now + timedelta(days=1),
            )
            body = import_body(leaf.pem, root.pem, leaf.key_pem)
        assert_rejected(aws, lambda b=body: api.post("/certificates", b), 400, "CertificateExpired")


def test_a_new_import_version_with_a_mismatched_key_is_refused(api: ApiClient, aws: Aws, pki: LocalPki) -> None:
    cert_id = api.post("/certificates", import_body(pki.leaf.pem, pki.root.pem, pki.leaf.key_pem)).body["id"]
    newer = pki.leaf_named("imported.example.com")
    request = {"certificatePem": newer.pem, "certChainPem": pki.root.pem, "privateKeyPem": pki.leaf.key_pem}
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions", request), 400, "KeyMismatch")


# -- state conflicts and unknown ids ----------------------------------------------------------------------------


def test_a_ca_pending_deletion_issues_nothing(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    ca_id = hierarchy.issuing["id"]
    cert_id = api.post("/certificates", leaf_body(ca_id)).body["id"]
    # A CA is only scheduled for deletion once nothing it issued is still trusted.
    revoked = api.post(f"/certificates/{cert_id}/versions/1/actions/revoke", {"revocationReason": "SUPERSEDED"})
    assert revoked.status == 200, revoked.body
    scheduled = api.post(f"/certificate-authorities/{ca_id}/actions/schedule-deletion")
    assert scheduled.status == 200 and scheduled.body["lifecycleState"] == "PENDING_DELETION"

    code = "CertificateAuthorityNotActive"
    assert_rejected(aws, lambda: api.post("/certificates", leaf_body(ca_id)), 409, code)
    assert_rejected(aws, lambda: api.post("/certificates", csr_body(ca_id, make_csr())), 409, code)
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions", {}), 409, code)
    assert_rejected(aws, lambda: api.post("/certificate-authorities", sub_ca_body(ca_id)), 409, code)
    path = f"/certificate-authorities/{ca_id}/actions/schedule-deletion"
    assert_rejected(aws, lambda: api.post(path), 409, "InvalidState")


def test_an_expired_ca_issues_nothing(api: ApiClient, aws: Aws, clock: Clock, hierarchy: Hierarchy) -> None:
    short = api.post("/certificate-authorities", sub_ca_body(hierarchy.root["id"], validityDuration="P1D")).body["id"]
    clock.advance(days=1)
    code = "CertificateAuthorityExpired"
    assert_rejected(aws, lambda: api.post("/certificates", leaf_body(short, validityDuration="PT1H")), 409, code)


def test_promoting_the_current_version_is_a_conflict(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    assert api.post(f"/certificates/{cert_id}/versions").status == 201
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions/2/actions/promote"), 409, "AlreadyCurrent")
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions/9/actions/promote"), 404, "NotFound")


def test_a_certificate_pending_deletion_takes_no_changes(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    assert api.post(f"/certificates/{cert_id}/actions/schedule-deletion").status == 200
    code = "CertificateNotActive"
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/versions"), 409, code)
    assert_rejected(aws, lambda: api.call("PATCH", f"/certificates/{cert_id}", {"name": "new"}), 409, code)
    association = {"certificateId": cert_id, "associatedResourceId": "arn:aws:iam::123456789012:role/web-host"}
    assert_rejected(aws, lambda: api.post("/associations", association), 409, code)
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/actions/schedule-deletion"), 409, "InvalidState")


def test_a_certificate_in_use_is_not_deleted(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    association = {"certificateId": cert_id, "associatedResourceId": "arn:aws:iam::123456789012:role/web-host"}
    assert api.post("/associations", association).status == 201
    path = f"/certificates/{cert_id}/actions/schedule-deletion"
    assert_rejected(aws, lambda: api.post(path), 409, "CertificateInUse")
    assert_rejected(aws, lambda: api.post("/associations", association), 409, "AssociationExists")
    assert_rejected(aws, lambda: api.post(f"/certificates/{cert_id}/actions/cancel-deletion"), 409, "InvalidState")


def test_a_csr_managed_certificate_has_no_key_to_read(api: ApiClient, aws: Aws, hierarchy: Hierarchy) -> None:
    cert_id = api.post("/certificates", csr_body(hierarchy.issuing["id"], make_csr())).body["id"]
    path = f"/certificates/{cert_id}/bundle?includePrivateKey=true"
    assert_rejected(aws, lambda: api.get(path), 400, "NoPrivateKey")


UNKNOWN: list[tuple[str, str, Callable[[str, str], Any]]] = [
    ("GET", "/certificates/cert-00000000000000000000", lambda ca, cert: None),
    ("GET", "/certificate-authorities/ca-00000000000000000000", lambda ca, cert: None),
    ("GET", "/certificate-authorities/ca-00000000000000000000/bundle", lambda ca, cert: None),
    ("GET", "/associations/assoc-00000000000000000000", lambda ca, cert: None),
    ("DELETE", "/associations/assoc-00000000000000000000", lambda ca, cert: None),
    ("GET", "/certificates/cert-00000000000000000000/bundle?includePrivateKey=true", lambda ca, cert: None),
    ("GET", "/certificates/{cert}/versions/7", lambda ca, cert: None),
    ("GET", "/certificates/{cert}/bundle?versionNumber=7", lambda ca, cert: None),
    ("GET", "/certificates/{cert}/bundle?stage=PENDING", lambda ca, cert: None),
    ("POST", "/certificates/cert-00000000000000000000/versions", lambda ca, cert: {}),
    ("POST", "/certificates/cert-00000000000000000000/versions/1/actions/promote", lambda ca, cert: {}),
    ("POST", "/certificates/cert-00000000000000000000/actions/schedule-deletion", lambda ca, cert: {}),
    ("POST", "/certificate-authorities/ca-00000000000000000000/actions/schedule-deletion", lambda ca, cert: {}),
    ("PATCH", "/certificates/cert-00000000000000000000", lambda ca, cert: {"name": "x"}),
    ("POST", "/certificates", lambda ca, cert: leaf_body("ca-00000000000000000000")),
    ("POST", "/certificate-authorities", lambda ca, cert: sub_ca_body("ca-00000000000000000000")),
    (
        "POST",
        "/associations",
        lambda ca, cert: {"certificateId": "cert-0", "associatedResourceId": "arn:aws:iam::123456789012:role/x"},
    ),
    ("GET", "/no/such/route", lambda ca, cert: None),
    ("POST", "/certificates/{cert}/versions/1/actions/explode", lambda ca, cert: {}),
]


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN, ids=[f"{m} {p}" for m, p, _ in UNKNOWN])
def test_unknown_ids_answer_404(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, method: str, path: str, body: Callable[[str, str], Any]
) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    target = path.format(cert=cert_id)
    payload = body(hierarchy.issuing["id"], cert_id)
    assert_rejected(aws, lambda: api.call(method, target, payload), 404, "NotFound")


# -- error text -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["certificates", "set_default"])
def test_a_missing_listener_is_named_in_the_error(aws: Aws, call: str) -> None:
    from certwright.adapters.elbv2 import Elbv2Listeners
    from certwright.errors import NotFoundError

    missing = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/gone/0123456789abcdef/0123456789abcdef"
    listeners = Elbv2Listeners(aws.session.client("elbv2"))
    acm_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    with pytest.raises(NotFoundError) as raised:
        getattr(listeners, call)(missing, *([] if call == "certificates" else [acm_arn]))
    assert raised.value.message == f"listener {missing} does not exist"


# -- malformed requests at the edge: never a 5xx, always a stable code, nothing changed -------------------------


def _raw(api: ApiClient, method: str, path: str, body: bytes, content_type: str | None = "application/json") -> Answer:
    """A request whose body is arbitrary bytes, as API Gateway passes them (base64, isBase64Encoded)."""
    event = api_event(method, path, None, headers={} if content_type is None else {"Content-Type": content_type})
    if content_type is None:
        event["headers"].pop("Content-Type")
        event["multiValueHeaders"].pop("Content-Type")
    event["body"] = base64.b64encode(body).decode("ascii")
    event["isBase64Encoded"] = True
    result = handle(event, None)
    text = result.get("body") or ""
    return Answer(result["statusCode"], json.loads(text) if text else None, result.get("headers") or {})


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 5000 + "]" * 5000,
        '{"a":' * 3000 + "1" + "}" * 3000,
        '{"name": ' + "[" * 40 + "]" * 40 + "}",
    ],
    ids=["arrays", "objects", "forty-deep"],
)
@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
def test_deeply_nested_json_is_refused(api: ApiClient, aws: Aws, path: str, raw: str) -> None:
    answer = assert_rejected(aws, lambda: api.post(path, raw), 400, "InvalidJson")
    assert "deeper than 32" in answer.body["message"]


def test_brackets_inside_strings_are_not_nesting(api: ApiClient, hierarchy: Hierarchy) -> None:
    body = leaf_body(hierarchy.issuing["id"], description="[" * 200 + "{" * 200)
    assert api.post("/certificates", json.dumps(body)).status == 201


def test_an_integer_too_long_to_convert_is_refused(api: ApiClient, aws: Aws) -> None:
    raw = json.dumps(root_ca_body())[:-1] + ', "extra": ' + "9" * 5000 + "}"
    assert_rejected(aws, lambda: api.post("/certificate-authorities", raw), 400, "InvalidJson")


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff\xfe"}', b"\xff\xfe\x00\x00", b'{"name": "caf\xe9"}'],
    ids=["invalid-bytes", "utf-32-bom", "latin-1"],
)
def test_a_body_that_is_not_utf8_is_refused(api: ApiClient, aws: Aws, hierarchy: Hierarchy, body: bytes) -> None:
    assert_rejected(aws, lambda: _raw(api, "POST", "/certificates", body), 400, "InvalidEncoding")


def test_a_body_marked_base64_that_is_not_is_refused(api: ApiClient, aws: Aws) -> None:
    def request() -> Answer:
        event = api_event("POST", "/certificate-authorities", "not base64 at all!")
        event["isBase64Encoded"] = True
        result = handle(event, None)
        return Answer(result["statusCode"], json.loads(result["body"]), result.get("headers") or {})

    assert_rejected(aws, request, 400, "InvalidEncoding")


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
        "application/json-patch+json",
        "application/json; charset=latin-1",
    ],
)
def test_a_body_that_is_not_json_is_refused_with_415(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, content_type: str
) -> None:
    body = json.dumps(leaf_body(hierarchy.issuing["id"])).encode()
    answer = assert_rejected(
        aws, lambda: _raw(api, "POST", "/certificates", body, content_type), 415, "UnsupportedMediaType"
    )
    assert "application/json" in answer.body["message"]


@pytest.mark.parametrize("content_type", [None, "application/json", "Application/JSON; charset=UTF-8"])
def test_json_is_accepted_with_or_without_its_media_type(
    api: ApiClient, hierarchy: Hierarchy, content_type: str | None
) -> None:
    body = json.dumps(leaf_body(hierarchy.issuing["id"])).encode()
    assert _raw(api, "POST", "/certificates", body, content_type).status == 201


def _token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _key(pk: str, **extra: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "A"}} | {k: {"S": v} for k, v in extra.items()}


BAD_TOKENS: list[tuple[str, str]] = [
    ("garbage", "%%%not-base64"),
    ("base64 of garbage", base64.urlsafe_b64encode(b"\xff\x00garbage").decode()),
    ("an empty object", _token({})),
    ("a list", _token([1])),
    ("null", _token(None)),
    ("a string", _token("CERT")),
    ("made-up attributes", _token({"x": 1})),
    ("numbers for strings", _token({"pk": {"N": "1"}, "sk": {"S": "A"}, "list_pk": {"S": "CERT"}, "list_sk": 1})),
    ("a nested value", _token(_key("CERT#x", list_pk="CERT") | {"list_sk": {"S": {"deep": "x"}}})),
    ("the certificates listing's token on the CA listing", _token(_key("CERT#x", list_pk="CERT", list_sk="t#x"))),
    ("a token of another listing", _token(_key("CA#x", list_pk="CA", list_sk="t#x"))),
    ("deeply nested", base64.urlsafe_b64encode(b"[" * 600 + b"]" * 600).decode()),
]


@pytest.mark.parametrize(("case", "token"), BAD_TOKENS, ids=[c for c, _ in BAD_TOKENS])
@pytest.mark.parametrize("listing", ["/certificates", "/associations", "/ca-bundles", "/audit-events?resourceId=c"])
def test_a_garbage_or_foreign_page_token_is_refused(
    api: ApiClient, aws: Aws, container: bootstrap.Container, case: str, token: str, listing: str
) -> None:
    if listing == "/certificates" and "certificates listing" in case:
        token = _token(_key("CA#x", list_pk="CA", list_sk="t#x"))  # the CA listing's token here instead
    separator = "&" if "?" in listing else "?"
    code = "InvalidParameter" if case == "garbage" else "InvalidPageToken"  # outside base64url: the schema refuses
    assert_rejected(aws, lambda: api.get(f"{listing}{separator}page={token}"), 400, code)
    # Sealed for the caller and the route, as the edge would: the listing's own check refuses it too.
    sealed = container.page_tokens.seal(token, f"{api.caller} {listing.split('?')[0]}")
    assert_rejected(aws, lambda: api.get(f"{listing}{separator}page={sealed}"), 400, "InvalidPageToken")


def test_a_page_token_of_another_certificates_associations_is_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy
) -> None:
    first = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    second = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="other")).body["id"]
    for n in range(2):
        resource = f"arn:aws:iam::123456789012:role/host-{n}"
        assert api.post("/associations", {"certificateId": first, "associatedResourceId": resource}).status == 201
    token = api.get(f"/associations?certificateId={first}&limit=1").body["nextPage"]
    assert token and api.get(f"/associations?certificateId={first}&page={token}").status == 200
    assert_rejected(aws, lambda: api.get(f"/associations?certificateId={second}&page={token}"), 400, "InvalidPageToken")
    assert_rejected(aws, lambda: api.get(f"/associations?page={token}"), 400, "InvalidPageToken")


def test_an_overlong_page_token_is_refused(api: ApiClient, aws: Aws) -> None:
    token = _token(_key("CERT#" + "x" * 6000, list_pk="CERT", list_sk="t"))
    assert_rejected(aws, lambda: api.get(f"/certificates?page={token}"), 400, "InvalidParameter")
    assert_rejected(aws, lambda: api.get(f"/audit-events?resourceId=c&page={token[:3001]}"), 400, "InvalidParameter")


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "%EF%BC%91", "1e2", "", "%00", "999999999999999999999999"])
@pytest.mark.parametrize("listing", ["/certificates", "/certificate-authorities", "/associations", "/ca-bundles"])
def test_a_limit_that_is_not_an_ascii_number_is_refused(api: ApiClient, aws: Aws, limit: str, listing: str) -> None:
    assert_rejected(aws, lambda: api.get(f"{listing}?limit={limit}"), 400, "InvalidParameter")


@pytest.mark.parametrize("number", ["%C2%B2", "%D9%A3", "0", "-1", "1e2", "100000000", "x"])
def test_a_version_number_that_is_not_a_positive_ascii_integer_is_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, number: str
) -> None:
    cert_id = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body["id"]
    assert_rejected(aws, lambda: api.get(f"/certificates/{cert_id}/versions/{number}"), 400, "InvalidParameter")
    assert_rejected(
        aws, lambda: api.get(f"/certificates/{cert_id}/bundle?versionNumber={number}"), 400, "InvalidParameter"
    )
    assert_rejected(
        aws,
        lambda: api.post(f"/certificate-authorities/{hierarchy.issuing['id']}/versions/{number}/actions/revoke", {}),
        400,
        "InvalidParameter",
    )


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/certificate-authorities", "GET, POST"),
        ("PUT", "/certificates/cert-x", "GET, PATCH"),
        ("GET", "/certificates/cert-x/versions/1/actions/revoke", "POST"),
        ("DELETE", "/certificates/cert-x", "GET, PATCH"),
        ("PATCH", "/associations/assoc-x", "DELETE, GET"),
        ("TRACE", "/certificates", "GET, POST"),
        ("QUERY", "/audit-events", "GET"),
        ("OPTIONS", "/ca-bundles", "GET, POST"),
        ("POST", "/openapi.json", "GET"),
    ],
)
def test_a_known_route_with_a_method_it_does_not_serve_answers_405(
    api: ApiClient, aws: Aws, method: str, path: str, allowed: str
) -> None:
    def request() -> Answer:
        result = handle(api_event(method, path, {}), None)
        return Answer(result["statusCode"], json.loads(result["body"]), dict(result["multiValueHeaders"]))

    answer = assert_rejected(aws, request, 405, "MethodNotAllowed")
    assert answer.headers["Allow"] == [allowed]


def test_an_unknown_route_still_answers_404(api: ApiClient, aws: Aws) -> None:
    assert_rejected(aws, lambda: api.call("DELETE", "/no-such-thing", {}), 404, "NotFound")
    assert_rejected(aws, lambda: api.call("TRACE", "/certificates/x/y/z/w", {}), 404, "NotFound")


@pytest.mark.parametrize("name", ["*", "*.com", "a.*.example", "*foo.example", "f*o.example.com", "*.*.example.com"])
def test_an_import_with_a_bad_wildcard_name_is_refused_like_a_request(
    api: ApiClient, aws: Aws, pki: LocalPki, hierarchy: Hierarchy, name: str
) -> None:
    requested = assert_rejected(
        aws,
        lambda: api.post("/certificates", leaf_body(hierarchy.issuing["id"], subjectAlternativeNames=[san(name)])),
        400,
        "InvalidParameter",
    )
    imported = assert_rejected(
        aws, lambda: api.post("/certificates", _named(pki, "imported.example.com", dns=[name])), 400, "InvalidParameter"
    )
    # The same reason, word for word, after the name.
    assert imported.body["message"].split(repr(name), 1)[1] == requested.body["message"].split(repr(name), 1)[1]


def test_an_import_with_a_good_wildcard_is_accepted(api: ApiClient, pki: LocalPki) -> None:
    created = api.post("/certificates", _named(pki, "imported.example.com", dns=["*.imported.example.com"]))
    assert created.status == 201, created.body
