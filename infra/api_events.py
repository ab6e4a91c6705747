"""API Gateway REST (proxy) events, shaped as Lambda receives them, for the local gateway, tests and the demo."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LOCAL_ADMIN = "arn:aws:iam::123456789012:user/certwright-local-admin"


def api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    caller: str = LOCAL_ADMIN,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`path` may carry a query string; `body` is JSON-encoded unless it is already a string."""
    parts = urlsplit(path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs) or None  # as API Gateway: the last of a repeated parameter; all of them in the multi map
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    account = caller.split(":")[4] if caller.count(":") >= 5 else "123456789012"
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": None,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": parts.path,
            "httpMethod": method.upper(),
            "path": f"/prod{parts.path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "identity": {
                "caller": caller.rsplit("/", 1)[-1],
                "userArn": caller,
                "accountId": account,
                "sourceIp": "127.0.0.1",
                "userAgent": "certwright-local",
            },
        },
    }
