"""ACME problem documents (RFC 8555 §6.7): the typed error every ACME refusal raises, and its JSON form."""

from __future__ import annotations

from typing import Any

from certwright.errors import CertwrightError

ERROR_NS = "urn:ietf:params:acme:error:"

# The HTTP status of each problem type (RFC 8555 §6.7 and the statuses certbot and lego expect).
STATUS: dict[str, int] = {
    "accountDoesNotExist": 400,
    "alreadyReplaced": 409,
    "alreadyRevoked": 400,
    "badCSR": 400,
    "badNonce": 400,
    "badPublicKey": 400,
    "badRevocationReason": 400,
    "badSignatureAlgorithm": 400,
    "caa": 403,
    "compound": 403,
    "connection": 400,
    "dns": 400,
    "externalAccountRequired": 403,
    "incorrectResponse": 403,
    "invalidContact": 400,
    "malformed": 400,
    "orderNotReady": 403,
    "rateLimited": 429,
    "rejectedIdentifier": 400,
    "serverInternal": 500,
    "tls": 400,
    "unauthorized": 403,
    "unsupportedContact": 400,
    "unsupportedIdentifier": 400,
    "userActionRequired": 403,
    "notFound": 404,
    "methodNotAllowed": 405,
    "conflict": 409,
}


class AcmeProblem(CertwrightError):
    """An ACME refusal: `kind` is the error type's suffix (badNonce, malformed, ...), `detail` a human sentence."""

    def __init__(self, kind: str, detail: str, *, algorithms: tuple[str, ...] = ()) -> None:
        super().__init__(detail, code=kind)
        self.kind = kind
        self.detail = detail
        self.algorithms = algorithms

    @property
    def status(self) -> int:
        return STATUS.get(self.kind, 400)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": ERROR_NS + self.kind, "detail": self.detail, "status": self.status}
        if self.algorithms:
            doc["algorithms"] = list(self.algorithms)
        return doc


def problem_document(kind: str, detail: str) -> dict[str, Any]:
    """A stored problem (a challenge's or an order's error) in its JSON form."""
    return AcmeProblem(kind, detail).document()


def malformed(detail: str) -> AcmeProblem:
    return AcmeProblem("malformed", detail)
