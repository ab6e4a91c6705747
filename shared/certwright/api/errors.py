"""The one table from Certwright errors to HTTP answers: {"code", "message"} bodies, generic text for 5xx."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types

from certwright.errors import (
    AccessDeniedError,
    CertwrightError,
    ConflictError,
    DependencyError,
    InProgressError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PolicyViolationError,
    TransientError,
)

logger = Logger(child=True)

STATUS: dict[type[CertwrightError], int] = {
    InvalidInputError: 400,
    AccessDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    PolicyViolationError: 422,
    TransientError: 503,
    DependencyError: 502,
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"code": code, "message": message}),
        headers=headers,
    )


def status_of(err: CertwrightError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500


def to_response(err: CertwrightError) -> Response[str]:
    status = status_of(err)
    if status >= 500:
        logger.exception("request failed", extra={"code": err.code})
        headers = {"Retry-After": str(err.retry_after_seconds)} if isinstance(err, TransientError) else None
        message = "the service could not complete the request; retry later" if headers else "internal error"
        return error_response(status, err.code, message, headers)
    if isinstance(err, InProgressError):
        return error_response(status, err.code, err.message, {"Retry-After": str(err.retry_after_seconds)})
    return error_response(status, err.code, err.message)
