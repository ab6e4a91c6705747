"""The service's invariants, read from the table as stored (a scan is fine in a test), and that no half-done
create or renewal outlives one repair pass.

I1 no lost version (dense numbers, exactly one CURRENT); I2 no double issuance (one signed certificate per
version, serials unique per CA); I3 no half-deployed load balancer; I4 no plaintext private key at rest;
I5 CRLs monotonic and fresh; I6 no downgrade or out-of-order apply; I7 association integrity. Checked here:
I1, I2, I4, I7 (I3 in the deployment crash test, I5 in tests/crl, I6 in tests/lifecycle).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_der_private_key

from tests.conftest import Aws


@dataclass
class Table:
    certificates: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    secrets: dict[tuple[str, int], bytes] = field(default_factory=dict)
    serial_claims: set[tuple[str, str]] = field(default_factory=set)
    associations: list[dict[str, Any]] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def read_table(aws: Aws) -> Table:
    table = Table()
    for item in aws.table_items():
        kind, pk, sk = item["kind"]["S"], item["pk"]["S"], item["sk"]["S"]
        data = json.loads(item["data"]["S"]) if "data" in item else {}
        table.texts.append(json.dumps(item, default=str))
        if item.get("renewal_pk", {}).get("S") == "IN_FLIGHT":
            table.in_flight.append(f"{pk}/{sk}")
        if kind == "CERT":
            table.certificates[data["id"]] = data
        elif kind == "CERT_VERSION":
            table.versions.setdefault(data["certificateId"], {})[data["versionNumber"]] = data
            if "secret" in item:
                table.secrets[(data["certificateId"], data["versionNumber"])] = bytes(item["secret"]["B"])
        elif kind == "SERIAL":
            table.serial_claims.add((data["issuer"], data["serialNumber"].lower()))
        elif kind == "ASSOC":
            table.associations.append(data)
    return table


def _serial_hex(pem: str) -> str:
    return f"{x509.load_pem_x509_certificate(pem.encode()).serial_number:x}"


def assert_invariants(aws: Aws, *, repaired: bool, context: str = "") -> Table:
    """I1, I2, I4, I7 hold; with `repaired`, nothing is left CREATING or unstaged (and nothing is in flight)."""
    table = read_table(aws)
    where = f" [{context}]" if context else ""
    issued: Counter[tuple[str, str]] = Counter()
    for cert_id, cert in table.certificates.items():
        state = cert["lifecycleState"]
        if state == "DELETED":
            continue
        versions = table.versions.get(cert_id, {})
        # I1: dense version numbers, exactly one CURRENT (the one the certificate names) once it has been published.
        assert sorted(versions) == list(range(1, cert["latestVersionNumber"] + 1)), f"{cert_id} not dense{where}"
        current = [n for n, v in versions.items() if "CURRENT" in v["stages"]]
        latest = [n for n, v in versions.items() if "LATEST" in v["stages"]]
        if cert.get("currentVersionNumber"):
            assert current == [cert["currentVersionNumber"]], f"{cert_id}: CURRENT {current}{where}"
        else:
            assert current == [], f"{cert_id} ({state}) has a CURRENT version but names none{where}"
            assert state in ("CREATING", "FAILED", "PENDING_DELETION"), f"{cert_id} is {state} with nothing{where}"
        assert len(latest) <= 1, f"{cert_id}: LATEST {latest}{where}"
        for number, version in versions.items():
            published = bool(version["certificatePem"])
            if published:
                # I2: the stored certificate is the one reserved (same serial), and its serial was claimed first.
                assert _serial_hex(version["certificatePem"]) == version["serialNumber"].lower(), where
                issuer = version.get("issuerCertificateAuthorityId")
                if issuer:
                    assert (issuer, version["serialNumber"].lower()) in table.serial_claims, where
                assert version["stages"], f"{cert_id} v{number} published without a stage{where}"
            else:
                assert (cert_id, number) not in table.secrets, f"{cert_id} v{number}: a key without a certificate"
            if version.get("issuerCertificateAuthorityId"):
                issued[(version["issuerCertificateAuthorityId"], version["serialNumber"].lower())] += 1
            if repaired:
                assert version["stages"], f"{cert_id} v{number} still unstaged after the repair pass{where}"
            if "FAILED" in version["stages"]:
                assert version.get("failureReason"), f"{cert_id} v{number} FAILED without a reason{where}"
        if repaired:
            assert state != "CREATING", f"{cert_id} still CREATING after the repair pass{where}"
    duplicates = [key for key, count in issued.items() if count > 1]
    assert not duplicates, f"serials used twice: {duplicates}{where}"
    # I4: no plaintext private key at rest: no PEM key anywhere, and every stored secret is ciphertext.
    assert not [t for t in table.texts if "PRIVATE KEY" in t], f"a PEM private key is stored{where}"
    for key, secret in table.secrets.items():
        try:
            load_der_private_key(secret, password=None)
        except ValueError:
            continue
        raise AssertionError(f"{key}: the stored key is plaintext DER{where}")
    # I7: associations point at live certificates, and each certificate counts its associations.
    counts = Counter(a["certificateId"] for a in table.associations if a.get("certificateId"))
    for cert_id, count in counts.items():
        cert = table.certificates.get(cert_id)
        assert cert is not None and cert["lifecycleState"] != "DELETED", f"association of {cert_id}{where}"
        assert cert.get("associationCount", 0) == count, f"{cert_id} counts {cert.get('associationCount')}{where}"
    if repaired:
        assert not table.in_flight, f"still in flight after the repair pass: {table.in_flight}{where}"
    return table


def published_versions(table: Table, cert_id: str) -> list[int]:
    return sorted(n for n, v in table.versions.get(cert_id, {}).items() if v["certificatePem"])


def orphans(table: Table) -> list[str]:
    """Half-done work: certificates CREATING and versions with no stage."""
    found = [f"{c} CREATING" for c, cert in table.certificates.items() if cert["lifecycleState"] == "CREATING"]
    for cert_id, versions in table.versions.items():
        found += [f"{cert_id} v{n} unstaged" for n, v in versions.items() if not v["stages"]]
    return found
