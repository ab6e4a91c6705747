"""dns-01 against pebble-challtestsrv as the configured resolver: the digest found (directly, through a CNAME, for
a wildcard), a wrong or missing record, and a resolver that does not answer (TransientError: undecided)."""

from __future__ import annotations

import pytest
from certwright.adapters.acme_challenges import expected_txt
from certwright.errors import TransientError
from certwright.ports.acme_challenges import ChallengeResult, ChallengeType

from tests.acme_challenges.conftest import KEY_AUTHORIZATION, TOKEN, checker
from tests.acme_tools import ChallTestSrv, free_port


def check(dns: ChallTestSrv, name: str) -> ChallengeResult:
    return checker(acme_dns_resolver=dns.resolver).check(ChallengeType.DNS_01, name, TOKEN, KEY_AUTHORIZATION)


def test_expected_txt_is_the_rfc_8555_digest() -> None:
    # RFC 8555 §8.4: base64url(SHA-256(keyAuthorization)), no padding: 43 characters.
    value = expected_txt(KEY_AUTHORIZATION)
    assert len(value) == 43
    assert "=" not in value
    assert "+" not in value
    assert "/" not in value


def test_the_digest_in_txt_validates(dns: ChallTestSrv) -> None:
    dns.set_txt("_acme-challenge.dns-good.test", expected_txt(KEY_AUTHORIZATION))
    assert check(dns, "dns-good.test") == ChallengeResult(valid=True)


def test_a_cname_to_a_delegated_zone_is_followed(dns: ChallTestSrv) -> None:
    dns.set_txt("_acme-challenge.acme-zone.test", expected_txt(KEY_AUTHORIZATION))
    dns.set_cname("_acme-challenge.dns-alias.test", "_acme-challenge.acme-zone.test")
    assert check(dns, "dns-alias.test").valid


def test_a_wildcard_is_validated_at_its_base_name(dns: ChallTestSrv) -> None:
    dns.set_txt("_acme-challenge.wild.test", expected_txt(KEY_AUTHORIZATION))
    assert check(dns, "*.wild.test").valid


def test_a_wrong_value_is_an_incorrect_response(dns: ChallTestSrv) -> None:
    dns.set_txt("_acme-challenge.dns-wrong.test", expected_txt(TOKEN + ".another-account"))
    result = check(dns, "dns-wrong.test")
    assert (result.valid, result.problem) == (False, "incorrectResponse")
    assert KEY_AUTHORIZATION not in result.detail


def test_no_record_is_a_dns_problem(dns: ChallTestSrv) -> None:
    result = check(dns, "dns-missing.test")
    assert (result.valid, result.problem) == (False, "dns")
    assert "_acme-challenge.dns-missing.test" in result.detail


def test_a_resolver_that_does_not_answer_leaves_it_undecided() -> None:
    silent = f"127.0.0.1:{free_port()}"  # nothing listens: UDP queries go unanswered
    with pytest.raises(TransientError):
        checker(acme_dns_resolver=silent, acme_validation_timeout_seconds=0.5).check(
            ChallengeType.DNS_01, "dns-good.test", TOKEN, KEY_AUTHORIZATION
        )
