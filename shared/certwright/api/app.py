"""The issuance API: one Powertools REST resolver with pydantic validation, OpenAPI, and the error table."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from certwright.api import (
    acme_eab,
    associations,
    audit,
    authorities,
    ca_bundles,
    certificates,
    edge,
    grants,
    permissions,
    requests,
)
from certwright.api.bundles import router as host_router
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
app.include_router(host_router)
app.include_router(acme_eab.router)


def authorize(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Who may do what: every route is decided by certwright.api.permissions before it runs."""
    return permissions.enforce(services(), resolver, next_middleware)


app.use(middlewares=[authorize])


@app.get(
    "/openapi.json",
    responses={
        200: {
            "description": "this document (OpenAPI 3.1)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


def openapi_document() -> str:
    """The OpenAPI document, without Powertools' default 422 answers (this API's errors are all ErrorOut)."""
    schema: dict[str, Any] = json.loads(app.get_openapi_json_schema(title="Certwright", version="0.1.0"))
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.get("responses", {})
            default = answers.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if default.get("$ref", "").endswith("/HTTPValidationError"):
                del answers["422"]
            for answer in answers.values():
                if answer.get("content") == {}:
                    del answer["content"]  # a 204
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return json.dumps(schema)


@app.exception_handler(CertwrightError)
def handle_certwright_error(err: CertwrightError) -> Response[str]:
    return to_response(err)


@app.exception_handler(RequestUnsupportedContentType)
def handle_unsupported_content_type(_: RequestUnsupportedContentType) -> Response[str]:
    return error_response(415, "UnsupportedMediaType", "the request body must be application/json (UTF-8)")


@app.exception_handler(RequestValidationError)
def handle_validation_error(err: RequestValidationError) -> Response[str]:
    first = err.errors()[0] if err.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    # In a body discriminated by configType, the first step is the type's tag: name the field, not the tag.
    tag = loc.pop(0) if loc and loc[0] in requests.OTHER_FIELDS else None
    where = ".".join(loc)
    kind = first.get("type", "")
    if kind == "json_invalid":
        return error_response(400, "InvalidJson", "request body is not valid JSON")
    if kind == "union_tag_not_found":
        return error_response(400, "InvalidParameter", "configType: Field required")
    if kind == "extra_forbidden":
        inapplicable = requests.inapplicable(tag, where) if tag is not None else None
        if inapplicable is not None:
            return error_response(400, "InvalidParameter", inapplicable)
        return error_response(400, "UnknownField", f"unknown field: {where}")
    return error_response(400, "InvalidParameter", f"{where or 'body'}: {first.get('msg', 'invalid value')}")


def allowed_methods(path: str) -> list[str]:
    """The methods the API serves on `path` (empty for a path it does not know)."""
    routes = app._static_routes + app._dynamic_routes
    return sorted({route.method for route in routes if route.rule.match(path)})


@app.not_found
def handle_not_found(_: Exception) -> Response[str]:
    event = app.current_event
    allowed = allowed_methods(event.path)
    if allowed:
        return error_response(
            405,
            "MethodNotAllowed",
            f"{event.http_method.upper()[:16]} is not served here; allowed: {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    return error_response(404, "NotFound", "no such route")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    container = services()
    refused = edge.refuse(event, container.settings.max_body_bytes, allowed_methods)
    if refused is not None:
        return refused
    container.idempotency.bind_invocation(context)
    return app.resolve(event, context)
