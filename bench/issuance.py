"""`make bench`: issuance throughput through the service on the embedded AWS, beside a raw baseline, as ratios.

The baseline is what the same machine does with cryptography alone: generate the leaf key, build the same
leaf and sign it with a local CA key. The service does that plus validation, a serial claim, KMS Sign
(moto), KMS Encrypt of the leaf key and two DynamoDB transactions. Numbers are machine-dependent; the
ratio and the AWS calls per issuance are what to watch.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from certwright import bootstrap
from certwright.api.requests import CreateRootAuthority, IssueCertificateRequest
from certwright.domain.authority import NameConstraint, Validity
from certwright.domain.certificate import Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.x509.builder import Issuer, sign_ca_certificate, sign_leaf_certificate
from certwright.x509.keys import generate_private_key, private_key_der
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from moto import mock_aws

from infra import moto_shims
from infra.resources import create_resources

ROUNDS = int(os.environ.get("CERTWRIGHT_BENCH_ROUNDS", "40"))
# Where the own time goes: a function's self time, grouped by the file it lives in (first match wins).
PROFILE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validation", ("/certwright/domain/", "/certwright/services/commands", "/certwright/services/validation")),
    ("codec", ("/certwright/adapters/dynamodb_", "/certwright/outbox")),
    ("PynamoDB", ("/pynamodb/",)),
    ("pydantic", ("/pydantic/", "/pydantic_core/", "pydantic_core")),
    ("x509 build", ("/certwright/x509/", "/cryptography/", "_rust.", "x509")),
    ("authorization", ("/certwright/authorization/", "/cedarpy/")),
    ("botocore request building", ("/botocore/", "/boto3/", "/jmespath/", "/urllib3/", "/dateutil/")),
)
CALLER = "arn:aws:iam::123456789012:user/bench"


def _rate(count: int, action: Callable[[int], object], clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    for i in range(count):
        action(i)
    return count / (clock() - start)


def baseline(ca_algorithm: KeyAlgorithm, leaf_algorithm: KeyAlgorithm) -> float:
    """Leaves per second with cryptography alone and a local CA key."""
    now = datetime.now(UTC)
    ca_key = generate_private_key(ca_algorithm)
    ca_subject = Subject(common_name="Bench CA")
    ca_cert = sign_ca_certificate(
        subject=ca_subject,
        public_key=ca_key.public_key(),
        serial_number=1,
        validity=Validity.starting(now, Duration.parse("P1Y")),
        issuer=None,
        self_key=ca_key,
        self_algorithm=ca_algorithm,
        path_length=0,
        name_constraint=NameConstraint(),
    )
    issuer = Issuer.from_certificate(ca_cert, ca_key, ca_algorithm)
    validity = Validity.starting(now, Duration.parse("P30D"))

    def one(i: int) -> None:
        key = generate_private_key(leaf_algorithm)
        private_key_der(key)
        cert = sign_leaf_certificate(
            subject=Subject(common_name=f"h{i}.bench.example"),
            sans=(SubjectAlternativeName(SanType.DNS, f"h{i}.bench.example"),),
            public_key=key.public_key(),
            serial_number=x509.random_serial_number(),
            validity=validity,
            profile=Profile.TLS_SERVER,
            issuer=issuer,
        )
        cert.public_bytes(serialization.Encoding.PEM)

    one(0)
    # CPU time, as the service's own code is measured: on a shared machine, wall time counts the neighbours too.
    return _rate(ROUNDS * 3, one, time.thread_time)


class AwsMeter:
    """Counts AWS calls and the wall time spent inside them (registered before any client exists).

    With a profiler attached, it stops profiling for the duration of each call: the profile sees own code only.
    `cpu_seconds` is this thread's CPU time inside the calls (the embedded AWS answers in the same thread).
    """

    def __init__(self, session: boto3.Session) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self._started = 0.0
        self._cpu_started = 0.0
        self.profiler: cProfile.Profile | None = None
        session.events.register("before-call", self._before)
        session.events.register("after-call", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1
        if self.profiler is not None:
            self.profiler.disable()
        self._started = time.perf_counter()
        self._cpu_started = time.thread_time()

    def _after(self, **_: Any) -> None:
        self.cpu_seconds += time.thread_time() - self._cpu_started
        self.seconds += time.perf_counter() - self._started
        if self.profiler is not None:
            self.profiler.enable()

    def reset(self) -> None:
        self.calls.clear()
        self.seconds = 0.0
        self.cpu_seconds = 0.0


def service(ca_algorithm: KeyAlgorithm, leaf_algorithm: KeyAlgorithm) -> dict[str, Any]:
    """Leaves per second through IssuanceService on the in-process embedded AWS, AWS calls and peak memory."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        meter = AwsMeter(session)
        container = bootstrap.build(create_resources(session), session=session)
        ca = container.authorities.create(
            CreateRootAuthority.model_validate(
                {
                    "name": "bench",
                    "configType": "ROOT_CA_GENERATED_INTERNALLY",
                    "subject": {"commonName": "Bench CA"},
                    "keyAlgorithm": ca_algorithm.value,
                    "validityDuration": "P1Y",
                }
            ).command(),
            CALLER,
        )

        def one(i: int) -> None:
            container.issuance.create(
                # The request is validated as the API does, then mapped to its command.
                IssueCertificateRequest.model_validate(
                    {
                        "name": f"h{i}",
                        "configType": "ISSUED_BY_INTERNAL_CA",
                        "issuerCertificateAuthorityId": ca.id,
                        "profile": "TLS_SERVER",
                        "subject": {"commonName": f"h{i}.bench.example"},
                        "keyAlgorithm": leaf_algorithm.value,
                        "validityDuration": "P30D",
                    }
                ).command(),
                CALLER,
            )

        one(0)
        meter.reset()
        start, cpu_start = time.perf_counter(), time.thread_time()
        for i in range(1, ROUNDS + 1):
            one(i)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
        calls = dict(meter.calls)
        own = cpu - meter.cpu_seconds
        tracemalloc.start()
        for i in range(ROUNDS + 1, ROUNDS + 6):
            one(i)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        meter.profiler = cProfile.Profile()
        meter.profiler.enable()
        for i in range(ROUNDS + 6, 2 * ROUNDS + 6):
            one(i)
        meter.profiler.disable()
        profile = own_time_by_group(pstats.Stats(meter.profiler))
        meter.profiler = None
        return {"rate": ROUNDS / elapsed, "own_rate": ROUNDS / own, "calls": calls, "peak": peak, "profile": profile}


def own_time_by_group(stats: pstats.Stats) -> dict[str, float]:
    """Self time per PROFILE_GROUPS entry (the rest is "other"), in seconds."""

    def group_of(filename: str, function: str) -> str:
        where = f"{filename}:{function}"
        return next((group for group, parts in PROFILE_GROUPS if any(part in where for part in parts)), "other")

    groups: Counter[str] = Counter()
    # A row: (primitive calls, calls, self time, cumulative time, {caller: (.., .., self time for it, ..)}).
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own_group = group_of(filename, function)
        if filename != "~" or own_group != "other" or not row[4]:
            groups[own_group] += row[2]
            continue
        # A builtin (json, str.join, getattr...) counts for whoever called it.
        for (caller_file, _caller_line, caller_function), by_caller in row[4].items():
            groups[group_of(caller_file, caller_function)] += by_caller[2]
    return dict(groups)


def print_profile(profile: dict[str, float]) -> None:
    total = sum(profile.values()) or 1.0
    print(f"\nOwn time per issuance, ECDSA P-256 (cProfile over {ROUNDS} issuances, AWS calls not profiled):")
    header = f"{'group':<27} {'ms/issuance':>12} {'share':>7}"
    print(header)
    print("-" * len(header))
    order = [group for group, _ in PROFILE_GROUPS] + ["other"]
    for group in order:
        seconds = profile.get(group, 0.0)
        print(f"{group:<27} {seconds * 1000 / ROUNDS:>12.2f} {seconds / total:>7.1%}")
    print(f"{'total (profiler-inflated)':<27} {total * 1000 / ROUNDS:>12.2f} {1.0:>7.1%}")
    print(
        "botocore request building is paid per AWS call: endpoint-ruleset parameters (for DynamoDB a JMESPath walk\n"
        "of a transaction's items), serialization, event hooks; the profiler inflates this pure-Python code most."
    )


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    moto_shims.install()
    print(f"Issuance benchmark: {ROUNDS} issuances per row (CERTWRIGHT_BENCH_ROUNDS), embedded AWS in-process\n")
    header = (
        f"{'CA key':<11} {'leaf key':<11} {'raw/s':>8} {'service/s':>10} {'ratio':>7} "
        f"{'own code/s':>11} {'own ratio':>10} {'AWS calls':>10} {'peak MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    detail: dict[str, int] = {}
    profiles: list[dict[str, float]] = []
    for ca_algorithm, leaf_algorithm in [
        (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.ECDSA_P256),
        (KeyAlgorithm.RSA2048, KeyAlgorithm.RSA2048),
    ]:
        raw = baseline(ca_algorithm, leaf_algorithm)
        measured = service(ca_algorithm, leaf_algorithm)
        detail = measured["calls"]
        profiles.append(measured["profile"])
        print(
            f"{ca_algorithm.value:<11} {leaf_algorithm.value:<11} {raw:>8.1f} {measured['rate']:>10.1f} "
            f"{measured['rate'] / raw:>7.3f} {measured['own_rate']:>11.1f} {measured['own_rate'] / raw:>10.3f} "
            f"{sum(detail.values()) / ROUNDS:>10.1f} {measured['peak'] / 2**20:>9.1f}"
        )
    print_profile(profiles[0])
    per_call = ", ".join(f"{name} {count / ROUNDS:g}" for name, count in sorted(detail.items()))
    print(f"\nAWS calls per issuance (last row): {per_call}")
    print("ratio     = end-to-end service rate / raw cryptography rate, same machine, same run (1.0 = no overhead).")
    print(
        "own ratio = the same with time inside AWS calls removed: Certwright's own cost (validation, codec, PynamoDB)."
    )
    print("raw/s and own code/s count CPU time (this thread's), so a busy machine slows them less than wall time.")
    print("The embedded AWS dominates end to end: moto deep-copies each table a TransactWriteItems touches, so its")
    print("cost grows with the table; real DynamoDB transactions are ~10-30 ms regardless of table size.")
    print("In a real account the cap is KMS Sign: 300/s (ECC) or 500/s (RSA) per account and Region, shared.")


if __name__ == "__main__":
    main()
