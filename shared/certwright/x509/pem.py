"""Strict PEM parsing: only the expected blocks, nothing before, between or after them but white space."""

from __future__ import annotations

import base64
import binascii
import re

from certwright.errors import InvalidInputError

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----")


def der_blocks(text: str, labels: set[str], *, field: str, max_blocks: int = 1) -> list[bytes]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"{field} must be a PEM document")
    blocks: list[bytes] = []
    position = 0
    stripped = text.strip()
    for match in _BLOCK.finditer(stripped):
        if stripped[position : match.start()].strip():
            raise InvalidInputError(f"{field} has unexpected text outside its PEM blocks")
        if match.group(1) not in labels:
            raise InvalidInputError(f"{field} holds a {match.group(1)} block; expected {' or '.join(sorted(labels))}")
        try:
            blocks.append(base64.b64decode("".join(match.group(2).split()), validate=True))
        except (binascii.Error, ValueError) as err:
            raise InvalidInputError(f"{field} has a PEM block that is not valid base64") from err
        position = match.end()
    if stripped[position:].strip():
        raise InvalidInputError(f"{field} has trailing data after its PEM blocks")
    if not blocks:
        raise InvalidInputError(f"{field} holds no {' or '.join(sorted(labels))} PEM block")
    if len(blocks) > max_blocks:
        raise InvalidInputError(f"{field} holds {len(blocks)} PEM blocks; at most {max_blocks} allowed")
    return blocks
