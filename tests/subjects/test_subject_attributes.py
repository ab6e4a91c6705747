"""Every subject attribute OCI accepts, through the API on the embedded AWS: validated, written in a fixed order,
read back by openssl (-nameopt RFC2253) and by the API; a CSR's attributes are taken over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ApiClient, Hierarchy, leaf_body
from tests.crl.conftest import run, write

FULL = {
    "commonName": "Ada Lovelace",
    "country": "GB",
    "stateOrProvince": "Greater London",
    "locality": "London",
    "street": "12 St James's Square",
    "organization": "Analytical Engines",
    "organizationalUnit": "Notes",
    "title": "Countess",
    "surname": "Lovelace",
    "givenName": "Augusta Ada",
    "initials": "AAL",
    "generationQualifier": "I",
    "pseudonym": "A.A.L.",
    "serialNumber": "ADA-1815",
    "distinguishedNameQualifier": "engines:1843",
    "email": "ada@engines.example",
    "domainComponent": ["example", "engines"],
}
# Most significant RDN last in RFC 2253, so the fixed DER order (DC first ... emailAddress last) reads reversed.
RFC2253 = (
    "emailAddress=ada@engines.example,CN=Ada Lovelace,dnQualifier=engines:1843,serialNumber=ADA-1815,"
    "pseudonym=A.A.L.,generationQualifier=I,initials=AAL,GN=Augusta Ada,SN=Lovelace,title=Countess,OU=Notes,"
    "O=Analytical Engines,street=12 St James's Square,L=London,ST=Greater London,C=GB,DC=engines,DC=example"
)


def issue(api: ApiClient, ca_id: str, subject: dict[str, Any], **overrides: Any) -> Any:
    body = leaf_body(
        ca_id,
        profile="TLS_CLIENT",
        subject=subject,
        subjectAlternativeNames=[{"type": "DNS", "value": "client.example.com"}],
        **overrides,
    )
    return api.post("/certificates", body)


def pem_of(api: ApiClient, cert_id: str) -> str:
    return str(api.get(f"/certificates/{cert_id}/bundle").body["certificatePem"])


def test_every_attribute_round_trips_in_a_fixed_order(api: ApiClient, hierarchy: Hierarchy, tmp_path: Path) -> None:
    shuffled = dict(reversed(list(FULL.items())))  # the request's order does not matter
    created = issue(api, hierarchy.issuing["id"], shuffled)
    assert created.status == 201, created.body
    assert created.body["subject"] == FULL
    leaf = write(tmp_path, "leaf.pem", pem_of(api, created.body["id"]))
    done = run("openssl", "x509", "-in", leaf, "-noout", "-subject", "-nameopt", "RFC2253")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"subject={RFC2253}"

    name = x509.load_pem_x509_certificate(leaf.read_bytes()).subject
    types = {a.oid: a._type.name for a in name}  # the ASN.1 string types as written
    assert (
        types[NameOID.COUNTRY_NAME] == types[NameOID.SERIAL_NUMBER] == types[NameOID.DN_QUALIFIER] == "PrintableString"
    )
    assert types[NameOID.EMAIL_ADDRESS] == types[NameOID.DOMAIN_COMPONENT] == "IA5String"


@pytest.mark.parametrize(
    "change",
    [
        {"country": "gbr"},
        {"country": "gb"},
        {"serialNumber": "ADA_1815"},  # '_' is not PrintableString
        {"distinguishedNameQualifier": "a@b"},
        {"email": "ada"},
        {"email": "ada@@engines.example"},
        {"email": "ada lovelace@engines.example"},
        {"email": "ada@engines"},
        {"email": "ädä@engines.example"},
        {"title": "x" * 65},
        {"pseudonym": "x" * 129},
        {"domainComponent": ["exa_mple"]},
        {"domainComponent": ["a"] * 11},
        {"street": "x\nY"},
        {"nickname": "Ada"},
    ],
)
def test_a_bad_attribute_is_refused_and_nothing_is_issued(
    api: ApiClient, hierarchy: Hierarchy, change: dict[str, Any]
) -> None:
    answer = issue(api, hierarchy.issuing["id"], {**FULL, **change})
    assert answer.status == 400, answer.body
    assert api.get("/certificates").body["items"] == []


def test_a_csrs_attributes_are_taken_over(api: ApiClient, hierarchy: Hierarchy) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "engines"),
            x509.NameAttribute(NameOID.GIVEN_NAME, "Augusta Ada"),
            x509.NameAttribute(NameOID.SURNAME, "Lovelace"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Ada Lovelace"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ada@engines.example"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    body = leaf_body(
        hierarchy.issuing["id"],
        configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        profile="TLS_CLIENT",
        csrPem=csr.public_bytes(serialization.Encoding.PEM).decode(),
        subjectAlternativeNames=[{"type": "DNS", "value": "client.example.com"}],
    )
    body.pop("subject")
    body.pop("keyAlgorithm")
    created = api.post("/certificates", body)
    assert created.status == 201, created.body
    assert created.body["subject"] == {
        "commonName": "Ada Lovelace",
        "givenName": "Augusta Ada",
        "surname": "Lovelace",
        "email": "ada@engines.example",
        "domainComponent": ["example", "engines"],
    }
    issued = x509.load_pem_x509_certificate(pem_of(api, created.body["id"]).encode())
    assert issued.subject.get_attributes_for_oid(NameOID.DOMAIN_COMPONENT)[1].value == "engines"
