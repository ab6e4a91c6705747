"""What the API refuses before any route runs: bodies too large, not JSON, not UTF-8 or nested too deep.

Each refusal is a `{"code", "message"}` answer with a stable code and happens before anything is read or
written. The 405 for a known path with a method it does not serve is decided here too (`allowed_methods`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import content_types

# Deepest JSON any request model needs is 4 (rules.nameConstraint.permittedDnsSubtrees[i]); 32 leaves room.
MAX_JSON_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def answer(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Lambda proxy answer with the API's error body (for refusals made outside the resolver)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": json.dumps({"code": code, "message": message}),
        "isBase64Encoded": False,
    }


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for source in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for key, value in source.items():
            if str(key).lower() == name:
                if isinstance(value, list):
                    return str(value[0]) if value else None
                return None if value is None else str(value)
    return None


def _normalise_content_type(event: dict[str, Any]) -> None:
    """Media types are case-insensitive; the resolver compares them exactly, so hand it the canonical one."""
    for source in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for key, value in source.items():
            if str(key).lower() == "content-type":
                source[key] = (
                    [content_types.APPLICATION_JSON] if isinstance(value, list) else content_types.APPLICATION_JSON
                )


def _raw_body(event: Mapping[str, Any]) -> bytes | None:
    """The body's bytes (None when it is not valid base64 although the event says it is)."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        return None
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count); no recursion."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def refuse(
    event: Mapping[str, Any], max_body_bytes: int, allowed: Callable[[str], Iterable[str]]
) -> dict[str, Any] | None:
    """The refusal for a request the routes must never see, or None to let it through."""
    raw = _raw_body(event)
    if raw is None:
        return answer(400, "InvalidEncoding", "request body is marked base64 but is not valid base64")
    if len(raw) > max_body_bytes:
        return answer(413, "PayloadTooLarge", f"request body exceeds {max_body_bytes} bytes")
    method = str(event.get("httpMethod") or "").upper()
    if not raw or method not in _BODY_METHODS or method not in set(allowed(str(event.get("path") or "/"))):
        return None  # no body to read, or a 404/405 the resolver answers
    media_type, _, parameters = (_header(event, "content-type") or content_types.APPLICATION_JSON).partition(";")
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", parameters, re.IGNORECASE)
    if media_type.strip().lower() != content_types.APPLICATION_JSON or (
        charset is not None and charset.group(1).lower() not in ("utf-8", "utf8")
    ):
        return answer(415, "UnsupportedMediaType", "the request body must be application/json (UTF-8)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return answer(400, "InvalidEncoding", "request body is not valid UTF-8")
    if isinstance(event, dict):
        _normalise_content_type(event)
    if json_depth(text) > MAX_JSON_DEPTH:
        return answer(400, "InvalidJson", f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(text)
    except RecursionError:
        return answer(400, "InvalidJson", f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as err:  # JSONDecodeError, and integers longer than Python converts (4300 digits)
        detail = "" if isinstance(err, json.JSONDecodeError) else f": {err}"
        return answer(400, "InvalidJson", f"request body is not valid JSON{detail}")
    return None
