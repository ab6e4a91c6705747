"""CRL build and sign: our code (KMS-held key on the embedded AWS) beside cryptography's builder alone, as ratios.

For 1k, 10k and 100k revoked entries: time to build and sign one CRL through certwright.x509.crl with a
KMS-backed CA key (moto, with the DIGEST shim), and time for cryptography's own builder with a local key on
the very same list; the DER size and bytes per entry; and KMS Sign calls per CRL (one, whatever the size).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from certwright.adapters.kms import KmsCaKeys
from certwright.domain.certificate import RevocationReason
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.revocation import CrlPolicy, RevokedEntry, RevokedKind
from certwright.x509.builder import Issuer
from certwright.x509.crl import CrlRequest, build_crl
from certwright.x509.keys import generate_private_key, hash_for
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from moto import mock_aws

from infra import moto_shims

SIZES = [int(n) for n in os.environ.get("CERTWRIGHT_BENCH_CRL_SIZES", "1000,10000,100000").split(",")]
ALGORITHM = KeyAlgorithm.ECDSA_P256
NAME = x509.Name(
    [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Certwright"), x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")]
)
REASONS = [RevocationReason.KEY_COMPROMISE, RevocationReason.SUPERSEDED, RevocationReason.UNSPECIFIED]


def _entries(count: int, now: datetime) -> list[RevokedEntry]:
    return [
        RevokedEntry(
            "ca-bench",
            f"{(1 << 126) | (i * 2654435761):x}",  # 16-byte serials, as the service issues them
            now - timedelta(seconds=i),
            REASONS[i % len(REASONS)],
            RevokedKind.CERTIFICATE,
            f"cert-{i}",
            1,
        )
        for i in range(count)
    ]


def _baseline(entries: list[RevokedEntry], now: datetime) -> bytes:
    """cryptography alone: the same entries and extensions, a local key."""
    key = generate_private_key(ALGORITHM)
    flags = {
        RevocationReason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
        RevocationReason.SUPERSEDED: x509.ReasonFlags.superseded,
    }
    revoked = []
    for e in entries:
        builder = x509.RevokedCertificateBuilder().serial_number(int(e.serial_number, 16)).revocation_date(e.revoked_at)
        if e.reason in flags:
            builder = builder.add_extension(x509.CRLReason(flags[e.reason]), critical=False)
        revoked.append(builder.build())
    crl = (
        x509.CertificateRevocationListBuilder(NAME, now, now + timedelta(days=1), [], revoked)
        .add_extension(x509.CRLNumber(1), critical=False)
        .sign(key, hash_for(ALGORITHM))
    )
    return crl.public_bytes(serialization.Encoding.DER)


def measure(count: int) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    entries = _entries(count, now)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        calls: Counter[str] = Counter()
        session.events.register("before-call.kms", lambda model, **_: calls.update([model.name]))
        kms = session.client("kms")
        keys = KmsCaKeys(kms)
        key_id = keys.create_key(ALGORITHM, "bench CA")
        signing_key = keys.signing_key(key_id, ALGORITHM)
        ski = x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()).digest  # type: ignore[arg-type]
        issuer = Issuer(NAME, signing_key, ALGORITHM, ski)
        calls.clear()
        start = time.perf_counter()
        crl = build_crl(issuer, CrlRequest(1, now, entries, CrlPolicy()))
        der = crl.public_bytes(serialization.Encoding.DER)
        ours = time.perf_counter() - start
    start = time.perf_counter()
    baseline_der = _baseline(entries, now)
    baseline = time.perf_counter() - start
    return {
        "entries": count,
        "ours": ours,
        "baseline": baseline,
        "size": len(der),
        "baseline_size": len(baseline_der),
        "signs": calls["Sign"],
    }


def main() -> None:
    moto_shims.install()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    print("\nCRL build + sign: certwright (KMS-held key, embedded AWS) against cryptography's builder alone")
    header = f"{'entries':>8} {'ours s':>8} {'baseline s':>11} {'ratio':>6} {'DER bytes':>10} {'B/entry':>8} {'KMS Sign/CRL':>13}"
    print(header)
    print("-" * len(header))
    for size in SIZES:
        row = measure(size)
        print(
            f"{row['entries']:>8} {row['ours']:>8.3f} {row['baseline']:>11.3f} {row['ours'] / row['baseline']:>6.2f} "
            f"{row['size']:>10} {row['size'] / row['entries']:>8.1f} {row['signs']:>13}"
        )
    print("ratio = ours / baseline (same entries, same extensions); one KMS Sign per CRL whatever its size.")


if __name__ == "__main__":
    main()
