"""Subject and SAN validation: every field is checked before anything is signed."""

from __future__ import annotations

import pytest
from certwright.domain.names import (
    MAX_SANS,
    SanType,
    Subject,
    SubjectAlternativeName,
    normalize_dns_name,
    normalize_ip,
    validate_sans,
    validate_subject,
)
from certwright.errors import InvalidInputError


def dns(value: str) -> dict[str, str]:
    return {"type": "DNS", "value": value}


def ip(value: str) -> dict[str, str]:
    return {"type": "IP", "value": value}


# -- subjects ----------------------------------------------------------------------------------------------


def test_a_full_subject_is_accepted_as_given() -> None:
    raw = {
        "commonName": "Zürich Web Tier",
        "organization": "Certwright AG",
        "organizationalUnit": "Platform",
        "country": "CH",
        "stateOrProvince": "Zürich",
        "locality": "Zürich",
    }
    subject = validate_subject(raw)
    assert subject == Subject("Zürich Web Tier", "Certwright AG", "Platform", "CH", "Zürich", "Zürich")
    assert subject.as_dict() == raw


def test_a_common_name_alone_is_enough() -> None:
    assert validate_subject({"commonName": "db-1"}).as_dict() == {"commonName": "db-1"}


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"organization": "Certwright"},
        {"commonName": ""},
        {"commonName": "   "},
        {"commonName": " leading"},
        {"commonName": "trailing "},
        {"commonName": "x" * 65},
        {"commonName": "nul\x00byte"},
        {"commonName": "two\r\nlines"},
        {"commonName": "tab\tinside"},
        {"commonName": "evil\u202egnp.exe"},
        {"commonName": "zero\u200bwidth"},
        {"commonName": "line\u2028separator"},
        {"commonName": "ok", "organization": "bell\x07"},
        {"commonName": "ok", "locality": "right\u202eto-left"},
        {"commonName": "ok", "country": "us"},
        {"commonName": "ok", "country": "USA"},
        {"commonName": "ok", "country": "U1"},
        {"commonName": "ok", "emailAddress": "a@example.com"},
        {"commonName": "ok", "organizationalUnit": "u" * 65},
        {"commonName": "ok", "stateOrProvince": "s" * 129},
    ],
)
def test_bad_subjects_are_refused(raw: dict[str, str]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_subject(raw)
    assert caught.value.code == "InvalidParameter"


def test_the_refusal_names_the_offending_field_and_character() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_subject({"commonName": "fine", "organization": "bad\u202e"})
    assert "subject.organization" in caught.value.message
    assert "U+202E" in caught.value.message


# -- DNS names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("www.example.com", "www.example.com"),
        ("WWW.Example.COM", "www.example.com"),
        ("www.example.com.", "www.example.com"),
        ("*.example.com", "*.example.com"),
        ("a-b.c-d.example", "a-b.c-d.example"),
        ("1.2.example.com", "1.2.example.com"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de"),
        ("www.xn--e1afmkfd.xn--p1ai", "www.xn--e1afmkfd.xn--p1ai"),
        ("*.xn--bcher-kva.example", "*.xn--bcher-kva.example"),
        ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
    ],
)
def test_valid_dns_names_are_normalized(value: str, normal: str) -> None:
    assert normalize_dns_name(value) == normal


@pytest.mark.parametrize(
    "value",
    [
        "localhost",
        "example.",
        ".example.com",
        "www..example.com",
        "www.example.com..",
        "-www.example.com",
        "www-.example.com",
        "ww_w.example.com",
        "www example.com",
        "a" * 64 + ".example.com",
        ".".join(["a" * 63] * 4) + ".com",
        "example.123",
        "*.com",
        "*",
        "**.example.com",
        "*a.example.com",
        "a*.example.com",
        "www.*.example.com",
        "*.*.example.com",
        "münchen.de",
        "xn--.example.com",
        "xn--pypal-4ve.com",  # Latin and Cyrillic in one label
        "xn--abc-kdc.example",  # decodes to a decomposed (non-NFC) label
        "xn--abc.example",  # decodes to plain ASCII
        "ab--cd.example.com",
        "xn--zz-!.example.com",
        "nul\x00.example.com",
        "www.example.com\r\n",
        "www.exa\u202emple.com",
    ],
)
def test_invalid_dns_names_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_dns_name(value)


def test_wildcards_can_be_forbidden() -> None:
    with pytest.raises(InvalidInputError):
        normalize_dns_name("*.example.com", allow_wildcard=False)


# -- IP addresses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("192.0.2.10", "192.0.2.10"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::1", "::1"),
        ("::ffff:192.0.2.1", "::ffff:c000:201"),
    ],
)
def test_ip_addresses_are_normalized(value: str, normal: str) -> None:
    assert normalize_ip(value) == normal


@pytest.mark.parametrize(
    "value", ["", "300.1.1.1", "192.0.2", "010.0.0.1", "2001:db8::1::2", "example.com", "1.2.3.4\n"]
)
def test_invalid_ip_addresses_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_ip(value)


# -- SAN lists ---------------------------------------------------------------------------------------------


def test_a_mixed_san_list_is_validated_in_order() -> None:
    sans = validate_sans([dns("WWW.example.com"), ip("2001:DB8::1"), dns("*.api.example.com"), ip("192.0.2.1")])
    assert sans == (
        SubjectAlternativeName(SanType.DNS, "www.example.com"),
        SubjectAlternativeName(SanType.IP, "2001:db8::1"),
        SubjectAlternativeName(SanType.DNS, "*.api.example.com"),
        SubjectAlternativeName(SanType.IP, "192.0.2.1"),
    )


@pytest.mark.parametrize(
    "raw",
    [
        [dns("www.example.com"), dns("WWW.EXAMPLE.COM")],
        [dns("www.example.com"), dns("www.example.com.")],
        [ip("2001:db8::1"), ip("2001:0DB8:0:0::1")],
        [ip("192.0.2.1"), ip("192.0.2.1")],
    ],
)
def test_duplicates_after_normalization_are_refused(raw: list[dict[str, str]]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_sans(raw)
    assert "subjectAlternativeNames[1]" in caught.value.message


def test_an_ip_address_is_not_accepted_as_a_dns_name() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_sans([ip("192.0.2.1"), dns("192.0.2.1")])
    assert "all-numeric" in caught.value.message


def test_one_hundred_names_are_allowed_and_one_hundred_and_one_are_not() -> None:
    names = [dns(f"host{i}.example.com") for i in range(MAX_SANS + 1)]
    assert len(validate_sans(names[:MAX_SANS])) == MAX_SANS
    with pytest.raises(InvalidInputError) as caught:
        validate_sans(names)
    assert str(MAX_SANS) in caught.value.message


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "URI", "value": "ftp://example.com"},
        {"type": "dns", "value": "www.example.com"},
        {"value": "www.example.com"},
        {"type": "DNS"},
        dns("bad\u202e.example.com"),
        dns("*.com"),
        ip("999.0.0.1"),
    ],
)
def test_every_name_is_checked_including_the_last(bad: dict[str, str]) -> None:
    good = [dns(f"n{i}.example.com") for i in range(5)] + [ip("192.0.2.7")]
    with pytest.raises(InvalidInputError) as caught:
        validate_sans([*good, bad])
    assert f"subjectAlternativeNames[{len(good)}]" in caught.value.message
