"""Nothing is installed that would make things worse: the bundle is checked whole before a file is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from certwright_client.agent.verify import BundleRejected, check_bundle

from tests.agent.pki import Authority, issue, other_key_pem, root_and_issuing


def test_a_good_bundle_passes_with_its_domains(ca: Authority) -> None:
    leaf = issue(ca, 3)
    material = check_bundle(leaf.bundle(), version=3, serial_hex=leaf.serial_hex, now=datetime.now(UTC))
    assert material.serial == leaf.certificate.serial_number
    assert material.domains == ("www.agent.example", "agent.example")
    assert "PRIVATE" not in repr(material), "the key never shows in a repr or a traceback"


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda b: b | {"privateKeyPem": other_key_pem()}, "does not match the certificate"),
        (lambda b: b | {"privateKeyPem": ""}, "no private key"),
        (lambda b: b | {"privateKeyPem": b["privateKeyPem"][:60]}, "not a readable"),
        (lambda b: b | {"certificatePem": b["certificatePem"][:200]}, "not readable PEM"),
        (lambda b: b | {"certChainPem": ""}, "chain cannot be checked"),
        (lambda b: b | {"versionNumber": 2}, "the bundle is version 2"),
        (lambda b: "<html>502</html>", "not a JSON object"),
    ],
)
def test_a_spoiled_bundle_is_rejected_with_a_reason(ca: Authority, spoil: object, reason: str) -> None:
    leaf = issue(ca, 1)
    with pytest.raises(BundleRejected, match=reason) as caught:
        check_bundle(spoil(leaf.bundle()), version=1, serial_hex=leaf.serial_hex, now=datetime.now(UTC))  # type: ignore[operator]
    assert "PRIVATE KEY" not in str(caught.value)


def test_a_chain_that_does_not_link_or_a_wrong_serial_is_rejected(ca: Authority) -> None:
    leaf = issue(ca, 1)
    stranger = root_and_issuing()
    bundle = leaf.bundle() | {"certChainPem": issue(stranger, 1).chain_pem}
    with pytest.raises(BundleRejected, match="does not link"):
        check_bundle(bundle, version=1, serial_hex=leaf.serial_hex, now=datetime.now(UTC))
    with pytest.raises(BundleRejected, match="not the polled"):
        check_bundle(leaf.bundle(), version=1, serial_hex="abc", now=datetime.now(UTC))


def test_expired_and_not_yet_valid_certificates_are_rejected(ca: Authority) -> None:
    now = datetime.now(UTC)
    expired = issue(ca, 1, not_before=now - timedelta(days=10), not_after=now - timedelta(seconds=1))
    with pytest.raises(BundleRejected, match="expired"):
        check_bundle(expired.bundle(), version=1, serial_hex=expired.serial_hex, now=now)
    early = issue(ca, 1, not_before=now + timedelta(hours=1))
    with pytest.raises(BundleRejected, match="not valid before"):
        check_bundle(early.bundle(), version=1, serial_hex=early.serial_hex, now=now)
