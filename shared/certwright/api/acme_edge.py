"""The ACME HTTP edge: API Gateway proxy events on /acme/... to the ACME server's operations, and its answers
(or problem documents) back, each with a fresh Replay-Nonce, the index Link and the Location RFC 8555 asks for.

The JWS is the authentication: these routes carry no IAM auth, and the caller identity API Gateway sends is
ignored. The status of each problem type lives here and in certwright.acme.problems, nowhere else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from certwright.acme.problems import AcmeProblem
from certwright.bootstrap import Container
from certwright.errors import CertwrightError, TransientError
from certwright.services.acme_server import AcmeAnswer, Endpoint

logger = Logger(child=True)

JOSE = "application/jose+json"
PROBLEM = "application/problem+json"
_POST = frozenset(
    {"new-account", "new-order", "revoke-cert", "key-change", "account", "order", "authz", "chall", "cert"}
)


def handle(event: dict[str, Any], services: Container) -> dict[str, Any]:
    method = str(event.get("httpMethod") or "GET").upper()
    path = str(event.get("path") or "/")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    root = _root(event, headers, services.settings.acme_base_url)
    parts = [p for p in path.split("/") if p]
    ca_id = parts[1] if len(parts) > 1 else ""
    if parts[:1] == ["acme"] and parts[1:] == ["directory"]:
        ca_id = services.settings.acme_default_ca_id
        rest: list[str] = ["directory"]
    else:
        rest = parts[2:]
    at = Endpoint(base=f"{root}/acme/{ca_id}", url=f"{root}{path}", ca_id=ca_id)
    server = services.acme
    try:
        if not ca_id:
            raise AcmeProblem("notFound", "no default ACME directory is configured; use /acme/{caId}/directory")
        answer = _route(method, rest, at, _body(event), headers, services)
    except AcmeProblem as problem:
        answer = _problem(problem)
    except TransientError as err:
        document = AcmeProblem("serverInternal", err.message).document()
        answer = AcmeAnswer(503, document, content_type=PROBLEM, retry_after=err.retry_after_seconds)
    except CertwrightError as err:
        logger.warning("ACME request failed", extra={"code": err.code, "path": path})
        answer = AcmeAnswer(500, AcmeProblem("serverInternal", err.message).document(), content_type=PROBLEM)
    return _response(answer, server.new_nonce(), f"{at.base}/directory", method)


def _route(
    method: str, rest: list[str], at: Endpoint, body: bytes, headers: dict[str, str], services: Container
) -> AcmeAnswer:
    server = services.acme
    head = rest[0] if rest else ""
    allowed = _allowed(rest)
    if not allowed:
        raise AcmeProblem("notFound", "no such ACME resource")
    if method not in allowed:
        problem = AcmeProblem("methodNotAllowed", f"{method} is not served here; use {', '.join(sorted(allowed))}")
        return _problem(problem, allow=", ".join(sorted(allowed)))
    if head == "directory":
        return server.directory(at)
    if head == "new-nonce":
        server.directory(at)  # a CA that does not exist has no nonces either
        return AcmeAnswer(200 if method == "HEAD" else 204, None)
    if head == "renewal-info":
        return server.renewal_info(at, rest[1])
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JOSE:
        raise AcmeProblem("malformed", f"ACME requests are {JOSE}, not {content_type or 'untyped'}")
    operations: dict[tuple[str, int], Callable[[], AcmeAnswer]] = {
        ("new-account", 1): lambda: server.new_account(at, body),
        ("new-order", 1): lambda: server.new_order(at, body),
        ("revoke-cert", 1): lambda: server.revoke(at, body),
        ("key-change", 1): lambda: server.key_change(at, body),
        ("account", 2): lambda: server.account(at, rest[1], body),
        ("account", 3): lambda: server.account_orders(at, rest[1], body),
        ("order", 2): lambda: server.order(at, rest[1], body),
        ("order", 3): lambda: server.finalize(at, rest[1], body),
        ("authz", 2): lambda: server.authorization(at, rest[1], body),
        ("chall", 3): lambda: server.challenge(at, rest[1], rest[2], body),
        ("cert", 2): lambda: server.certificate(at, rest[1], body),
    }
    return operations[(head, len(rest))]()


def _allowed(rest: list[str]) -> frozenset[str]:
    """The methods a resource path serves (empty: no such resource)."""
    shape = (rest[0] if rest else "", len(rest))
    if shape in {("directory", 1), ("renewal-info", 2)}:
        return frozenset({"GET"})
    if shape == ("new-nonce", 1):
        return frozenset({"GET", "HEAD"})
    known = {
        ("new-account", 1),
        ("new-order", 1),
        ("revoke-cert", 1),
        ("key-change", 1),
        ("account", 2),
        ("order", 2),
        ("authz", 2),
        ("chall", 3),
        ("cert", 2),
    }
    if (
        shape in known
        or (shape == ("account", 3) and rest[2] == "orders")
        or (shape == ("order", 3) and rest[2] == "finalize")
    ):
        return frozenset({"POST"})
    return frozenset()


def _problem(problem: AcmeProblem, *, allow: str | None = None) -> AcmeAnswer:
    return AcmeAnswer(problem.status, problem.document(), content_type=PROBLEM, allow=allow)


def _response(answer: AcmeAnswer, nonce: str, index: str, method: str) -> dict[str, Any]:
    headers: dict[str, str] = {"Replay-Nonce": nonce, "Cache-Control": "no-store"}
    if answer.allow:
        headers["Allow"] = answer.allow
    if answer.location:
        headers["Location"] = answer.location
    if answer.retry_after is not None:
        headers["Retry-After"] = str(answer.retry_after)
    links = [f'<{index}>;rel="index"', *answer.links]
    body = ""
    if answer.body is not None:
        headers["Content-Type"] = answer.content_type
        body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    if method == "HEAD":
        body = ""
    return {
        "statusCode": answer.status,
        "headers": headers,
        "multiValueHeaders": {"Link": links},
        "body": body,
        "isBase64Encoded": False,
    }


def _body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw)
        except ValueError as err:
            raise AcmeProblem("malformed", "the body is not base64") from err
    return str(raw).encode("utf-8")


def _root(event: dict[str, Any], headers: dict[str, str], configured: str) -> str:
    """Where the client reached the ACME routes, without /acme: the configured base URL, else the request's own
    scheme and host (and the stage, on an execute-api host, whose paths carry it)."""
    if configured:
        return configured
    host = headers.get("host", "localhost")
    scheme = headers.get("x-forwarded-proto", "https")
    stage = ""
    if ".execute-api." in host:
        stage = "/" + str((event.get("requestContext") or {}).get("stage") or "")
    return f"{scheme}://{host}{stage}"
