"""The services driven by their commands directly (no request body, no API), on the embedded AWS: each kind of
new certificate, each kind of new version and the renewal internal callers use, and the refusals of a command
that does not fit the certificate it names. The last test goes through the API: a field that does not apply
to a configType is refused there before anything is written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.authority import CaConfigType
from certwright.domain.certificate import CertificateConfigType, Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.stages import Stage
from certwright.errors import InvalidInputError, PolicyViolationError
from certwright.services import commands
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.alerts.vendor import vendor_import
from tests.conftest import ApiClient, Aws, Clock, Hierarchy

CALLER = "arn:aws:iam::123456789012:user/command-tests"


def issue(container: bootstrap.Container, issuer_id: str, **overrides: Any) -> commands.IssueCertificate:
    fields: dict[str, Any] = {
        "name": "web",
        "issuer_id": issuer_id,
        "profile": Profile.TLS_SERVER,
        "subject": Subject("www.example.com"),
        "sans": (SubjectAlternativeName(SanType.DNS, "api.example.com"),),
        "validity_duration": "P30D",
    }
    return commands.IssueCertificate(**(fields | overrides))


def csr_pem(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def vendor_command(clock: Clock, name: str = "vendor") -> commands.ImportCertificate:
    body = vendor_import(clock() + timedelta(days=60), name=name)
    return commands.ImportCertificate(
        name=body["name"],
        certificate_pem=body["certificatePem"],
        chain_pem=body["certChainPem"],
        private_key_pem=body["privateKeyPem"],
    )


def test_an_issue_command_then_renewals_as_the_sweep_and_revocation_ask(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    renewal = commands.RenewalRuleSpec(renewal_interval="P20D", advance_renewal_period="P5D")
    certificate, first = container.issuance.create(
        issue(container, hierarchy.issuing["id"], renewal_rule=renewal), CALLER
    )
    assert certificate.config_type is CertificateConfigType.ISSUED_BY_INTERNAL_CA
    # The DNS-like commonName is added to the SANs; the rule is parsed against the validity.
    assert [s.value for s in first.sans] == ["www.example.com", "api.example.com"]
    assert certificate.renewal_rule is not None and certificate.renewal_rule.renewal_interval.text == "P20D"
    clock.advance(minutes=5)
    renewed, second = container.issuance.renew(certificate.id, CALLER)
    assert (second.version_number, renewed.current_version_number) == (2, 2) and Stage.CURRENT in second.stages
    clock.advance(minutes=5)
    staged, third = container.issuance.renew(certificate.id, CALLER, stage="PENDING", validity_duration="P10D")
    assert (third.version_number, staged.current_version_number) == (3, 2) and Stage.PENDING in third.stages
    assert third.validity.not_after - third.validity.not_before <= timedelta(days=10, minutes=5)


def test_a_sign_csr_command_takes_the_subject_from_the_csr(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    command = commands.SignCsr(
        name="external",
        issuer_id=hierarchy.issuing["id"],
        profile=Profile.TLS_CLIENT,
        subject=None,
        csr_pem=csr_pem("client.example.com"),
    )
    certificate, version = container.issuance.create(command, CALLER)
    assert certificate.config_type is CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA
    assert (version.subject.common_name, version.has_private_key) == ("client.example.com", False)
    # A renewal needs a new CSR: the service-held-key renewal does not fit this certificate.
    with pytest.raises(InvalidInputError, match="needs csrPem"):
        container.issuance.renew(certificate.id, CALLER)
    clock.advance(minutes=5)
    again = commands.RenewWithCsr(certificate_id=certificate.id, csr_pem=csr_pem("client.example.com"))
    _, second = container.issuance.create_version(again, CALLER)
    assert second.version_number == 2 and Stage.CURRENT in second.stages


def test_an_import_command_and_its_new_versions(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    certificate, version = container.issuance.create(vendor_command(clock), CALLER)
    assert certificate.config_type is CertificateConfigType.IMPORTED
    assert (certificate.profile, certificate.renewal_rule, certificate.issuer_ca_id) == (None, None, None)
    assert version.has_private_key and version.subject.common_name == "vendor.example.com"
    with pytest.raises(InvalidInputError, match="an import needs"):
        container.issuance.renew(certificate.id, CALLER)
    with pytest.raises(InvalidInputError, match="is a new import"):
        container.issuance.renew(certificate.id, CALLER, validity_duration="P1D")
    with pytest.raises(InvalidInputError, match="is a new import"):
        container.issuance.create_version(commands.RenewWithCsr(certificate_id=certificate.id, csr_pem="x"), CALLER)
    clock.advance(minutes=5)
    following = vendor_command(clock)
    reimport = commands.ReimportCertificate(
        certificate_id=certificate.id,
        certificate_pem=following.certificate_pem,
        chain_pem=following.chain_pem,
        private_key_pem=following.private_key_pem,
        stage="PENDING",
    )
    updated, second = container.issuance.create_version(reimport, CALLER)
    assert (second.version_number, updated.current_version_number) == (2, 1) and Stage.PENDING in second.stages


def test_an_import_does_not_fit_a_certificate_an_internal_ca_issues(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    certificate, _ = container.issuance.create(issue(container, hierarchy.issuing["id"]), CALLER)
    following = vendor_command(clock)
    reimport = commands.ReimportCertificate(
        certificate_id=certificate.id,
        certificate_pem=following.certificate_pem,
        chain_pem=following.chain_pem,
        private_key_pem=following.private_key_pem,
    )
    with pytest.raises(InvalidInputError, match="apply only to imports"):
        container.issuance.create_version(reimport, CALLER)
    with pytest.raises(InvalidInputError, match="needs csrPem"):
        container.issuance.create_version(commands.RenewWithCsr(certificate_id=certificate.id, csr_pem="x"), CALLER)
    assert container.issuance.get(certificate.id).latest_version_number == 1


def test_a_create_authority_command_with_rules(container: bootstrap.Container, hierarchy: Hierarchy) -> None:
    rules = commands.CaRulesSpec(
        leaf_max_validity="P60D",
        path_length=0,
        name_constraint=commands.NameConstraintSpec(permitted_dns=("Example.COM",), permitted_ip=("10.0.0.0/8",)),
    )
    command = commands.CreateAuthority(
        name="team",
        config_type=CaConfigType.SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA,
        subject=Subject("Team CA", organization="Certwright"),
        issuer_id=hierarchy.issuing["id"],
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration="P1Y",
        rules=rules,
    )
    ca = container.authorities.create(command, CALLER)
    assert ca.rules.leaf_max_validity is not None and ca.rules.leaf_max_validity.text == "P60D"
    assert ca.rules.name_constraint.permitted_dns == ("example.com",)
    assert [str(n) for n in ca.rules.name_constraint.permitted_ip] == ["10.0.0.0/8"]
    outside = issue(container, ca.id, subject=Subject("www.example.org"), sans=())
    with pytest.raises(PolicyViolationError):
        container.issuance.create(outside, CALLER)
    bad = commands.CaRulesSpec(name_constraint=commands.NameConstraintSpec(permitted_ip=("10.0.0.1/8",)))
    with pytest.raises(InvalidInputError, match="permittedIpSubtrees"):
        container.authorities.create(
            commands.CreateAuthority(
                name="bad", config_type=CaConfigType.ROOT_CA_GENERATED_INTERNALLY, subject=Subject("Bad"), rules=bad
            ),
            CALLER,
        )


@pytest.mark.parametrize(
    "extra",
    [{"profile": "TLS_SERVER"}, {"subject": {"commonName": "vendor.example.com"}}, {"validityDuration": "P30D"}],
)
def test_a_field_an_import_does_not_take_is_refused_at_the_api(
    api: ApiClient, aws: Aws, clock: Clock, extra: dict[str, Any]
) -> None:
    """Before the union these were accepted and ignored (a profile was even stored on the imported certificate)."""
    before = len(aws.table_items())
    body = vendor_import(clock() + timedelta(days=60)) | extra
    answer = api.post("/certificates", body)
    assert (answer.status, answer.body["code"]) == (400, "InvalidParameter"), answer.body
    assert answer.body["message"] == f"{next(iter(extra))} does not apply to configType IMPORTED"
    assert len(aws.table_items()) == before
    assert api.post("/certificates", vendor_import(clock() + timedelta(days=60))).status == 201
