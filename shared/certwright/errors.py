"""The Certwright error tree: every failure a caller can see, each with a stable `code`.

HTTP status codes live only at the API edge (certwright.api.errors); nothing here knows HTTP.
"""

from __future__ import annotations


class CertwrightError(Exception):
    """Base of every error the service raises on purpose."""

    code = "InternalError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInputError(CertwrightError):
    """The request is malformed: wrong shape, bad value, unparseable PEM."""

    code = "InvalidParameter"


class PayloadTooLargeError(CertwrightError):
    code = "PayloadTooLarge"


class NotFoundError(CertwrightError):
    """Unknown resource, or one the caller may not see."""

    code = "NotFound"


class AccessDeniedError(CertwrightError):
    code = "NotAuthorized"


class ConflictError(CertwrightError):
    """The resource's state does not allow the operation (or a concurrent writer won)."""

    code = "Conflict"


class PolicyViolationError(CertwrightError):
    """Well-formed input that a CA rule or profile forbids (validity, name constraints, path length)."""

    code = "PolicyViolation"


class TransientError(CertwrightError):
    """A dependency is throttling or briefly unavailable; the caller may retry."""

    code = "ServiceUnavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after_seconds: int = 1) -> None:
        super().__init__(message, code=code)
        self.retry_after_seconds = retry_after_seconds


class DependencyError(CertwrightError):
    """A dependency failed in a way retrying will not fix; surfaced as a 5xx and logged."""

    code = "DependencyFailure"


class InProgressError(ConflictError):
    """The same request (same Idempotency-Key) is still being served, or its crashed attempt has not yet expired."""

    code = "RequestInProgress"

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class CorruptRowError(DependencyError):
    """A stored row (or a stream image of one) its codec cannot read, or holding a state no writer produces.

    The message names the row and what is wrong with it, never the row's content (it may hold key material).
    """

    code = "CorruptRow"
