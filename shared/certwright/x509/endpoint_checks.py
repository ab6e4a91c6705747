"""The verdicts on a TLS endpoint: what an observed chain means, as findings in the runbook's words.

One module for both users of the checks: `certwright diagnose` (client/certwright_client/diagnose) and the
scheduled endpoint prober (services/probes.py). Pure: every function takes the served chain (an Observation, the
data a handshake yields), the host, `now` and a trust store; nothing here opens a socket or reads a clock.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

EXPIRY_WARNING = timedelta(days=30)
EXPIRY_ERROR = timedelta(days=7)
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_SIGNATURE_HASHES = ("md5", "sha1")
WILDCARD_RULES = (
    "a wildcard stands only for the whole leftmost label and for exactly one label: "
    "*.example.com covers www.example.com, not example.com and not a.b.example.com; "
    "names compare case-insensitively; the subject CN is ignored when the certificate has SANs"
)


@dataclass(frozen=True)
class Handshake:
    """One completed handshake: the chain as served (leaf first), the protocol and cipher agreed."""

    chain: tuple[x509.Certificate, ...]
    protocol: str
    cipher: str | None


@dataclass
class Observation:
    """All that was seen of one endpoint (by diagnose's connect.py or the prober's adapter); the input of diagnose."""

    host: str
    port: int
    servername: str
    with_sni: Handshake
    without_sni: Handshake | None = None
    without_sni_error: str | None = None
    weak_protocols: list[str] = field(default_factory=list)
    # URL -> DER/PEM bytes fetched, or the error text when the download failed.
    crls: dict[str, bytes | str] = field(default_factory=dict)
    issuers: dict[str, bytes | str] = field(default_factory=dict)


class Severity(StrEnum):
    ERROR = "error"  # the endpoint is unhealthy: some client fails (exit 1)
    WARNING = "warning"  # it works today, but not for long or not for every client
    INFO = "info"  # what was found, for the record


@dataclass(frozen=True)
class Finding:
    """One thing diagnose found: a stable code, what it means (cause) and what to do (fix), with the evidence."""

    code: str
    severity: Severity
    summary: str
    cause: str
    fix: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrustStore:
    """The roots a client trusts: --ca-file, a Certwright CA bundle or the system store (`label` says which)."""

    label: str
    roots: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class CertwrightView:
    """What Certwright knows about the served leaf, found by its serial number through the API."""

    certificate_id: str
    certificate_name: str
    version_number: int
    stages: tuple[str, ...]
    current_version_number: int | None
    current_since: str | None
    associations: tuple[dict[str, Any], ...] = ()
    chain: tuple[x509.Certificate, ...] = ()  # the version's issuing chain, issuer first


@dataclass(frozen=True)
class PathVerdict:
    """The path-validation verdict: a trusted chain leaf..root, or why there is none."""

    valid: bool
    reason: str | None = None
    chain: tuple[x509.Certificate, ...] = ()


def path_verdict(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
) -> PathVerdict:
    """RFC 5280 path validation as cryptography.x509.verification does it (WebPKI profile for the CAs).

    The leaf's names and extended key usage are not judged here (names are their own finding), so the verdict
    is the chain's alone: signatures, validity at `at`, CA basic constraints, key usage and path length.
    """
    if not roots:
        return PathVerdict(False, "the trust store is empty")
    builder = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(at)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
    )
    try:
        verified = builder.build_client_verifier().verify(leaf, list(intermediates))
    except VerificationError as err:
        return PathVerdict(False, str(err))
    return PathVerdict(True, chain=tuple(verified.chain))


# -- names -------------------------------------------------------------------------------------------


def names(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses a certificate is for (its SANs; the CN only when it has no SAN)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        common = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return [str(a.value) for a in common[:1]], []
    return san.get_values_for_type(x509.DNSName), [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == host
    suffix = pattern[1:]  # ".example.com"
    head = host[: -len(suffix)] if host.endswith(suffix) else ""
    return bool(head) and "." not in head and "*" not in suffix


def covers(certificate: x509.Certificate, host: str) -> bool:
    dns, ips = names(certificate)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return any(_dns_match(pattern, host) for pattern in dns)
    return any(ipaddress.ip_address(ip) == address for ip in ips)


# -- helpers -----------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(delta: timedelta) -> str:
    seconds = abs(int(delta.total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400} day(s)"
    if seconds >= 3600:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds // 60} minute(s)"


def _self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    return _signed_by(certificate, certificate)


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    allowed = (
        rsa.RSAPublicKey,
        ec.EllipticCurvePublicKey,
        dsa.DSAPublicKey,
        ed25519.Ed25519PublicKey,
        ed448.Ed448PublicKey,
    )
    return crl.issuer == issuer.subject and isinstance(key, allowed) and crl.is_signature_valid(key)


def _label(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string() or f"serial {certificate.serial_number:x}"


def _load_certificates(data: bytes) -> list[x509.Certificate]:
    try:
        return (
            x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
        )
    except ValueError:
        return []


def _load_crl(data: bytes) -> x509.CertificateRevocationList | None:
    try:
        return x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
    except ValueError:
        return None


def _fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def describe(certificate: x509.Certificate) -> dict[str, Any]:
    """The facts of one served certificate, as rendered and as JSON."""
    dns, ips = names(certificate)
    return {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "serialNumber": f"{certificate.serial_number:x}",
        "fingerprintSha256": _fingerprint(certificate),
        "notBefore": _iso(certificate.not_valid_before_utc),
        "notAfter": _iso(certificate.not_valid_after_utc),
        "names": dns + ips,
    }


# -- the checks --------------------------------------------------------------------------------------


def _validity(leaf: x509.Certificate, now: datetime) -> list[Finding]:
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if now < not_before:
        return [
            Finding(
                "NOT_YET_VALID",
                Severity.ERROR,
                f"the certificate is not valid yet: notBefore {_iso(not_before)} is {_span(not_before - now)} "
                f"after this host's clock ({_iso(now)})",
                "Clock skew — system time wrong, certificate validity window check fails "
                "(or the certificate was issued with a notBefore in the future)",
                "Check system clock on the failing host — even 5 minutes of skew can cause handshake failures; "
                "if the clock is right, reissue the certificate with a notBefore in the past",
                {"localClock": _iso(now), "notBefore": _iso(not_before), "skew": _span(not_before - now)},
            )
        ]
    if now > not_after:
        return [
            Finding(
                "EXPIRED",
                Severity.ERROR,
                f"certificate has expired: notAfter {_iso(not_after)}, {_span(now - not_after)} ago",
                "Certificate expired — renewal not configured or failed (auto-renewal silently failed)",
                "Renew and deploy the certificate now; set up monitoring on certificate expiry — alert at 30 days "
                "and 7 days before expiry; use automatic renewal — manual renewal always eventually gets missed",
                {"notAfter": _iso(not_after), "localClock": _iso(now)},
            )
        ]
    left = not_after - now
    if left <= EXPIRY_WARNING:
        return [
            Finding(
                "EXPIRING",
                Severity.ERROR if left <= EXPIRY_ERROR else Severity.WARNING,
                f"the certificate expires in {_span(left)} (notAfter {_iso(not_after)})",
                "Certificate about to expire — renewal not configured or failed",
                "Renew and deploy before notAfter; alert at 30 days and 7 days before expiry; "
                "use automatic renewal — manual renewal always eventually gets missed",
                {"notAfter": _iso(not_after), "daysLeft": left.days},
            )
        ]
    return []


def _names(observation: Observation) -> list[Finding]:
    leaf, name = observation.with_sni.chain[0], observation.servername
    if covers(leaf, name):
        return []
    dns, ips = names(leaf)
    other = observation.without_sni
    if other is not None and other.chain[0] != leaf and covers(other.chain[0], name):
        return [
            Finding(
                "SNI_MISMATCH",
                Severity.ERROR,
                f"asked for {name} by SNI, the server sends {_label(leaf)} (names {', '.join(dns + ips) or 'none'}); "
                f"without SNI it sends {_label(other.chain[0])}, which covers {name}",
                "SNI is not configured correctly: the server maps the name to the wrong certificate "
                "(multiple domains on one IP require SNI to select the right certificate)",
                f"Check whether SNI is configured correctly — map {name} to the certificate that covers it",
                {"withSni": describe(leaf), "withoutSni": describe(other.chain[0])},
            )
        ]
    return [
        Finding(
            "NAME_MISMATCH",
            Severity.ERROR,
            f"the certificate does not cover {name}: its names are {', '.join(dns + ips) or 'none'}",
            "Certificate does not cover the domain — wrong SAN or wildcard does not match subdomain "
            "(suddenly broken after deploy: new certificate deployed with wrong domain)",
            f"Confirm the certificate covers the exact domain being requested — check Subject Alternative Names; "
            f"issue one with {name} as a SAN. Wildcard rules: {WILDCARD_RULES}",
            {"host": name, "dnsNames": dns, "ipAddresses": ips, "wildcardRules": WILDCARD_RULES},
        )
    ]


def _sni(observation: Observation) -> list[Finding]:
    """A different certificate without SNI, when the SNI one is right: clients that send no SNI fail."""
    other, leaf = observation.without_sni, observation.with_sni.chain[0]
    if other is None or other.chain[0] == leaf or not covers(leaf, observation.servername):
        return []
    if covers(other.chain[0], observation.servername):
        return []
    return [
        Finding(
            "SNI_REQUIRED",
            Severity.WARNING,
            f"without SNI the server sends a different certificate ({_label(other.chain[0])}) "
            f"that does not cover {observation.servername}",
            "Multiple domains on one IP require SNI to select the right certificate; "
            "clients and health checks that send no SNI get the default one",
            "Check whether SNI is configured correctly; make the default certificate cover this name "
            "if old clients must work",
            {"withoutSni": describe(other.chain[0])},
        )
    ]


def _extra_intermediates(
    observation: Observation, certwright: CertwrightView | None
) -> list[tuple[str, x509.Certificate]]:
    found: list[tuple[str, x509.Certificate]] = []
    for url, body in observation.issuers.items():
        if isinstance(body, bytes):
            found.extend((f"the caIssuers URL {url}", c) for c in _load_certificates(body))
    if certwright is not None:
        found.extend((f"Certwright certificate {certwright.certificate_id}", c) for c in certwright.chain)
    return found


def _chain(
    observation: Observation, trust: TrustStore, now: datetime, certwright: CertwrightView | None
) -> list[Finding]:
    chain = observation.with_sni.chain
    leaf, served = chain[0], list(chain[1:])
    # The leaf's own window is its own finding; judge the chain at a moment the leaf is valid.
    at = min(max(now, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    verdict = path_verdict(leaf, served, trust.roots, at)
    if verdict.valid:
        return []
    details: dict[str, Any] = {"trustStore": trust.label, "verifier": verdict.reason, "served": len(chain)}
    if _self_signed(leaf):
        return [
            Finding(
                "SELF_SIGNED",
                Severity.ERROR,
                f"the server sends a self-signed certificate ({_label(leaf)}), not trusted by {trust.label}",
                "Self-signed or private CA cert not trusted by the calling service "
                "(internal service using self-signed cert not trusted by other services)",
                "Issue the certificate from a private CA and distribute its root to all services via a secret "
                "or config map (or pass it with --ca-file / --ca-bundle)",
                details,
            )
        ]
    extras = _extra_intermediates(observation, certwright)
    completed = path_verdict(leaf, served + [c for _, c in extras], trust.roots, at)
    if completed.valid:
        used = {c for c in completed.chain[1:]}
        sources = sorted({source for source, c in extras if c in used})
        missing = [_label(c) for c in completed.chain[1:-1] if c not in served]
        return [
            Finding(
                "INCOMPLETE_CHAIN",
                Severity.ERROR,
                f"unable to verify the first certificate: the server sends {len(chain)} certificate(s) and omits "
                f"{', '.join(missing)}; it can be found through {' and '.join(sources)}",
                "Incomplete certificate chain — intermediate CA not included in the served chain",
                "Always serve the full certificate chain — leaf + intermediate; never just the leaf "
                "(Certwright: deploy fullchain.pem of `certwright cert bundle --out`)",
                details | {"missing": missing, "foundThrough": sources},
            )
        ]
    root_subjects = {root.subject for root in trust.roots}
    top = chain[-1]
    if not _self_signed(top) and top.issuer not in root_subjects:
        return [
            Finding(
                "INCOMPLETE_CHAIN" if len(chain) == 1 else "UNTRUSTED",
                Severity.ERROR,
                f"unable to verify the first certificate: the server sends {len(chain)} certificate(s), the last "
                f"issued by {top.issuer.rfc4514_string()}, which is neither served nor in {trust.label}, and no "
                f"caIssuers URL or Certwright record supplies it",
                "Incomplete certificate chain — intermediate CA not included in the served chain; "
                "or a private CA not trusted by the calling service",
                "Always serve the full certificate chain — leaf + intermediate; for internal services distribute "
                "the private CA's root to all services (or pass it with --ca-file / --ca-bundle)",
                details | {"missingIssuer": top.issuer.rfc4514_string()},
            )
        ]
    return [
        Finding(
            "UNTRUSTED",
            Severity.ERROR,
            f"the served chain does not lead to a root in {trust.label}: {verdict.reason}",
            "Self-signed or private CA cert not trusted by the calling service, or a certificate of the chain "
            "is invalid (expired CA, bad signature, CA constraints)",
            "For internal services: use a private CA with the root distributed to all services via a secret or "
            "config map; works in browser, fails in code: the code is not using the trust store you expect",
            details,
        )
    ]


def _revocation(observation: Observation, trust: TrustStore, certwright: CertwrightView | None) -> list[Finding]:
    chain = list(observation.with_sni.chain)
    candidates = chain + [c for _, c in _extra_intermediates(observation, certwright)] + list(trust.roots)
    findings: list[Finding] = []
    crls: list[x509.CertificateRevocationList] = []
    for url, body in observation.crls.items():
        crl = _load_crl(body) if isinstance(body, bytes) else None
        if crl is None:
            findings.append(
                Finding(
                    "CRL_UNAVAILABLE",
                    Severity.WARNING,
                    f"the CRL distribution point {url} could not be read: "
                    f"{body if isinstance(body, str) else 'not a CRL'}",
                    "Revocation cannot be checked; clients that require it fail",
                    "Serve the CRL at the URL the certificates name (Certwright: GET /crl/{ca}/{partition}.crl)",
                    {"url": url},
                )
            )
            continue
        crls.append(crl)
    for certificate in chain:
        for crl in crls:
            if crl.issuer != certificate.issuer:
                continue
            if not any(c.subject == crl.issuer and _crl_signed_by(crl, c) for c in candidates):
                continue
            entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
            if entry is None:
                continue
            reason = None
            with contextlib.suppress(x509.ExtensionNotFound):
                reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
            findings.append(
                Finding(
                    "REVOKED",
                    Severity.ERROR,
                    f"{_label(certificate)} (serial {certificate.serial_number:x}) is revoked since "
                    f"{_iso(entry.revocation_date_utc)}{f' ({reason})' if reason else ''}",
                    "The certificate was revoked by its CA, but the server still serves it",
                    "Deploy a new certificate (Certwright: renew, then deploy the CURRENT version)",
                    {"serialNumber": f"{certificate.serial_number:x}", "reason": reason},
                )
            )
    return findings


def _strength(handshake: Handshake, weak_protocols: Sequence[str]) -> list[Finding]:
    findings: list[Finding] = []
    accepted = list(
        dict.fromkeys(
            [*weak_protocols, *([handshake.protocol] if handshake.protocol in ("TLSv1", "TLSv1.1", "SSLv3") else [])]
        )
    )
    if accepted:
        findings.append(
            Finding(
                "WEAK_PROTOCOL",
                Severity.ERROR,
                f"the server accepts {', '.join(accepted)} (below TLS 1.2)",
                "An old protocol version is still enabled; it is deprecated (RFC 8996) and refused by current clients",
                "Allow only TLS 1.2 and TLS 1.3 on the listener (for an ALB: an ELBSecurityPolicy-TLS13-1-2-* policy)",
                {"accepted": accepted, "negotiated": handshake.protocol},
            )
        )
    for certificate in handshake.chain:
        if _self_signed(certificate) and certificate is not handshake.chain[0]:
            continue  # a served root's self-signature is never checked
        key = certificate.public_key()
        problem = None
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            problem = f"an RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})"
        elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
            problem = f"an EC key on {key.curve.name} (at least P-256)"
        elif isinstance(key, dsa.DSAPublicKey):
            problem = "a DSA key"
        hash_ = certificate.signature_hash_algorithm
        if problem is None and hash_ is not None and hash_.name in WEAK_SIGNATURE_HASHES:
            problem = f"a {hash_.name.upper()} signature"
        if problem:
            findings.append(
                Finding(
                    "WEAK_KEY",
                    Severity.ERROR,
                    f"{_label(certificate)} has {problem}",
                    "A weak key or signature: current clients refuse it",
                    "Reissue with ECDSA P-256/P-384 or RSA 2048+ and a SHA-256 or stronger signature",
                    {"certificate": describe(certificate)},
                )
            )
    return findings


def _certwright(view: CertwrightView) -> list[Finding]:
    assocs = [f"{a.get('id')} ({a.get('associatedResourceId')})" for a in view.associations]
    where = f"; associations: {', '.join(assocs)}" if assocs else "; no association"
    findings = [
        Finding(
            "CERTWRIGHT_CERTIFICATE",
            Severity.INFO,
            f"served certificate is Certwright certificate {view.certificate_id} ({view.certificate_name}), "
            f"version {view.version_number} [{', '.join(view.stages) or 'no stage'}]{where}",
            "Certwright issued or imported the certificate this endpoint serves",
            "Inspect it with `certwright cert get` and `certwright assoc list --cert`",
            {
                "certificateId": view.certificate_id,
                "versionNumber": view.version_number,
                "stages": list(view.stages),
                "currentVersionNumber": view.current_version_number,
                "associations": list(view.associations),
            },
        )
    ]
    current = view.current_version_number
    if current is not None and current != view.version_number:
        since = f" since {view.current_since}" if view.current_since else ""
        findings.append(
            Finding(
                "DEPLOYMENT_DRIFT",
                Severity.ERROR,
                f"serving v{view.version_number}, CURRENT is v{current}{since}: deployment drift",
                "Suddenly broken after deploy: the endpoint still serves an older version than CURRENT "
                "(the deployment did not reach it, or it was rolled back by hand)",
                f"Deploy version {current} of {view.certificate_id} to this endpoint "
                "(`certwright cert bundle --stage CURRENT --out`), then diagnose again",
                {"servedVersion": view.version_number, "currentVersion": current, "currentSince": view.current_since},
            )
        )
    return findings


def diagnose(
    observation: Observation, trust: TrustStore, now: datetime, certwright: CertwrightView | None = None
) -> list[Finding]:
    """Every finding about the observed endpoint, errors first."""
    leaf = observation.with_sni.chain[0]
    findings = [
        *_validity(leaf, now),
        *_names(observation),
        *_sni(observation),
        *_chain(observation, trust, now, certwright),
        *_revocation(observation, trust, certwright),
        *_strength(observation.with_sni, observation.weak_protocols),
    ]
    if certwright is not None:
        findings.extend(_certwright(certwright))
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return sorted(findings, key=lambda f: order[f.severity])


def healthy(findings: Sequence[Finding]) -> bool:
    return not any(f.severity is Severity.ERROR for f in findings)


# -- the scheduled probe (services/probes.py): the same checks, judged against what Certwright expects ----------


@dataclass(frozen=True)
class ProbeExpectation:
    """What a probed association's endpoint should serve, as Certwright knows it."""

    certificate_id: str
    certificate_name: str
    current_version: int | None
    # serial number (hex) -> version number, for every version of the certificate
    versions: dict[str, int]
    # the deployment of the CURRENT version was verified on the target: only then is an older one drift
    verified: bool
    # the issuing chain of the CURRENT version, issuer first (its root, self-signed, is the trust store)
    chain: tuple[x509.Certificate, ...] = ()


def _serial_key(serial: str) -> int | None:
    try:
        return int(serial.replace(":", ""), 16)
    except ValueError:
        return None


def probe_findings(
    observation: Observation | None, failure: str | None, expected: ProbeExpectation, now: datetime
) -> list[Finding]:
    """The probe's verdict: diagnose's findings, with drift judged against the CURRENT version once verified.

    `failure` is why no handshake completed (then `observation` is None): a failed handshake is unhealthy.
    The trust store is the certificate's own CA root, so a broken or missing chain is a finding as in diagnose.
    """
    if observation is None:
        return [
            Finding(
                "HANDSHAKE_FAILED",
                Severity.ERROR,
                f"no TLS handshake: {failure or 'unknown reason'}",
                "The endpoint is down, unreachable from the prober, or refuses the handshake",
                "Check the listener and its security groups; run `certwright diagnose` against it",
            )
        ]
    roots = tuple(c for c in expected.chain if _self_signed(c))
    intermediates = tuple(c for c in expected.chain if c not in roots)
    trust = TrustStore(f"the CA of Certwright certificate {expected.certificate_id}", roots)
    leaf = observation.with_sni.chain[0]
    by_serial = {_serial_key(s): n for s, n in expected.versions.items()}
    served_version = by_serial.get(leaf.serial_number)
    view = None
    if served_version is not None:
        current = expected.current_version if expected.verified else served_version
        view = CertwrightView(
            expected.certificate_id, expected.certificate_name, served_version, (), current, None, (), intermediates
        )
    findings = diagnose(observation, trust, now, view)
    if not roots:
        # An imported certificate whose chain Certwright does not hold: no trust store to judge the path with.
        findings = [f for f in findings if f.code not in ("UNTRUSTED", "SELF_SIGNED", "INCOMPLETE_CHAIN")]
    if served_version is None and expected.verified:
        findings.insert(
            0,
            Finding(
                "UNEXPECTED_CERTIFICATE",
                Severity.ERROR,
                f"serving serial {leaf.serial_number:x} ({_label(leaf)}), which is no version of Certwright "
                f"certificate {expected.certificate_id}; CURRENT is v{expected.current_version}",
                "The endpoint serves another certificate than the one associated with it (replaced by hand, "
                "or the association names the wrong endpoint)",
                f"Deploy the CURRENT version of {expected.certificate_id} there, or fix the association's endpoint",
                {"servedSerial": f"{leaf.serial_number:x}", "currentVersion": expected.current_version},
            ),
        )
    return findings
