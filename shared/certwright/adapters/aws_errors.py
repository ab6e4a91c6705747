"""Translate botocore errors into Certwright's error tree (throttling → TransientError, and so on)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from certwright.errors import CertwrightError, ConflictError, DependencyError, TransientError

_THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "LimitExceededException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "KMSInternalException",
    "InternalServerError",
    "TransactionInProgressException",
}
_CONFLICT = {"ConditionalCheckFailedException", "TransactionConflictException"}


def translate(err: Exception, action: str) -> CertwrightError:
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        if code in _THROTTLING:
            return TransientError(f"{action}: {code}; retry shortly")
        if code in _CONFLICT:
            return ConflictError(f"{action}: the resource changed concurrently; retry", code="ConcurrentModification")
        if code == "TransactionCanceledException":
            reasons = [r.get("Code") for r in err.response.get("CancellationReasons", []) if r.get("Code")]
            if any(r in _THROTTLING or r == "TransactionConflict" for r in reasons):
                return TransientError(f"{action}: {', '.join(reasons)}; retry shortly")
            return ConflictError(f"{action}: the resource changed concurrently; retry", code="ConcurrentModification")
        return DependencyError(f"{action} failed: {code}")
    if isinstance(err, BotoCoreError):
        return TransientError(f"{action}: {type(err).__name__}; retry shortly")
    return DependencyError(f"{action} failed: {type(err).__name__}")
