"""The console's reads and actions against the API, through the CLI's own transport (caller header or SigV4)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography import x509

from certwright_client.cli import Client
from certwright_client.console.views import CrlState, normal_serial

MAX_PAGES = 20  # a listing shows at most this many pages of 100 (2,000 items)
CRL_TIMEOUT = 5.0


class ApiError(Exception):
    """The API refused or failed a request: its status, stable code and message (shown on the page)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, body: Any) -> ApiError:
    body = body if isinstance(body, dict) else {}
    return ApiError(status, str(body.get("code") or f"HTTP{status}"), str(body.get("message") or ""))


def q(value: Any) -> str:
    """One path segment."""
    return quote(str(value), safe="")


class Api:
    def __init__(self, client: Client) -> None:
        self.client = client

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        status, body = self.client.call("GET", path, query=dict(query or {}))
        if status >= 400:
            raise _error(status, body)
        return body

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """An action: the API's status and answer, refusals included (the result page shows them)."""
        return self.client.call("POST", path, body if body is not None else {})

    def items(self, path: str, query: Mapping[str, Any] | None = None, *, paged: bool = True) -> list[dict[str, Any]]:
        """Every item of a listing, page by page (at most MAX_PAGES pages)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page_query = {**(query or {}), "page": token}
            if paged:
                page_query["limit"] = 100
            body = self.get(path, page_query)
            items.extend(body.get("items") or [])
            token = body.get("nextPage")
            if not token:
                break
        return items

    def certificates(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.items("/certificates", query)

    def authorities(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.items("/certificate-authorities", query)

    def ca_bundles(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.items("/ca-bundles", query)

    def associations(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.items("/associations", query)

    def versions(self, certificate_id: str) -> list[dict[str, Any]]:
        return self.items(f"/certificates/{q(certificate_id)}/versions", paged=False)

    def authority_versions(self, ca_id: str) -> list[dict[str, Any]]:
        return self.items(f"/certificate-authorities/{q(ca_id)}/versions", paged=False)

    def audit(self, resource_id: str) -> list[dict[str, Any]]:
        return self.items("/audit-events", {"resourceId": resource_id})

    def crl_urls(self, certificate_id: str) -> list[str]:
        """The CRL distribution points named by a certificate's CURRENT version (its issuer's CRL)."""
        bundle = self.get(f"/certificates/{q(certificate_id)}/bundle")
        return distribution_points(str(bundle.get("certificatePem") or ""))

    def authority_crl_urls(self, ca_id: str) -> list[str]:
        """The CRL distribution points named by a subordinate CA's certificate (its issuer's CRL)."""
        bundle = self.get(f"/certificate-authorities/{q(ca_id)}/bundle")
        return distribution_points(str(bundle.get("certificatePem") or ""))


def distribution_points(pem: str) -> list[str]:
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (ValueError, x509.ExtensionNotFound):
        return []
    return [
        name.value
        for point in points
        for name in point.full_name or []
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def read_crl(url: str) -> CrlState:
    """thisUpdate, nextUpdate and the count of revoked serials of the CRL at `url` (fetched here, not by the browser)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return CrlState(url, error="not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=CRL_TIMEOUT) as answer:  # noqa: S310 - http(s) checked above
            data = answer.read(10_000_000)
    except (urllib.error.URLError, OSError) as err:
        return CrlState(url, error=str(getattr(err, "reason", err)))
    try:
        crl = x509.load_der_x509_crl(data)
    except ValueError:
        try:
            crl = x509.load_pem_x509_crl(data)
        except ValueError:
            return CrlState(url, error="not a CRL (DER or PEM)")
    next_update = crl.next_update_utc
    return CrlState(
        url,
        crl.last_update_utc.astimezone(UTC),
        next_update.astimezone(UTC) if next_update else None,
        len(list(crl)),
        serials=frozenset(normal_serial(format(entry.serial_number, "x")) for entry in crl),
    )


def now() -> datetime:
    return datetime.now(UTC)
