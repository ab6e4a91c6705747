"""`--wait`: polling the API (and the CRL a relying party fetches) until started work is done, failed or timed out.

Progress goes to stderr, one line each time what is seen changes. Done returns; a failure raises WaitError with
EXIT_WAIT_FAILED (the reason printed), running out of --timeout raises it with EXIT_TIMEOUT. The API is read
through a `Reader` (the CLI's client; its own errors pass through), so this module does not import the CLI.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

EXIT_WAIT_FAILED = 5  # the work failed (a deployment reported FAILED, nothing to check); the reason is printed
EXIT_TIMEOUT = 75  # not done within --timeout (EX_TEMPFAIL: the work goes on; look again later)

POLL_SECONDS = 1.0
# Replaced by tests that run waits on a scripted transport.
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


class WaitError(Exception):
    """Printed like the CLI's other errors: `error: <code>: <message>`, and exit_code."""

    def __init__(self, code: str, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


class Reader(Protocol):
    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        """The answer of GET path (a 4xx/5xx raises)."""

    def items(self, path: str, query: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a listing."""


@dataclass
class Outcome:
    """What one look saw: done, failed (with why) or still going; `progress` is the line shown on stderr."""

    progress: str
    done: bool = False
    failure: str | None = None


def until(what: str, look: Callable[[], Outcome], timeout: float) -> Outcome:
    deadline = monotonic() + timeout
    shown = ""
    while True:
        outcome = look()
        if outcome.progress != shown:
            print(f"waiting: {outcome.progress}", file=sys.stderr, flush=True)
            shown = outcome.progress
        if outcome.failure is not None:
            raise WaitError("WaitFailed", f"{what}: {outcome.failure}", EXIT_WAIT_FAILED)
        if outcome.done:
            print(f"done: {what}", file=sys.stderr, flush=True)
            return outcome
        if monotonic() + POLL_SECONDS > deadline:
            raise WaitError(
                "WaitTimedOut",
                f"{what}: not done after {timeout:g}s (last seen: {outcome.progress}); the work goes on, "
                "look again or wait longer with --timeout",
                EXIT_TIMEOUT,
            )
        sleep(POLL_SECONDS)


def _deployment(association: dict[str, Any], version: int) -> tuple[str, bool, str | None]:
    """(one-word state, done, failure) of one association for `version`."""
    deployment = association.get("deployment") or {}
    state = str(deployment.get("state"))
    if state == "FAILED" and deployment.get("desiredVersion") == version:
        return state, False, f"association {association['id']} FAILED: {deployment.get('lastError') or 'no reason'}"
    deployed = deployment.get("deployedVersion")
    done = state == "DEPLOYED" and deployed == version
    shown = f"{state} v{deployed}" if deployed is not None else state
    return shown + (" verified" if done and deployment.get("verifiedAt") else ""), done, None


def deployed(client: Reader, certificate_id: str, version: int, timeout: float) -> None:
    """Until `version` is CURRENT and every ACTIVE association of the certificate reports it DEPLOYED."""

    def look() -> Outcome:
        certificate = client.get(f"/certificates/{certificate_id}")
        current = (certificate.get("currentVersion") or {}).get("versionNumber")
        if current != version:
            return Outcome(f"{certificate_id}: version {version} is not CURRENT yet (CURRENT is {current})")
        associations = client.items("/associations", {"certificateId": certificate_id})
        active = [a for a in associations if a.get("state") == "ACTIVE"]
        states = [(a, *_deployment(a, version)) for a in active]
        failure = next((f for *_, f in states if f is not None), None)
        ready = sum(1 for _, _, done, _ in states if done)
        detail = ", ".join(f"{a['associatedResourceId']}: {s}" for a, s, _, _ in states)
        progress = f"{certificate_id} version {version} CURRENT; {ready}/{len(active)} active associations deployed"
        return Outcome(progress + (f" ({detail})" if detail else ""), ready == len(active), failure)

    until(f"{certificate_id} version {version} deployed", look, timeout)


def association_deployed(client: Reader, association_id: str, timeout: float) -> None:
    """Until the association serves its certificate's CURRENT version (or its CA bundle's) as DEPLOYED."""

    def look() -> Outcome:
        association = client.get(f"/associations/{association_id}")
        if association.get("certificateId"):
            certificate = client.get(f"/certificates/{association['certificateId']}")
            version = (certificate.get("currentVersion") or {}).get("versionNumber")
        else:
            version = client.get(f"/ca-bundles/{association['caBundleId']}").get("currentVersionNumber")
        state, done, failure = _deployment(association, int(version or 0))
        consent = association.get("state")
        progress = f"{association_id} ({consent}): {state}, version {version}"
        if consent == "PENDING_CONFIRMATION":
            progress += " — the host has to confirm it (`certwright assoc confirm`) and deploy it"
        return Outcome(progress, done, failure)

    until(f"association {association_id} deployed", look, timeout)


def in_state(client: Reader, path: str, field: str, wanted: str, timeout: float) -> None:
    """Until GET `path` shows `field` == `wanted` (schedule deletion: lifecycleState PENDING_DELETION)."""

    def look() -> Outcome:
        value = client.get(path).get(field)
        return Outcome(f"{path}: {field} {value}", value == wanted)

    until(f"{path} {field} {wanted}", look, timeout)


def crl_url(certificate_pem: str) -> str | None:
    """The first URI of the certificate's CRL distribution points (where its issuer's CRL is published)."""
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return None
    return next(
        (
            str(name.value)
            for point in points
            for name in (point.full_name or [])
            if isinstance(name, x509.UniformResourceIdentifier)
        ),
        None,
    )


def _fetch_crl(url: str) -> tuple[Any, str | None]:
    """The CRL at `url` as a relying party gets it (a plain GET); (None, why) when it cannot be had yet."""
    from cryptography import x509

    if not url.startswith(("http://", "https://")):
        return None, f"{url}: not an http(s) URL"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - http(s) only, checked above
            raw = answer.read()
    except urllib.error.HTTPError as err:
        return None, f"{url}: HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return None, f"{url}: {getattr(err, 'reason', err)}"
    try:
        return x509.load_der_x509_crl(raw), None
    except ValueError:
        try:
            return x509.load_pem_x509_crl(raw), None
        except ValueError:
            return None, f"{url}: not a CRL"


def in_crl(certificate_pem: str, serial_hex: str, timeout: float) -> None:
    """Until the CRL at the certificate's distribution point lists `serial_hex`."""
    url = crl_url(certificate_pem)
    if url is None:
        raise WaitError(
            "NoCrlDistributionPoint",
            "--wait: the certificate names no CRL distribution point to check (a root CA is revoked by removing it "
            "from trust stores)",
            EXIT_WAIT_FAILED,
        )
    serial = int(serial_hex, 16)

    def look() -> Outcome:
        crl, why = _fetch_crl(url)
        if crl is None:
            return Outcome(f"CRL not available yet ({why})")
        number = _crl_number(crl)
        listed = crl.get_revoked_certificate_by_serial_number(serial) is not None
        state = "lists" if listed else "does not list yet"
        return Outcome(f"CRL {url} (number {number}, {crl.last_update_utc.isoformat()}) {state} {serial_hex}", listed)

    until(f"serial {serial_hex} in the CRL", look, timeout)


def _crl_number(crl: Any) -> Any:
    from cryptography import x509

    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return "-"
