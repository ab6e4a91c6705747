"""The API's request models: each configType takes its own fields, a field of another type is a 400 with a stable
code, and each body maps to the service command of its operation (no AWS involved)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from certwright.api.app import handle_validation_error
from certwright.api.requests import (
    CreateAuthorityRequest,
    CreateCertificateRequest,
    CreateVersion,
    inapplicable,
)
from certwright.domain.authority import CaConfigType
from certwright.domain.certificate import Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.services import commands
from pydantic import TypeAdapter, ValidationError

from tests.conftest import leaf_body, root_ca_body, sub_ca_body

CERTIFICATE = TypeAdapter(CreateCertificateRequest)
AUTHORITY = TypeAdapter(CreateAuthorityRequest)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def csr_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "external",
        "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": "ca-1",
        "profile": "TLS_CLIENT",
        "csrPem": "-----BEGIN CERTIFICATE REQUEST-----\n...",
    }
    return body | overrides


def import_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "imported",
        "configType": "IMPORTED",
        "certificatePem": PEM,
        "certChainPem": PEM,
        "privateKeyPem": "-----BEGIN PRIVATE KEY-----\n...",
    }
    return body | overrides


def answer(adapter: TypeAdapter[Any], body: Any) -> tuple[int, str, str]:
    """What the API answers for `body` refused by `adapter`: status, code and message (as the resolver sees it)."""
    with pytest.raises(ValidationError) as refused:
        adapter.validate_python(body)
    errors = [{**e, "loc": ("body", *e["loc"])} for e in refused.value.errors()]
    response = handle_validation_error(RequestValidationError(errors))
    payload = json.loads(str(response.body))
    return response.status_code, payload["code"], payload["message"]


# -- each configType maps to its own command ----------------------------------------------------------------


def test_an_issued_certificate_maps_to_issue_certificate() -> None:
    body = leaf_body("ca-1", renewalRule={"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"})
    command = CERTIFICATE.validate_python(body).command()
    assert command == commands.IssueCertificate(
        name="web",
        issuer_id="ca-1",
        profile=Profile.TLS_SERVER,
        subject=Subject("www.example.com", organization="Certwright"),
        sans=(
            SubjectAlternativeName(SanType.DNS, "www.example.com"),
            SubjectAlternativeName(SanType.DNS, "api.example.com"),
        ),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration="P30D",
        renewal_rule=commands.RenewalRuleSpec(renewal_interval="P20D", advance_renewal_period="P5D"),
    )


def test_a_csr_maps_to_sign_csr_with_the_subject_left_to_the_csr() -> None:
    command = CERTIFICATE.validate_python(csr_body(expiryAlertThresholds=["P10D"])).command()
    assert isinstance(command, commands.SignCsr)
    assert (command.csr_pem, command.subject, command.key_algorithm) == (csr_body()["csrPem"], None, None)
    assert command.expiry_alert_thresholds == ("P10D",)


def test_an_import_maps_to_import_certificate() -> None:
    command = CERTIFICATE.validate_python(import_body(description="from the vendor")).command()
    assert command == commands.ImportCertificate(
        name="imported",
        certificate_pem=PEM,
        chain_pem=PEM,
        private_key_pem=import_body()["privateKeyPem"],
        description="from the vendor",
    )


def test_a_root_and_a_subordinate_map_to_create_authority() -> None:
    root = AUTHORITY.validate_python(root_ca_body()).command()
    assert (root.config_type, root.issuer_id, root.key_algorithm) == (
        CaConfigType.ROOT_CA_GENERATED_INTERNALLY,
        None,
        KeyAlgorithm.ECDSA_P384,
    )
    assert root.rules == commands.CaRulesSpec(path_length=2)
    sub = AUTHORITY.validate_python(sub_ca_body("ca-root", validityDuration=None)).command()
    assert (sub.config_type, sub.issuer_id, sub.validity_duration) == (
        CaConfigType.SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA,
        "ca-root",
        None,
    )


# -- a field of another configType is refused by the model ----------------------------------------------------

INAPPLICABLE: list[tuple[TypeAdapter[Any], dict[str, Any], str]] = [
    (CERTIFICATE, leaf_body("ca-1", csrPem="x"), "csrPem"),
    (CERTIFICATE, leaf_body("ca-1", certificatePem=PEM), "certificatePem"),
    (CERTIFICATE, leaf_body("ca-1", certChainPem=None), "certChainPem"),
    (CERTIFICATE, csr_body(privateKeyPem="k"), "privateKeyPem"),
    (CERTIFICATE, import_body(issuerCertificateAuthorityId="ca-1"), "issuerCertificateAuthorityId"),
    (CERTIFICATE, import_body(renewalRule={"renewalInterval": "P1D", "advanceRenewalPeriod": "P1D"}), "renewalRule"),
    (CERTIFICATE, import_body(csrPem="x"), "csrPem"),
    (CERTIFICATE, import_body(profile="TLS_SERVER"), "profile"),
    (CERTIFICATE, import_body(subject={"commonName": "x"}), "subject"),
    (CERTIFICATE, import_body(validityDuration="P1D"), "validityDuration"),
    (AUTHORITY, root_ca_body(issuerCertificateAuthorityId="ca-1"), "issuerCertificateAuthorityId"),
]


@pytest.mark.parametrize(
    ("adapter", "body", "field"), INAPPLICABLE, ids=[f"{b['configType']}-{f}" for _, b, f in INAPPLICABLE]
)
def test_a_field_of_another_config_type_is_invalid_parameter(
    adapter: TypeAdapter[Any], body: dict[str, Any], field: str
) -> None:
    assert answer(adapter, body) == (
        400,
        "InvalidParameter",
        f"{field} does not apply to configType {body['configType']}",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (leaf_body("ca-1", isCa=True), "unknown field: isCa"),
        (leaf_body("ca-1", subject={"commonName": "a", "userId": "1"}), "unknown field: subject.userId"),
        (import_body(createdBy="arn:aws:iam::1:user/x"), "unknown field: createdBy"),
    ],
)
def test_a_field_no_config_type_takes_is_unknown(body: dict[str, Any], message: str) -> None:
    assert answer(CERTIFICATE, body) == (400, "UnknownField", message)


def test_a_missing_or_unknown_config_type_is_invalid_parameter() -> None:
    without = {k: v for k, v in leaf_body("ca-1").items() if k != "configType"}
    assert answer(CERTIFICATE, without) == (400, "InvalidParameter", "configType: Field required")
    status, code, message = answer(CERTIFICATE, leaf_body("ca-1", configType="ISSUED_BY_EXTERNAL_CA"))
    assert (status, code) == (400, "InvalidParameter") and "ISSUED_BY_EXTERNAL_CA" in message
    assert answer(AUTHORITY, [root_ca_body()])[:2] == (400, "InvalidParameter")


@pytest.mark.parametrize(
    ("adapter", "body", "field"),
    [
        (CERTIFICATE, leaf_body("ca-1", subject=None), "subject"),
        (CERTIFICATE, csr_body(csrPem=None), "csrPem"),
        (CERTIFICATE, {k: v for k, v in leaf_body("ca-1").items() if k != "profile"}, "profile"),
        (CERTIFICATE, import_body(certChainPem=None), "certChainPem"),
        (
            AUTHORITY,
            {k: v for k, v in sub_ca_body("x").items() if k != "issuerCertificateAuthorityId"},
            "issuerCertificateAuthorityId",
        ),
    ],
)
def test_a_field_its_config_type_requires_is_named_without_the_tag(
    adapter: TypeAdapter[Any], body: dict[str, Any], field: str
) -> None:
    status, code, message = answer(adapter, body)
    assert (status, code) == (400, "InvalidParameter")
    assert message.startswith(f"{field}: "), message


def test_only_fields_of_the_other_config_types_are_inapplicable() -> None:
    assert inapplicable("IMPORTED", "profile") is not None
    assert inapplicable("IMPORTED", "name") is None  # every type takes it
    assert inapplicable("IMPORTED", "color") is None  # no type takes it: unknown
    assert inapplicable("SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA", "issuerCertificateAuthorityId") is None


# -- a new version: a renewal, a new CSR or a new import ---------------------------------------------------------


def test_a_new_version_maps_to_the_command_its_fields_name() -> None:
    assert CreateVersion.model_validate({}).command("cert-1") == commands.RenewCertificate(certificate_id="cert-1")
    assert CreateVersion.model_validate({"stage": "PENDING", "csrPem": "c"}).command("cert-1") == (
        commands.RenewWithCsr(certificate_id="cert-1", csr_pem="c", stage="PENDING")
    )
    pems = {"certificatePem": "a", "certChainPem": "b", "privateKeyPem": "c"}
    assert CreateVersion.model_validate(pems).command("cert-1") == commands.ReimportCertificate(
        certificate_id="cert-1", certificate_pem="a", chain_pem="b", private_key_pem="c"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"certificatePem": "a"},
        {"certificatePem": "a", "certChainPem": "b", "privateKeyPem": "c", "csrPem": "d"},
        {"certificatePem": "a", "certChainPem": "b", "privateKeyPem": "c", "validityDuration": "P1D"},
    ],
)
def test_a_new_version_mixing_kinds_is_invalid_parameter(body: dict[str, Any]) -> None:
    assert answer(TypeAdapter(CreateVersion), body)[:2] == (400, "InvalidParameter")
