"""The path-validation verdict of diagnose (checks.path_verdict) on NIST PKITS vectors from cryptography-vectors.

The subset: PKITS sections 4.1 (signatures), 4.2 (validity periods), 4.3 (name chaining), 4.6 (basic
constraints and path length), 4.7 (key usage) and 4.15 (unknown extensions), validated at 2012-06-01 against
the PKITS trust anchor. Revocation (4.4), policies (4.8-4.12) and name constraints (4.13) are out of it: diagnose
checks revocation itself from the CRL distribution point, and judges policies and name constraints no further
than cryptography's WebPKI profile does.

Where the WebPKI profile cryptography validates with is stricter than RFC 5280, the PKITS-valid path is
rejected; those cases are listed in DIVERGENT with the reason, and the test holds them to that verdict so a change
shows up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cryptography_vectors
import pytest
from certwright.x509.endpoint_checks import path_verdict
from cryptography import x509

CERTS = Path(cryptography_vectors.__file__).parent / "x509" / "PKITS_data" / "certs"
AT = datetime(2012, 6, 1, tzinfo=UTC)
PATHLEN6 = ["pathLenConstraint6subsubCA00Cert", "pathLenConstraint6subCA0Cert", "pathLenConstraint6CACert"]
PATHLEN6_41 = [
    "pathLenConstraint6subsubsubCA41XCert",
    "pathLenConstraint6subsubCA41Cert",
    "pathLenConstraint6subCA4Cert",
    "pathLenConstraint6CACert",
]

# (PKITS section, end-entity certificate, intermediates) — the verdict is in the name: Valid... or Invalid...
AGREED = [
    ("4.1.1", "ValidCertificatePathTest1EE", ["GoodCACert"]),
    ("4.1.2", "InvalidCASignatureTest2EE", ["BadSignedCACert"]),
    ("4.1.3", "InvalidEESignatureTest3EE", ["GoodCACert"]),
    ("4.2.1", "InvalidCAnotBeforeDateTest1EE", ["BadnotBeforeDateCACert"]),
    ("4.2.2", "InvalidEEnotBeforeDateTest2EE", ["GoodCACert"]),
    ("4.2.3", "Validpre2000UTCnotBeforeDateTest3EE", ["GoodCACert"]),
    ("4.2.5", "InvalidCAnotAfterDateTest5EE", ["BadnotAfterDateCACert"]),
    ("4.2.6", "InvalidEEnotAfterDateTest6EE", ["GoodCACert"]),
    ("4.2.7", "Invalidpre2000UTCEEnotAfterDateTest7EE", ["GoodCACert"]),
    ("4.2.8", "ValidGeneralizedTimenotAfterDateTest8EE", ["GoodCACert"]),
    ("4.3.1", "InvalidNameChainingTest1EE", ["GoodCACert"]),
    ("4.3.2", "InvalidNameChainingOrderTest2EE", ["NameOrderingCACert"]),
    ("4.3.6", "ValidNameUIDsTest6EE", ["UIDCACert"]),
    ("4.3.7", "ValidRFC3280MandatoryAttributeTypesTest7EE", ["RFC3280MandatoryAttributeTypesCACert"]),
    ("4.3.8", "ValidRFC3280OptionalAttributeTypesTest8EE", ["RFC3280OptionalAttributeTypesCACert"]),
    ("4.3.9", "ValidUTF8StringEncodedNamesTest9EE", ["UTF8StringEncodedNamesCACert"]),
    ("4.6.1", "InvalidMissingbasicConstraintsTest1EE", ["MissingbasicConstraintsCACert"]),
    ("4.6.2", "InvalidcAFalseTest2EE", ["basicConstraintsCriticalcAFalseCACert"]),
    ("4.6.3", "InvalidcAFalseTest3EE", ["basicConstraintsNotCriticalcAFalseCACert"]),
    ("4.6.5", "InvalidpathLenConstraintTest5EE", ["pathLenConstraint0subCACert", "pathLenConstraint0CACert"]),
    ("4.6.6", "InvalidpathLenConstraintTest6EE", ["pathLenConstraint0subCACert", "pathLenConstraint0CACert"]),
    ("4.6.7", "ValidpathLenConstraintTest7EE", ["pathLenConstraint0CACert"]),
    ("4.6.8", "ValidpathLenConstraintTest8EE", ["pathLenConstraint0CACert"]),
    ("4.6.9", "InvalidpathLenConstraintTest9EE", PATHLEN6),
    ("4.6.10", "InvalidpathLenConstraintTest10EE", PATHLEN6),
    ("4.6.13", "ValidpathLenConstraintTest13EE", PATHLEN6_41),
    ("4.6.14", "ValidpathLenConstraintTest14EE", PATHLEN6_41),
    ("4.7.1", "InvalidkeyUsageCriticalkeyCertSignFalseTest1EE", ["keyUsageCriticalkeyCertSignFalseCACert"]),
    ("4.7.2", "InvalidkeyUsageNotCriticalkeyCertSignFalseTest2EE", ["keyUsageNotCriticalkeyCertSignFalseCACert"]),
    ("4.7.3", "ValidkeyUsageNotCriticalTest3EE", ["keyUsageNotCriticalCACert"]),
    ("4.15.1", "ValidUnknownNotCriticalCertificateExtensionTest1EE", []),
    ("4.15.2", "InvalidUnknownCriticalCertificateExtensionTest2EE", []),
]

# PKITS-valid paths the WebPKI profile rejects: (section, end entity, intermediates, the verifier's reason).
DIVERGENT = [
    ("4.1.4", "ValidDSASignaturesTest4EE", ["DSACACert"], "Forbidden public key algorithm"),
    ("4.2.4", "ValidGeneralizedTimenotBeforeDateTest4EE", ["GoodCACert"], "must be UtcTime"),
    ("4.3.3", "ValidNameChainingWhitespaceTest3EE", ["GoodCACert"], "candidates exhausted"),
    ("4.3.4", "ValidNameChainingWhitespaceTest4EE", ["GoodCACert"], "candidates exhausted"),
    ("4.3.5", "ValidNameChainingCapitalizationTest5EE", ["GoodCACert"], "candidates exhausted"),
    ("4.6.4", "ValidbasicConstraintsNotCriticalTest4EE", ["basicConstraintsNotCriticalCACert"], "2.5.29.19"),
]


def _load(name: str) -> x509.Certificate:
    return x509.load_der_x509_certificate((CERTS / f"{name}.crt").read_bytes())


ANCHOR = _load("TrustAnchorRootCertificate")


@pytest.mark.parametrize(("section", "leaf", "intermediates"), AGREED, ids=[c[0] for c in AGREED])
def test_pkits_verdict(section: str, leaf: str, intermediates: list[str]) -> None:
    verdict = path_verdict(_load(leaf), [_load(i) for i in intermediates], [ANCHOR], AT)
    assert verdict.valid is leaf.startswith("Valid"), (section, verdict.reason)
    if verdict.valid:
        assert verdict.chain[-1] == ANCHOR


@pytest.mark.parametrize(("section", "leaf", "intermediates", "reason"), DIVERGENT, ids=[c[0] for c in DIVERGENT])
def test_pkits_cases_the_webpki_profile_rejects(section: str, leaf: str, intermediates: list[str], reason: str) -> None:
    assert leaf.startswith("Valid")
    verdict = path_verdict(_load(leaf), [_load(i) for i in intermediates], [ANCHOR], AT)
    assert not verdict.valid and reason in (verdict.reason or ""), (section, verdict.reason)


def test_an_empty_trust_store_is_its_own_verdict() -> None:
    verdict = path_verdict(_load("ValidCertificatePathTest1EE"), [_load("GoodCACert")], [], AT)
    assert (verdict.valid, verdict.reason) == (False, "the trust store is empty")
