"""CA policy checks: name constraints, path length, and validity against the CA's rules and its own expiry."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.authority import (
    CaConfigType,
    CaRules,
    CaVersion,
    CertificateAuthority,
    LifecycleState,
    NameConstraint,
    Validity,
    check_leaf_validity,
    check_name_constraints,
    check_root_validity,
    check_subordinate_validity,
    dns_within,
    ensure_can_issue,
    subordinate_path_length,
)
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.errors import ConflictError, InvalidInputError, PolicyViolationError

NOW = datetime(2024, 5, 17, 10, 30, 15, 123456, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


def dns(*values: str) -> tuple[SubjectAlternativeName, ...]:
    return tuple(SubjectAlternativeName(SanType.DNS, v) for v in values)


def ips(*values: str) -> tuple[SubjectAlternativeName, ...]:
    return tuple(SubjectAlternativeName(SanType.IP, v) for v in values)


def constraint(**raw: list[str]) -> NameConstraint:
    return NameConstraint.from_dict(raw)


def make_ca(
    rules: CaRules | None = None,
    *,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=3650),
    state: LifecycleState = LifecycleState.ACTIVE,
    constraints: tuple[NameConstraint, ...] = (),
) -> CertificateAuthority:
    return CertificateAuthority(
        id="ca-test",
        name="test",
        config_type=CaConfigType.ROOT_CA_GENERATED_INTERNALLY,
        subject=Subject("Test CA"),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        kms_key_id="arn:aws:kms:us-east-1:123456789012:key/test",
        rules=rules or CaRules(),
        lifecycle_state=state,
        created_by="tester",
        created_at=not_before,
        current_version=CaVersion(1, "01", Validity(not_before, not_after), "PEM"),
        inherited_constraints=constraints,
    )


# -- DNS name constraints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "subtree", "inside"),
    [
        ("example.com", "example.com", True),
        ("www.example.com", "example.com", True),
        ("a.b.example.com", "example.com", True),
        ("*.example.com", "example.com", True),
        ("notexample.com", "example.com", False),
        ("example.com.evil", "example.com", False),
        ("example.com", "www.example.com", False),
        ("www.corp.internal", "internal", True),
    ],
)
def test_dns_subtree_matching_follows_label_boundaries(name: str, subtree: str, inside: bool) -> None:
    assert dns_within(name, subtree) is inside


def test_names_inside_a_permitted_subtree_pass() -> None:
    rule = constraint(permittedDnsSubtrees=["example.com", "example.org"])
    assert rule.violations(dns("example.com", "www.example.com", "api.example.org", "*.example.com")) == []


def test_names_outside_every_permitted_subtree_are_violations() -> None:
    rule = constraint(permittedDnsSubtrees=["example.com"])
    problems = rule.violations(dns("www.example.com", "www.example.net", "example.com.evil.net"))
    assert problems == [
        "DNS www.example.net is outside the permitted subtrees",
        "DNS example.com.evil.net is outside the permitted subtrees",
    ]


def test_an_excluded_subtree_wins_over_a_permitted_one() -> None:
    rule = constraint(permittedDnsSubtrees=["example.com"], excludedDnsSubtrees=["secret.example.com"])
    assert rule.violations(dns("www.example.com")) == []
    assert rule.violations(dns("secret.example.com", "db.secret.example.com")) == [
        "DNS secret.example.com is in an excluded subtree",
        "DNS db.secret.example.com is in an excluded subtree",
    ]


def test_a_wildcard_must_fit_inside_the_permitted_subtree() -> None:
    rule = constraint(permittedDnsSubtrees=["www.example.com"])
    assert rule.violations(dns("*.www.example.com")) == []
    assert rule.violations(dns("*.example.com")) == ["DNS *.example.com is outside the permitted subtrees"]


def test_a_wildcard_inside_an_excluded_subtree_is_a_violation() -> None:
    rule = constraint(excludedDnsSubtrees=["corp.example.com"])
    assert rule.violations(dns("*.corp.example.com")) == ["DNS *.corp.example.com is in an excluded subtree"]


def test_a_wildcard_that_would_match_an_excluded_name_is_a_violation() -> None:
    # *.example.com is valid for secret.example.com, which this CA must never vouch for.
    rule = constraint(permittedDnsSubtrees=["example.com"], excludedDnsSubtrees=["secret.example.com"])
    assert rule.violations(dns("*.example.com")) == ["DNS *.example.com is in an excluded subtree"]
    # The wildcard matches one label only, so a deeper exclusion is not reachable through it.
    deeper = constraint(excludedDnsSubtrees=["a.secret.example.com"])
    assert deeper.violations(dns("*.example.com")) == []


def test_single_label_subtrees_are_allowed_in_constraints() -> None:
    rule = constraint(permittedDnsSubtrees=["internal"])
    assert rule.permitted_dns == ("internal",)
    assert rule.violations(dns("db.corp.internal")) == []
    assert rule.violations(dns("db.corp.external")) == ["DNS db.corp.external is outside the permitted subtrees"]


@pytest.mark.parametrize(
    "raw",
    [
        {"permittedDnsSubtrees": ["*.example.com"]},
        {"excludedDnsSubtrees": ["bad_label.example.com"]},
        {"permittedIpSubtrees": ["10.0.0.1/8"]},
        {"permittedIpSubtrees": ["not-a-network"]},
        {"excludedIpSubtrees": ["2001:db8::/129"]},
    ],
)
def test_malformed_constraints_are_refused(raw: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidInputError):
        NameConstraint.from_dict(raw)


def test_constraints_round_trip_through_their_dict_form() -> None:
    raw = {
        "permittedDnsSubtrees": ["example.com"],
        "excludedDnsSubtrees": ["secret.example.com"],
        "permittedIpSubtrees": ["10.0.0.0/8", "2001:db8::/32"],
        "excludedIpSubtrees": ["10.9.0.0/16"],
    }
    rule = NameConstraint.from_dict(raw)
    assert rule.as_dict() == raw
    assert NameConstraint.from_dict(rule.as_dict()) == rule
    assert not rule.is_empty
    assert NameConstraint().is_empty


# -- IP name constraints ---------------------------------------------------------------------------------


def test_ip_addresses_are_matched_within_their_own_family() -> None:
    rule = constraint(permittedIpSubtrees=["10.0.0.0/8", "2001:db8::/32"], excludedIpSubtrees=["10.9.0.0/16"])
    assert rule.permitted_ip == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))
    assert rule.violations(ips("10.1.2.3", "2001:db8::1")) == []
    assert rule.violations(ips("10.9.1.1")) == ["IP 10.9.1.1 is in an excluded subtree"]
    assert rule.violations(ips("192.0.2.1", "2001:db9::1")) == [
        "IP 192.0.2.1 is outside the permitted subtrees",
        "IP 2001:db9::1 is outside the permitted subtrees",
    ]


def test_permitting_only_ipv4_refuses_every_ipv6_address() -> None:
    rule = constraint(permittedIpSubtrees=["10.0.0.0/8"])
    assert rule.violations(ips("::1")) == ["IP ::1 is outside the permitted subtrees"]


def test_excluding_ipv6_leaves_ipv4_alone() -> None:
    rule = constraint(excludedIpSubtrees=["::/0"])
    assert rule.violations(ips("10.0.0.1")) == []
    assert rule.violations(ips("2001:db8::1")) == ["IP 2001:db8::1 is in an excluded subtree"]


def test_ip_constraints_do_not_apply_to_dns_names_and_vice_versa() -> None:
    rule = constraint(permittedIpSubtrees=["10.0.0.0/8"], permittedDnsSubtrees=["example.com"])
    assert rule.violations((*dns("www.example.com"), *ips("10.0.0.1"))) == []


def test_check_name_constraints_applies_every_inherited_constraint() -> None:
    ca = make_ca(
        constraints=(
            constraint(permittedDnsSubtrees=["example.com"]),
            constraint(excludedDnsSubtrees=["secret.example.com"]),
        )
    )
    check_name_constraints(ca, dns("www.example.com"))
    with pytest.raises(PolicyViolationError) as caught:
        check_name_constraints(ca, dns("www.example.com", "www.example.net", "x.secret.example.com"))
    assert caught.value.code == "NameConstraintViolation"
    assert "www.example.net" in caught.value.message
    assert "x.secret.example.com" in caught.value.message


# -- path length -----------------------------------------------------------------------------------------


def test_an_issuer_with_path_length_zero_cannot_have_subordinates() -> None:
    with pytest.raises(PolicyViolationError) as caught:
        subordinate_path_length(make_ca(CaRules(path_length=0)), None)
    assert caught.value.code == "PathLengthExceeded"


def test_an_unconstrained_issuer_passes_the_request_through() -> None:
    issuer = make_ca(CaRules(path_length=None))
    assert subordinate_path_length(issuer, None) is None
    assert subordinate_path_length(issuer, 5) == 5


def test_a_constrained_issuer_gives_one_less_by_default_and_allows_smaller_requests() -> None:
    issuer = make_ca(CaRules(path_length=2))
    assert subordinate_path_length(issuer, None) == 1
    assert subordinate_path_length(issuer, 1) == 1
    assert subordinate_path_length(issuer, 0) == 0


def test_requesting_more_path_length_than_the_issuer_allows_is_refused() -> None:
    with pytest.raises(PolicyViolationError) as caught:
        subordinate_path_length(make_ca(CaRules(path_length=2)), 2)
    assert caught.value.code == "PathLengthExceeded"


@pytest.mark.parametrize("value", [-1, 11, "2", 1.5])
def test_path_length_rules_must_be_small_integers(value: object) -> None:
    with pytest.raises(InvalidInputError):
        CaRules.from_dict({"pathLengthConstraint": value})


# -- validity --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["P30D", "PT30M", "P1Y", "P1M", "P10Y"])
def test_validity_is_inclusive_and_starts_on_a_whole_second(text: str) -> None:
    duration = Duration.parse(text)
    validity = Validity.starting(NOW, duration)
    assert validity.not_before == NOW.replace(microsecond=0)
    assert validity.not_after - validity.not_before + ONE_SECOND == duration.after(validity.not_before) - (
        validity.not_before
    )
    assert validity.contains(validity.not_before)
    assert validity.contains(validity.not_after)
    assert not validity.contains(validity.not_after + ONE_SECOND)
    assert not validity.contains(validity.not_before - ONE_SECOND)


def test_exact_durations_give_exactly_that_many_seconds() -> None:
    validity = Validity.starting(NOW, Duration.parse("P30D"))
    assert validity.not_after - validity.not_before + ONE_SECOND == timedelta(days=30)


def test_a_leaf_up_to_the_ca_rule_is_allowed() -> None:
    ca = make_ca(CaRules(leaf_max_validity=Duration.parse("P90D")))
    for text in ("P90D", "P89DT23H59M59S", "PT1M"):
        check_leaf_validity(ca, Validity.starting(NOW, Duration.parse(text)), Duration.parse(text))


@pytest.mark.parametrize("text", ["P90DT1S", "P91D", "P1Y"])
def test_a_leaf_longer_than_the_ca_rule_is_refused(text: str) -> None:
    ca = make_ca(CaRules(leaf_max_validity=Duration.parse("P90D")))
    requested = Duration.parse(text)
    with pytest.raises(PolicyViolationError) as caught:
        check_leaf_validity(ca, Validity.starting(NOW, requested), requested)
    assert caught.value.code == "ValidityExceedsCaRule"


def test_a_leaf_may_end_exactly_when_its_issuer_does_but_not_a_second_later() -> None:
    requested = Duration.parse("P30D")
    validity = Validity.starting(NOW, requested)
    check_leaf_validity(make_ca(not_after=validity.not_after), validity, requested)
    with pytest.raises(PolicyViolationError) as caught:
        check_leaf_validity(make_ca(not_after=validity.not_after - ONE_SECOND), validity, requested)
    assert caught.value.code == "ValidityExceedsIssuer"


def test_a_subordinate_is_held_to_the_issuers_ca_rule_and_expiry() -> None:
    issuer = make_ca(CaRules(ca_max_validity=Duration.parse("P5Y")), not_after=NOW + timedelta(days=3 * 365))
    two_years = Duration.parse("P2Y")
    check_subordinate_validity(issuer, Validity.starting(NOW, two_years), two_years)
    five_years = Duration.parse("P5Y")
    with pytest.raises(PolicyViolationError) as outlives:
        check_subordinate_validity(issuer, Validity.starting(NOW, five_years), five_years)
    assert outlives.value.code == "ValidityExceedsIssuer"
    six_years = Duration.parse("P6Y")
    with pytest.raises(PolicyViolationError) as too_long:
        check_subordinate_validity(make_ca(issuer.rules), Validity.starting(NOW, six_years), six_years)
    assert too_long.value.code == "ValidityExceedsCaRule"


def test_a_root_is_held_to_its_own_ca_rule_inclusively() -> None:
    rules = CaRules(ca_max_validity=Duration.parse("P10Y"))
    ten_years = Duration.parse("P10Y")
    check_root_validity(rules, Validity.starting(NOW, ten_years), ten_years)
    a_second_more = Duration.parse("P10YT1S")
    with pytest.raises(PolicyViolationError):
        check_root_validity(rules, Validity.starting(NOW, a_second_more), a_second_more)


def test_only_an_active_ca_within_its_validity_can_issue() -> None:
    ensure_can_issue(make_ca(), NOW)
    with pytest.raises(ConflictError) as inactive:
        ensure_can_issue(make_ca(state=LifecycleState.PENDING_DELETION), NOW)
    assert inactive.value.code == "CertificateAuthorityNotActive"
    with pytest.raises(ConflictError) as expired:
        ensure_can_issue(make_ca(not_after=NOW - ONE_SECOND), NOW)
    assert expired.value.code == "CertificateAuthorityExpired"
    with pytest.raises(ConflictError) as early:
        ensure_can_issue(make_ca(not_before=NOW + ONE_SECOND), NOW)
    assert early.value.code == "CertificateAuthorityExpired"
