"""Subject names and subject alternative names: validation of every field before anything is signed."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

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
}


class SanType(StrEnum):
    DNS = "DNS"
    IP = "IP"


@dataclass(frozen=True)
class Subject:
    common_name: str
    organization: str | None = None
    organizational_unit: str | None = None
    country: str | None = None
    state_or_province: str | None = None
    locality: str | None = None

    def as_dict(self) -> dict[str, str]:
        pairs = {
            "commonName": self.common_name,
            "organization": self.organization,
            "organizationalUnit": self.organizational_unit,
            "country": self.country,
            "stateOrProvince": self.state_or_province,
            "locality": self.locality,
        }
        return {k: v for k, v in pairs.items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, str]) -> Subject:
        return cls(
            common_name=raw["commonName"],
            organization=raw.get("organization"),
            organizational_unit=raw.get("organizationalUnit"),
            country=raw.get("country"),
            state_or_province=raw.get("stateOrProvince"),
            locality=raw.get("locality"),
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


def validate_subject(raw: dict[str, str]) -> Subject:
    unknown = set(raw) - set(SUBJECT_FIELDS)
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
    return Subject.from_dict(raw)


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
        else:
            raise InvalidInputError(f"{field}.type must be DNS or IP")
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
