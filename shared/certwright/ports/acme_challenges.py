"""The challenge-validation port of the ACME server: what the validator needs to check one challenge (RFC 8555 §8).

An implementation reaches the applicant's server (http-01, tls-alpn-01) or a resolver (dns-01) under the
deployment's network policy and answers with a result; it raises nothing for a failed validation (that is a
result), only TransientError when it could not decide (the validator retries until the challenge's deadline).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChallengeType(StrEnum):
    HTTP_01 = "http-01"
    DNS_01 = "dns-01"
    TLS_ALPN_01 = "tls-alpn-01"


@dataclass(frozen=True)
class ChallengeResult:
    valid: bool
    # An RFC 8555 error type suffix when not valid: "connection", "unauthorized", "dns", "tls", "incorrectResponse",
    # "rejectedIdentifier" (a target outside the allowed networks), "malformed".
    problem: str | None = None
    detail: str = ""


class ChallengeChecker(Protocol):
    def check(
        self, challenge_type: ChallengeType, identifier: str, token: str, key_authorization: str
    ) -> ChallengeResult:
        """Check one challenge for a DNS identifier; `key_authorization` is token + "." + the account key's
        base64url JWK thumbprint (RFC 7638). dns-01 expects base64url(SHA-256(key_authorization)) in a TXT record
        at _acme-challenge.<identifier>; http-01 the key authorization at
        http://<identifier>[:port]/.well-known/acme-challenge/<token>; tls-alpn-01 a certificate with the
        acmeIdentifier extension (RFC 8737) over ALPN "acme-tls/1" on port 443 (configurable)."""
        ...
