"""pkilint finds nothing at WARNING or above in KMS-signed certificates, beyond a short allowlist with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.pki import KINDS, PROFILES, SERVER_PROFILES, Finding, build, pkilint_all
from tests.conftest import ApiClient

pytestmark = pytest.mark.conformance

# RFC 5280 (lint_pkix_cert, lint_pkix_signer_signee_cert_chain): nothing is excused, for CAs or any leaf profile.
PKIX_ALLOWLIST: dict[str, dict[str, str]] = {profile: {} for profile in (*PROFILES, "CA")}

# Certificates carry a CRL distribution point and a caIssuers URL (no OCSP: CRLs are how revocation is published),
# so the revocation-information and AIA findings of earlier issues are gone.
_SERVER_LEAF = {
    "cabf.serverauth.subscriber.certificate_policies_extension_absent": "a private CA asserts no CA/B Forum policy OID",
    "cabf.serverauth.ov.common_name_attribute_present": "the API requires subject.commonName; BR only discourage it",
    "cabf.serverauth.subscriber.subject_key_identifier_extension_present": "RFC 5280 4.2.1.2 says SHOULD include it",
    "cabf.serverauth.subscriber_rsa_digitalsignature_and_keyencipherment_present": (
        "deliberate: RSA server keys keep keyEncipherment for legacy TLS RSA key transport (builder._leaf_key_usage)"
    ),
}
# CA/B Forum TLS BR (lint_cabf_serverauth_cert, as an OV subscriber certificate): what a private CA knowingly differs in.
CABF_ALLOWLIST: dict[str, dict[str, str]] = {profile: _SERVER_LEAF for profile in SERVER_PROFILES}
# Allowlisted codes that only RSA leaves can raise; every other entry must still be raised, or it is stale.
RSA_ONLY = {"cabf.serverauth.subscriber_rsa_digitalsignature_and_keyencipherment_present"}

OV_SUBJECT = {
    "commonName": "www.example.com",
    "organization": "Certwright",
    "country": "US",
    "stateOrProvince": "Washington",
    "locality": "Seattle",
}


def unexcused(findings: list[Finding], allowlist: dict[str, str]) -> list[str]:
    return [str(finding) for finding in findings if finding.code not in allowlist]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_leaf_of_every_profile_passes_the_rfc5280_linters(api: ApiClient, tmp_path: Path, kind: str) -> None:
    pki = build(api, tmp_path, kind)
    issuing = pki.write("issuing.pem", pki.ca_pems[-1])
    jobs: dict[tuple[str, str], tuple[str | Path, ...]] = {}
    for profile in PROFILES:
        leaf = pki.write(f"{profile}.pem", pki.issue(profile).certificate_pem)
        jobs[profile, "certificate"] = ("lint_pkix_cert", leaf)
        if profile == PROFILES[0]:  # the issuer/subject linkage is the same for every profile
            jobs[profile, "issued by"] = ("lint_pkix_signer_signee_cert_chain", issuing, leaf)

    findings = pkilint_all(jobs)
    problems = {key: unexcused(found, PKIX_ALLOWLIST[key[0]]) for key, found in findings.items()}
    assert {key: found for key, found in problems.items() if found} == {}


def test_every_ca_of_a_three_level_hierarchy_passes_the_rfc5280_linters(api: ApiClient, tmp_path: Path) -> None:
    jobs: dict[tuple[str, int, str], tuple[str | Path, ...]] = {}
    for kind in sorted(KINDS):
        pki = build(api, tmp_path, kind, depth=3)
        cas = [pki.write(f"{kind}-ca-{level}.pem", pem) for level, pem in enumerate(pki.ca_pems)]
        for level, ca in enumerate(cas):
            jobs[kind, level, "certificate"] = ("lint_pkix_cert", ca)
            if level:
                jobs[kind, level, "issued by"] = ("lint_pkix_signer_signee_cert_chain", cas[level - 1], ca)

    findings = pkilint_all(jobs)
    assert len(findings) == 10
    problems = {key: unexcused(found, PKIX_ALLOWLIST["CA"]) for key, found in findings.items()}
    assert {key: found for key, found in problems.items() if found} == {}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_server_leaves_differ_from_the_cabf_baseline_only_as_allowlisted(
    api: ApiClient, tmp_path: Path, kind: str
) -> None:
    pki = build(api, tmp_path, kind)
    jobs = {
        profile: (
            "lint_cabf_serverauth_cert",
            "-t",
            "OV-FINAL-CERTIFICATE",
            pki.write(f"{profile}.pem", pki.issue(profile, subject=OV_SUBJECT).certificate_pem),
        )
        for profile in SERVER_PROFILES
    }

    for profile, findings in pkilint_all(jobs).items():
        allowlist = CABF_ALLOWLIST[profile]
        assert unexcused(findings, allowlist) == [], f"{profile}: fix the builder, or allowlist it with a reason"
        expected = set(allowlist) - (set() if kind == "rsa" else RSA_ONLY)
        assert expected - {finding.code for finding in findings} == set(), f"{profile}: remove stale allowlist entries"
