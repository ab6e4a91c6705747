"""URI SANs (SPIFFE IDs) and email SANs, and name constraints on them, through the API on the embedded AWS:
validated, allowed per profile, written as uniformResourceIdentifier / rfc822Name, enforced on issuance (CSR too),
and read the same way by openssl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ApiClient, Hierarchy, leaf_body, sub_ca_body
from tests.crl.conftest import run, write

SPIFFE = "spiffe://prod.example.org/ns/web/sa/frontend"
# pkilint 0.13.3 checks URI syntax with the `validators` package's url(), which knows web schemes only, so a
# SPIFFE ID (an RFC 3986 URI, as the SPIFFE X.509-SVID spec puts it in the SAN) is flagged; openssl reads it.
SPIFFE_ALLOWLIST = {"pkix.invalid_uri_syntax": "pkilint's URI check accepts web schemes only, not spiffe://"}
CONSTRAINT = {
    "permittedUriSubtrees": ["prod.example.org"],
    "excludedUriSubtrees": [".internal.example.org"],
    "permittedEmailSubtrees": ["example.com", ".example.com"],
    "excludedEmailSubtrees": ["ceo@example.com"],
}


def client_leaf(api: ApiClient, ca_id: str, sans: list[dict[str, str]], profile: str = "TLS_CLIENT") -> Any:
    body = leaf_body(ca_id, profile=profile, subject={"commonName": "frontend"}, subjectAlternativeNames=sans)
    return api.post("/certificates", body)


def pem_of(api: ApiClient, cert_id: str) -> str:
    return str(api.get(f"/certificates/{cert_id}/bundle").body["certificatePem"])


def test_uri_and_email_sans_are_written_and_read_by_openssl(
    api: ApiClient, hierarchy: Hierarchy, tmp_path: Path
) -> None:
    sans = [{"type": "URI", "value": SPIFFE}, {"type": "EMAIL", "value": "frontend@example.com"}]
    created = client_leaf(api, hierarchy.issuing["id"], sans)
    assert created.status == 201, created.body
    assert created.body["subjectAlternativeNames"] == sans
    leaf = write(tmp_path, "leaf.pem", pem_of(api, created.body["id"]))
    done = run("openssl", "x509", "-in", leaf, "-noout", "-ext", "subjectAltName")
    assert done.returncode == 0, done.stderr
    assert f"URI:{SPIFFE}, email:frontend@example.com" in done.stdout


@pytest.mark.parametrize(
    "san",
    [
        {"type": "URI", "value": "spiffe://Prod.example.org/web"},  # trust domains are lower case
        {"type": "URI", "value": "spiffe://prod.example.org/a//b"},
        {"type": "URI", "value": "spiffe://prod.example.org/web/"},
        {"type": "URI", "value": "spiffe://prod.example.org/a/../b"},
        {"type": "URI", "value": "spiffe:///web"},
        {"type": "URI", "value": "ftp://files.example.org/x"},
        {"type": "URI", "value": "https://a b.example.org/"},
        {"type": "EMAIL", "value": "frontend"},
        {"type": "EMAIL", "value": "front end@example.com"},
        {"type": "EMAIL", "value": "frontend@localhost"},
    ],
)
def test_a_malformed_uri_or_email_san_is_refused(api: ApiClient, hierarchy: Hierarchy, san: dict[str, str]) -> None:
    answer = client_leaf(api, hierarchy.issuing["id"], [san])
    assert answer.status == 400, answer.body
    assert api.get("/certificates").body["items"] == []


@pytest.mark.parametrize(
    ("profile", "san"),
    [
        ("TLS_SERVER", {"type": "EMAIL", "value": "web@example.com"}),
        ("TLS_CODE_SIGN", {"type": "URI", "value": SPIFFE}),
    ],
)
def test_a_san_type_the_profile_does_not_take_is_refused(
    api: ApiClient, hierarchy: Hierarchy, profile: str, san: dict[str, str]
) -> None:
    answer = client_leaf(api, hierarchy.issuing["id"], [san], profile=profile)
    assert (answer.status, answer.body["code"]) == (400, "SanNotAllowedForProfile"), answer.body


@pytest.fixture
def constrained(api: ApiClient, hierarchy: Hierarchy) -> dict[str, Any]:
    answer = api.post(
        "/certificate-authorities",
        sub_ca_body(hierarchy.root["id"], name="spiffe-ca", rules={"nameConstraint": CONSTRAINT}),
    )
    assert answer.status == 201, answer.body
    assert answer.body["rules"]["nameConstraint"]["permittedUriSubtrees"] == ["prod.example.org"]
    return dict(answer.body)


def test_uri_and_email_name_constraints_are_written_and_honoured_by_openssl(
    api: ApiClient, hierarchy: Hierarchy, constrained: dict[str, Any], tmp_path: Path
) -> None:
    ca_pem = api.get(f"/certificate-authorities/{constrained['id']}/bundle").body["certificatePem"]
    ca = write(tmp_path, "ca.pem", ca_pem)
    text = run("openssl", "x509", "-in", ca, "-noout", "-ext", "nameConstraints").stdout
    assert "URI:prod.example.org" in text and "email:example.com" in text and "email:ceo@example.com" in text, text
    root = write(
        tmp_path, "root.pem", api.get(f"/certificate-authorities/{hierarchy.root['id']}/bundle").body["certificatePem"]
    )

    sans = [{"type": "URI", "value": SPIFFE}, {"type": "EMAIL", "value": "frontend@mail.example.com"}]
    created = client_leaf(api, constrained["id"], sans)
    assert created.status == 201, created.body
    leaf = write(tmp_path, "leaf.pem", pem_of(api, created.body["id"]))
    done = run("openssl", "verify", "-x509_strict", "-CAfile", root, "-untrusted", ca, leaf)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "san",
    [
        {"type": "URI", "value": "spiffe://dev.example.org/web"},  # outside the permitted trust domain
        {"type": "URI", "value": "https://x.internal.example.org/"},  # excluded
        {"type": "EMAIL", "value": "ceo@example.com"},  # an excluded mailbox
        {"type": "EMAIL", "value": "someone@example.net"},  # outside the permitted hosts
    ],
)
def test_a_name_outside_the_constraints_is_refused(
    api: ApiClient, constrained: dict[str, Any], san: dict[str, str]
) -> None:
    answer = client_leaf(api, constrained["id"], [san])
    assert (answer.status, answer.body["code"]) == (422, "NameConstraintViolation"), answer.body
    assert api.get("/certificates").body["items"] == []


def test_a_csr_naming_an_excluded_spiffe_id_is_refused(api: ApiClient, constrained: dict[str, Any]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frontend")]))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier("spiffe://dev.example.org/web")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    body = leaf_body(
        constrained["id"],
        configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        profile="TLS_CLIENT",
        csrPem=csr.public_bytes(serialization.Encoding.PEM).decode(),
        subjectAlternativeNames=[],
    )
    body.pop("subject")
    body.pop("keyAlgorithm")
    answer = api.post("/certificates", body)
    assert (answer.status, answer.body["code"]) == (422, "NameConstraintViolation"), answer.body


@pytest.mark.conformance
def test_pkilint_finds_nothing_in_a_spiffe_leaf_and_its_constrained_ca(
    api: ApiClient, hierarchy: Hierarchy, constrained: dict[str, Any], tmp_path: Path
) -> None:
    from tests.conformance.pki import pkilint_all

    ca = write(
        tmp_path, "ca.pem", api.get(f"/certificate-authorities/{constrained['id']}/bundle").body["certificatePem"]
    )
    sans = [{"type": "URI", "value": SPIFFE}, {"type": "EMAIL", "value": "frontend@example.com"}]
    created = client_leaf(api, constrained["id"], sans)
    leaf = write(tmp_path, "leaf.pem", pem_of(api, created.body["id"]))
    findings = pkilint_all(
        {
            "ca": ("lint_pkix_cert", ca),
            "leaf": ("lint_pkix_cert", leaf),
            "chain": ("lint_pkix_signer_signee_cert_chain", ca, leaf),
        }
    )
    problems = {key: [str(f) for f in found if f.code not in SPIFFE_ALLOWLIST] for key, found in findings.items()}
    assert {key: found for key, found in problems.items() if found} == {}
    assert {f.code for f in findings["leaf"]} == set(SPIFFE_ALLOWLIST)  # still raised, or the entry is stale
