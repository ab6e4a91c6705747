"""Freeform tags on CAs, certificates and CA bundles: their validation (AWS's tag rules) and their stored shape.

A resource's tags are a tuple of (key, value) pairs sorted by key, so a frozen domain object stays hashable and
two equal tag sets compare equal. Keys are case-sensitive. OCI's namespaced `definedTags` are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from certwright.errors import InvalidInputError

Tags = tuple[tuple[str, str], ...]

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
# AWS's tag character set: unicode letters, digits, white space and _ . : / = + - @.
_ALLOWED = re.compile(r"^[\w\s+=.:/@-]*$")
_RESERVED_PREFIX = "aws:"


def parse_tags(raw: Mapping[str, str]) -> Tags:
    """Validated tags, sorted by key; raises InvalidInputError with code TooManyTags, InvalidTagKey or InvalidTagValue."""
    if len(raw) > MAX_TAGS:
        raise InvalidInputError(f"at most {MAX_TAGS} tags, got {len(raw)}", code="TooManyTags")
    for key, value in raw.items():
        check_key(key)
        check_value(key, value)
    return tuple(sorted(raw.items()))


def check_key(key: str) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
        raise InvalidInputError(f"a tag key has 1 to {MAX_KEY} characters", code="InvalidTagKey")
    if not _ALLOWED.match(key):
        raise InvalidInputError(
            "a tag key may hold only letters, digits, spaces and _ . : / = + - @", code="InvalidTagKey"
        )
    if key.lower().startswith(_RESERVED_PREFIX):
        raise InvalidInputError("tag keys starting with aws: are reserved", code="InvalidTagKey")
    return key


def check_value(key: str, value: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        raise InvalidInputError(f"the value of tag {key!r} has at most {MAX_VALUE} characters", code="InvalidTagValue")
    if not _ALLOWED.match(value):
        raise InvalidInputError(
            f"the value of tag {key!r} may hold only letters, digits, spaces and _ . : / = + - @",
            code="InvalidTagValue",
        )
    return value


def parse_tag_filter(text: str) -> tuple[str, str]:
    """A list filter `key=value` (the first `=` splits; a key holding `=` cannot be filtered on)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidInputError("a tag filter is key=value", code="InvalidTagFilter")
    try:
        return check_key(key), check_value(key, value)
    except InvalidInputError as err:
        raise InvalidInputError(err.message, code="InvalidTagFilter") from err


def as_dict(tags: Tags) -> dict[str, str]:
    return dict(tags)
