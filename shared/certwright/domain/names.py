"""Subject names and subject alternative names: validation of every field before anything is signed."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from certwright.errors import InvalidInputError

MAX_SANS = 100
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# X.520 upper bounds, and the attributes a subject may carry.
SUBJECT_FIELDS: dict[str, int] = {
    "commonName": 64,
    "organization": 64,
    "organizationalUnit": 64,
    "country": 2,
    "stateOrProvince": 128,
    "locality": 128,
    # The rest of OCI's subject attributes, with RFC 5280 Appendix A upper bounds (ub-name 32768 for the name
    # parts, ub-title 64, ub-serial-number 64, ub-pseudonym 128, ub-emailaddress-length 255; X.520's 128 for street;
    # dnQualifier has no bound in RFC 5280: 64 here).
    "serialNumber": 64,
    "email": 255,
    "title": 64,
    "surname": 32768,
    "givenName": 32768,
    "initials": 32768,
    "pseudonym": 128,
    "generationQualifier": 32768,
    "distinguishedNameQualifier": 64,
    "street": 128,
}
# Repeatable: a list of labels, most significant first (DC=com, DC=example), each an IA5String of at most 63.
DOMAIN_COMPONENT = "domainComponent"
MAX_DOMAIN_COMPONENTS = 10
# PrintableString (X.680): what serialNumber and dnQualifier must be written as.
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")
_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@(?P<domain>[^@]+)"
)


class SanType(StrEnum):
    DNS = "DNS"
    IP = "IP"
    URI = "URI"
    EMAIL = "EMAIL"


MAX_URI = 2048
_SPIFFE_TRUST_DOMAIN = re.compile(r"[a-z0-9._-]+")
_SPIFFE_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_URI = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[^/?#@:]+)(?::\d{1,5})?(?P<rest>[/?#][^\s]*)?")


@dataclass(frozen=True)
class Subject:
    common_name: str
    organization: str | None = None
    organizational_unit: str | None = None
    country: str | None = None
    state_or_province: str | None = None
    locality: str | None = None
    serial_number: str | None = None
    email: str | None = None
    title: str | None = None
    surname: str | None = None
    given_name: str | None = None
    initials: str | None = None
    pseudonym: str | None = None
    generation_qualifier: str | None = None
    distinguished_name_qualifier: str | None = None
    street: str | None = None
    domain_components: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        pairs: dict[str, Any] = {
            "commonName": self.common_name,
            "organization": self.organization,
            "organizationalUnit": self.organizational_unit,
            "country": self.country,
            "stateOrProvince": self.state_or_province,
            "locality": self.locality,
            "serialNumber": self.serial_number,
            "email": self.email,
            "title": self.title,
            "surname": self.surname,
            "givenName": self.given_name,
            "initials": self.initials,
            "pseudonym": self.pseudonym,
            "generationQualifier": self.generation_qualifier,
            "distinguishedNameQualifier": self.distinguished_name_qualifier,
            "street": self.street,
            DOMAIN_COMPONENT: list(self.domain_components) or None,
        }
        return {k: v for k, v in pairs.items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Subject:
        return cls(
            common_name=raw["commonName"],
            organization=raw.get("organization"),
            organizational_unit=raw.get("organizationalUnit"),
            country=raw.get("country"),
            state_or_province=raw.get("stateOrProvince"),
            locality=raw.get("locality"),
            serial_number=raw.get("serialNumber"),
            email=raw.get("email"),
            title=raw.get("title"),
            surname=raw.get("surname"),
            given_name=raw.get("givenName"),
            initials=raw.get("initials"),
            pseudonym=raw.get("pseudonym"),
            generation_qualifier=raw.get("generationQualifier"),
            distinguished_name_qualifier=raw.get("distinguishedNameQualifier"),
            street=raw.get("street"),
            domain_components=tuple(raw.get(DOMAIN_COMPONENT) or ()),
        )


@dataclass(frozen=True)
class SubjectAlternativeName:
    type: SanType
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type.value, "value": self.value}


def check_text(value: str, field: str, max_length: int) -> str:
    """A printable, single-line, direction-safe string within its length bound."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must not be empty")
    if value != value.strip():
        raise InvalidInputError(f"{field} must not start or end with white space")
    if len(value) > max_length:
        raise InvalidInputError(f"{field} is longer than {max_length} characters")
    for char in value:
        # Cc: NUL, CR, LF and other controls; Cf: bidi overrides, zero-width joiners; Zl/Zp separators.
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}:
            raise InvalidInputError(f"{field} contains a control or invisible character U+{ord(char):04X}")
    return value


def validate_subject(raw: dict[str, Any]) -> Subject:
    unknown = set(raw) - set(SUBJECT_FIELDS) - {DOMAIN_COMPONENT}
    if unknown:
        raise InvalidInputError(f"subject has unknown fields: {', '.join(sorted(unknown))}")
    if "commonName" not in raw:
        raise InvalidInputError("subject.commonName is required")
    for field, bound in SUBJECT_FIELDS.items():
        if field in raw:
            check_text(raw[field], f"subject.{field}", bound)
    country = raw.get("country")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise InvalidInputError("subject.country must be a two-letter ISO 3166 code in capitals")
    for field in ("serialNumber", "distinguishedNameQualifier"):
        if field in raw and not _PRINTABLE.fullmatch(raw[field]):
            raise InvalidInputError(f"subject.{field} must be a PrintableString (letters, digits, ' ()+,-./:=?)")
    if "email" in raw:
        check_email(raw["email"], field="subject.email")
    components = raw.get(DOMAIN_COMPONENT)
    if components is not None:
        if not isinstance(components, list | tuple) or not 1 <= len(components) <= MAX_DOMAIN_COMPONENTS:
            raise InvalidInputError(f"subject.domainComponent must be a list of 1 to {MAX_DOMAIN_COMPONENTS} labels")
        for label in components:
            if not isinstance(label, str) or not _LABEL.match(label.lower()):
                raise InvalidInputError(f"subject.domainComponent {label!r} is not a DNS label (LDH, 1-63)")
    return Subject.from_dict(raw)


def check_uri(value: str, *, field: str) -> str:
    """A SPIFFE ID (spiffe://trust-domain/path, per the SPIFFE ID spec) or an absolute https/http URI with a host."""
    check_text(value, field, MAX_URI)
    if not value.isascii() or any(c.isspace() for c in value):
        raise InvalidInputError(f"{field} {value!r} must be an ASCII URI without spaces (percent-encode)")
    if value.startswith("spiffe://"):
        trust_domain, _, path = value[len("spiffe://") :].partition("/")
        if not trust_domain or not _SPIFFE_TRUST_DOMAIN.fullmatch(trust_domain):
            raise InvalidInputError(f"{field} {value!r}: a SPIFFE trust domain is lower-case letters, digits, . - _")
        if path and (path.endswith("/") or not all(_SPIFFE_SEGMENT.fullmatch(s) for s in path.split("/"))):
            raise InvalidInputError(
                f"{field} {value!r}: SPIFFE path segments are letters, digits, . - _ (no empty, no '.' or '..')"
            )
        if path and any(s in (".", "..") for s in path.split("/")):
            raise InvalidInputError(f"{field} {value!r}: SPIFFE path segments cannot be '.' or '..'")
        return value
    match = _URI.fullmatch(value)
    if match is None or match.group("scheme") not in ("https", "http"):
        raise InvalidInputError(f"{field} {value!r} must be a spiffe:// ID or an http(s) URI with a host")
    normalize_dns_name(match.group("host"), field=field, allow_wildcard=False)
    return value


def uri_host(value: str) -> str:
    """The host of a URI SAN (a SPIFFE ID's trust domain): what RFC 5280 URI name constraints apply to."""
    rest = value.split("://", 1)[1]
    return rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split(":", 1)[0].lower()


def check_email(value: str, *, field: str) -> str:
    """An RFC 5321 mailbox (ASCII dot-atom local part of at most 64, a domain name) of at most 254 characters."""
    check_text(value, field, 254)
    match = _EMAIL.fullmatch(value) if value.isascii() else None
    if match is None or len(match.group("local")) > 64:
        raise InvalidInputError(f"{field} {value!r} is not an email address (local@domain, ASCII)")
    normalize_dns_name(match.group("domain"), field=field, allow_wildcard=False)
    return value


def normalize_dns_name(value: str, *, field: str = "DNS name", allow_wildcard: bool = True) -> str:
    """Lower-cased LDH name in A-label form; one leading wildcard label at most."""
    check_text(value, field, 253)
    if not value.isascii():
        raise InvalidInputError(f"{field} {value!r} must be in A-label (xn--) form; convert IDNs first")
    name = value.lower().rstrip(".") if value.endswith(".") and not value.endswith("..") else value.lower()
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidInputError(f"{field} {value!r} must be a fully qualified name with at least two labels")
    if "*" in name:
        if not allow_wildcard:
            raise InvalidInputError(f"{field} {value!r}: a wildcard may only be the whole leftmost label")
        check_wildcard(name, field=field)
    for label in labels:
        if label == "*":
            continue
        if not _LABEL.match(label):
            raise InvalidInputError(f"{field} {value!r} has an invalid label {label!r}")
        if label[2:4] == "--":
            _check_a_label(label, field, value)
    if labels[-1].isdigit():
        raise InvalidInputError(f"{field} {value!r} has an all-numeric top-level label")
    return name


def check_wildcard(value: str, *, field: str = "DNS name") -> None:
    """A name with a `*` is a wildcard: `*` alone as the leftmost label, with at least two labels after it.

    Refuses `*`, `*.com`, `a.*.example`, `*foo.example` and `f*o.example` — the same words for a name in a
    request and for one in an imported certificate.
    """
    if "*" not in value:
        return
    labels = value.rstrip(".").split(".")
    if len(labels) < 2:
        raise InvalidInputError(f"{field} {value!r} must be a fully qualified name with at least two labels")
    if labels[0] != "*" or any("*" in label for label in labels[1:]):
        raise InvalidInputError(f"{field} {value!r}: a wildcard may only be the whole leftmost label")
    if len(labels) < 3:
        raise InvalidInputError(f"{field} {value!r}: a wildcard needs at least two labels after it")


def _check_a_label(label: str, field: str, whole: str) -> None:
    if not label.startswith("xn--"):
        raise InvalidInputError(f"{field} {whole!r}: label {label!r} has hyphens in positions 3-4")
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except UnicodeError as err:
        raise InvalidInputError(f"{field} {whole!r}: {label!r} is not a valid IDN A-label") from err
    if not decoded or decoded.isascii():
        raise InvalidInputError(f"{field} {whole!r}: {label!r} does not encode an internationalized label")
    if decoded.encode("punycode") != label[4:].encode("ascii"):
        raise InvalidInputError(f"{field} {whole!r}: {label!r} is not the canonical encoding of its U-label")
    if decoded != decoded.lower():
        # IDNA2008 U-labels are lower case; an upper-case one ("bÜcher") has no valid A-label form.
        raise InvalidInputError(f"{field} {whole!r}: {label!r} encodes upper-case letters")
    if decoded != unicodedata.normalize("NFC", decoded):
        raise InvalidInputError(f"{field} {whole!r}: {label!r} is not in Unicode normal form C")
    scripts: set[str] = set()
    for char in decoded:
        category = unicodedata.category(char)
        if category[0] not in "LMN" and char != "-":
            raise InvalidInputError(f"{field} {whole!r}: {label!r} contains a disallowed character")
        if category[0] == "L":
            scripts.add(_script_of(char))
    if len(scripts - {"COMMON"}) > 1:
        raise InvalidInputError(f"{field} {whole!r}: {label!r} mixes scripts ({', '.join(sorted(scripts))})")


def _script_of(char: str) -> str:
    """The script of a letter, from its Unicode name (Python has no script property)."""
    name = unicodedata.name(char, "")
    for script in (
        "LATIN",
        "CYRILLIC",
        "GREEK",
        "ARABIC",
        "HEBREW",
        "CJK",
        "HIRAGANA",
        "KATAKANA",
        "HANGUL",
        "THAI",
        "DEVANAGARI",
        "ARMENIAN",
        "GEORGIAN",
        "ETHIOPIC",
        "BENGALI",
        "TAMIL",
    ):
        if name.startswith(script):
            return script
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def normalize_ip(value: str, *, field: str = "IP address") -> str:
    check_text(value, field, 45)
    try:
        address = ipaddress.ip_address(value)
    except ValueError as err:
        raise InvalidInputError(f"{field} {value!r} is not an IPv4 or IPv6 address") from err
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        # A zone index ("%eth0") is local to one host and cannot be put in a certificate.
        raise InvalidInputError(f"{field} {value!r} must not carry a zone index")
    return str(address)


def validate_sans(raw: list[dict[str, str]]) -> tuple[SubjectAlternativeName, ...]:
    if len(raw) > MAX_SANS:
        raise InvalidInputError(f"at most {MAX_SANS} subject alternative names are allowed")
    seen: set[tuple[SanType, str]] = set()
    result: list[SubjectAlternativeName] = []
    for index, entry in enumerate(raw):
        field = f"subjectAlternativeNames[{index}]"
        kind = entry.get("type")
        value = entry.get("value", "")
        if kind == SanType.DNS:
            san = SubjectAlternativeName(SanType.DNS, normalize_dns_name(value, field=field))
        elif kind == SanType.IP:
            san = SubjectAlternativeName(SanType.IP, normalize_ip(value, field=field))
        elif kind == SanType.URI:
            san = SubjectAlternativeName(SanType.URI, check_uri(value, field=field))
        elif kind == SanType.EMAIL:
            san = SubjectAlternativeName(SanType.EMAIL, check_email(value, field=field))
        else:
            raise InvalidInputError(f"{field}.type must be DNS, IP, URI or EMAIL")
        key = (san.type, san.value)
        if key in seen:
            raise InvalidInputError(f"{field} duplicates {san.type.value} {san.value}")
        seen.add(key)
        result.append(san)
    return tuple(result)


def looks_like_dns_name(value: str) -> bool:
    try:
        normalize_dns_name(value)
    except InvalidInputError:
        return False
    return True


def common_dns_suffix(names: list[str]) -> str:
    """The longest run of whole trailing DNS labels every name shares: {a.pay.example, b.pay.example} → pay.example
    (the `namesSuffix` Issue policies read, for the API and the ACME server alike)."""
    if not names:
        return ""
    split = [n.split(".") for n in names]
    shared: list[str] = []
    for labels in zip(*(reversed(s) for s in split), strict=False):
        if len(set(labels)) != 1:
            break
        shared.append(labels[0])
    return ".".join(reversed(shared[: min(len(s) for s in split)]))
