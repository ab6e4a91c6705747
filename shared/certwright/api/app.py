"""The issuance API: one Powertools REST resolver with pydantic validation, OpenAPI, and the error table."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from certwright.api import associations, audit, authorities, ca_bundles, certificates, grants, permissions
from certwright.api.errors import error_response, to_response
from certwright.api.request import services
from certwright.errors import CertwrightError

logger = Logger()
app = APIGatewayRestResolver(enable_validation=True)
app.include_router(authorities.router)
app.include_router(certificates.router)
app.include_router(associations.router)
app.include_router(audit.router)
app.include_router(ca_bundles.router)
app.include_router(grants.router)


def authorize(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Who may do what: every route is decided by certwright.api.permissions before it runs."""
    return permissions.enforce(services(), resolver, next_middleware)


app.use(middlewares=[authorize])


@app.get("/openapi.json")
def openapi() -> Response[str]:
    schema = app.get_openapi_json_schema(title="Certwright", version="0.1.0")
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=schema)


@app.exception_handler(CertwrightError)
def handle_certwright_error(err: CertwrightError) -> Response[str]:
    return to_response(err)


@app.exception_handler(RequestValidationError)
def handle_validation_error(err: RequestValidationError) -> Response[str]:
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    kind = first.get("type", "")
    if kind == "json_invalid":
        return error_response(400, "InvalidJson", "request body is not valid JSON")
    if kind == "extra_forbidden":
        return error_response(400, "UnknownField", f"unknown field: {where}")
    return error_response(400, "InvalidParameter", f"{where or 'body'}: {first.get('msg', 'invalid value')}")


@app.not_found
def handle_not_found(_: Exception) -> Response[str]:
    return error_response(404, "NotFound", "no such route")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    size = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
    container = services()
    limit = container.settings.max_body_bytes
    if size > limit:
        return {
            "statusCode": 413,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"code": "PayloadTooLarge", "message": f"request body exceeds {limit} bytes"}),
            "isBase64Encoded": False,
        }
    container.idempotency.bind_invocation(context)
    return app.resolve(event, context)
