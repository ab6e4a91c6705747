"""A local runtime with a state folder keeps everything across a restart: CAs and their KMS keys, certificates,
associations, audit, CRLs, the listener's certificates; the same CA keeps signing and the router picks up exactly
where it stopped (no stream record replayed, none lost)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from certwright_client.cli import Client
from cryptography import x509

from infra import demo, persistence
from infra.api_events import LOCAL_ADMIN
from infra.runtime import LocalRuntime, local_runtime

PARAMETERS = {"CrlBatchSeconds": "0"}


def call(rt: LocalRuntime, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return Client(rt.api_url, LOCAL_ADMIN, sign=False).call(method, path, body)


def ok(rt: LocalRuntime, method: str, path: str, body: Any = None) -> Any:
    status, answer = call(rt, method, path, body)
    assert status in (200, 201), (method, path, status, answer)
    return answer


def certificate(rt: LocalRuntime, name: str, issuer: str) -> Any:
    return ok(
        rt,
        "POST",
        "/certificates",
        {
            "name": name,
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuer,
            "profile": "TLS_SERVER",
            "subject": {"commonName": f"{name}.acme.example"},
            "subjectAlternativeNames": [{"type": "DNS", "value": f"{name}.acme.example"}],
            "validityDuration": "P30D",
        },
    )


def stream_sequences(rt: LocalRuntime) -> list[int]:
    return [
        int(record["dynamodb"]["SequenceNumber"])
        for delivery in rt.router.deliveries
        if delivery.kind == "stream"
        for record in delivery.payload["Records"]
    ]


def listener_certificate(rt: LocalRuntime, listener: str) -> str:
    described = rt.session.client("elbv2").describe_listeners(ListenerArns=[listener])["Listeners"][0]
    return str(described["Certificates"][0]["CertificateArn"])


def crl_object(rt: LocalRuntime, ca_id: str) -> bytes:
    bucket = rt.deployment.resources["PkiBucket"].ref
    return bytes(rt.session.client("s3").get_object(Bucket=bucket, Key=f"crl/{ca_id}/0.crl")["Body"].read())


def inventory(rt: LocalRuntime) -> dict[str, list[str]]:
    """What the account holds, by kind: a restart must adopt these, not add a second of any."""
    session = rt.session
    return {
        "tables": sorted(session.client("dynamodb").list_tables()["TableNames"]),
        "keys": sorted(k["KeyId"] for k in session.client("kms").list_keys()["Keys"]),
        "queues": sorted(session.client("sqs").list_queues().get("QueueUrls", [])),
        "topics": sorted(t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]),
        "buses": sorted(b["Name"] for b in session.client("events").list_event_buses()["EventBuses"]),
        "buckets": sorted(b["Name"] for b in session.client("s3").list_buckets()["Buckets"]),
        "roles": sorted(r["RoleName"] for r in session.client("iam").list_roles()["Roles"]),
        "certificates": sorted(
            c["CertificateArn"] for c in session.client("acm").list_certificates()["CertificateSummaryList"]
        ),
        "listeners": sorted(
            listener["ListenerArn"]
            for lb in session.client("elbv2").describe_load_balancers()["LoadBalancers"]
            for listener in session.client("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])[
                "Listeners"
            ]
        ),
    }


def verify_chain(tmp: Path, root_pem: str, issuing_pem: str, leaf_pem: str, name: str) -> None:
    """The leaf verifies under the issuing CA certificate and the root, by cryptography and (if present) openssl."""
    root, issuing, leaf = (x509.load_pem_x509_certificate(p.encode()) for p in (root_pem, issuing_pem, leaf_pem))
    leaf.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)
    if shutil.which("openssl") is None:
        return
    files = {}
    for label, pem in (("root", root_pem), ("issuing", issuing_pem), ("leaf", leaf_pem)):
        files[label] = tmp / f"{name}-{label}.pem"
        files[label].write_text(pem)
    result = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", files["root"], "-untrusted", files["issuing"], files["leaf"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_restart_keeps_the_hierarchy_certificates_associations_revocations_and_the_stream_position(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with local_runtime(state_dir=state, sweep_seconds=0, parameters=PARAMETERS, start_router=False) as rt:
        port = rt.endpoint
        root = ok(
            rt,
            "POST",
            "/certificate-authorities",
            {
                "name": "root",
                "configType": "ROOT_CA_GENERATED_INTERNALLY",
                "subject": {"commonName": "Acme Root CA"},
                "keyAlgorithm": "ECDSA_P384",
                "validityDuration": "P10Y",
            },
        )
        issuing = ok(
            rt,
            "POST",
            "/certificate-authorities",
            {
                "name": "issuing",
                "configType": "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA",
                "issuerCertificateAuthorityId": root["id"],
                "subject": {"commonName": "Acme Issuing CA"},
                "keyAlgorithm": "ECDSA_P256",
                "validityDuration": "P3Y",
            },
        )
        web = certificate(rt, "web", issuing["id"])
        story = demo.Story(tmp_path, rt.api_url, rt.session)
        listener, _placeholder = demo.make_load_balancer(story)
        demo.consent_by_tag(story, listener, web["id"])  # the listener's owner consents
        association = ok(
            rt,
            "POST",
            "/associations",
            {"certificateId": web["id"], "associatedResourceId": listener, "hostnames": ["web.acme.example"]},
        )
        rt.router.drain()
        ok(rt, "POST", f"/certificates/{web['id']}/versions", {})
        revoked = ok(
            rt, "POST", f"/certificates/{web['id']}/versions/1/actions/revoke", {"revocationReason": "SUPERSEDED"}
        )
        rt.router.drain()
        before = {
            "cas": ok(rt, "GET", "/certificate-authorities")["items"],
            "certificate": ok(rt, "GET", f"/certificates/{web['id']}"),
            "versions": ok(rt, "GET", f"/certificates/{web['id']}/versions")["items"],
            "association": ok(rt, "GET", f"/associations/{association['id']}"),
            "audit": ok(rt, "GET", f"/audit-events?resourceId={web['id']}")["items"],
            "crl": crl_object(rt, issuing["id"]),
            "listener": listener_certificate(rt, listener),
        }
        assert before["association"]["deployment"]["state"] == "DEPLOYED"
        assert before["association"]["deployment"]["deployedVersion"] == 2
        issuing_bundle = ok(rt, "GET", f"/certificate-authorities/{issuing['id']}/bundle")
        old_leaf = ok(rt, "GET", f"/certificates/{web['id']}/bundle")["certificatePem"]
        delivered = max(stream_sequences(rt))
        # A change the router has not delivered when the runtime stops: it must arrive after the restart.
        late = certificate(rt, "late", issuing["id"])
        assert rt.router.pending()
        held = inventory(rt)

    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / persistence.STATE_FILE).stat().st_mode) == 0o600

    with local_runtime(state_dir=state, sweep_seconds=0, parameters=PARAMETERS, start_router=False) as rt:
        assert rt.endpoint == port, "the embedded AWS keeps its port (certificates name it)"
        assert rt.restored_from is not None
        assert {"CertificatesTable", "KeyEncryptionKey", "PkiBucket"} <= set(rt.deployment.adopted)
        assert inventory(rt) == held, "the restart adopted what existed and created nothing twice"
        assert ok(rt, "GET", "/certificate-authorities")["items"] == before["cas"]
        assert ok(rt, "GET", f"/certificates/{web['id']}") == before["certificate"]
        assert ok(rt, "GET", f"/certificates/{web['id']}/versions")["items"] == before["versions"]
        assert ok(rt, "GET", f"/associations/{association['id']}") == before["association"]
        assert ok(rt, "GET", f"/audit-events?resourceId={web['id']}")["items"] == before["audit"]
        version1 = ok(rt, "GET", f"/certificates/{web['id']}/versions/1")
        assert version1["revocationStatus"]["revocationReason"] == "SUPERSEDED"
        assert version1["serialNumber"] == revoked["serialNumber"]
        crl = crl_object(rt, issuing["id"])
        assert crl == before["crl"]
        listed = {entry.serial_number for entry in x509.load_der_x509_crl(crl)}
        assert int(revoked["serialNumber"], 16) in listed
        acm_arn = listener_certificate(rt, listener)
        assert acm_arn == before["listener"] == before["association"]["deployment"]["acmCertificateArn"]
        rt.session.client("acm").describe_certificate(CertificateArn=acm_arn)  # the stored ARN is still valid

        # The stream resumes where the router stood: the late change arrives, nothing delivered comes again.
        rt.router.drain()
        resumed = stream_sequences(rt)
        assert resumed and min(resumed) > delivered, (delivered, resumed)
        assert any(d.function == "LbDeployerFunction" and late["id"] in d.summary for d in rt.router.deliveries), [
            d.summary for d in rt.router.deliveries
        ]

        # The same CA keys sign: a new CA certificate (same KMS key), a new leaf; old and new chains verify.
        root_pem = demo.root_pem_of(issuing_bundle)
        renewed_ca = ok(rt, "POST", f"/certificate-authorities/{issuing['id']}/versions", {})
        renewed_issuing_pem = ok(rt, "GET", f"/certificate-authorities/{issuing['id']}/bundle")["certificatePem"]
        assert renewed_issuing_pem != issuing_bundle["certificatePem"], renewed_ca
        new_leaf = ok(rt, "GET", f"/certificates/{certificate(rt, 'after', issuing['id'])['id']}/bundle")
        verify_chain(tmp_path, root_pem, renewed_issuing_pem, old_leaf, "old-under-new-ca")
        verify_chain(tmp_path, root_pem, issuing_bundle["certificatePem"], new_leaf["certificatePem"], "new-under-old")
        verify_chain(tmp_path, root_pem, renewed_issuing_pem, new_leaf["certificatePem"], "new-under-new-ca")

        # The router keeps working: a renewal is published and deployed to the restored listener (the sealed
        # key is opened with the restored key-encryption key).
        v3 = ok(rt, "POST", f"/certificates/{web['id']}/versions", {})
        rt.router.drain()
        deployment = ok(rt, "GET", f"/associations/{association['id']}")["deployment"]
        assert deployment["state"] == "DEPLOYED" and deployment["deployedVersion"] == 3, deployment
        assert deployment["deployedSerialNumber"] == v3["serialNumber"]
        assert listener_certificate(rt, listener) == deployment["acmCertificateArn"]


def test_a_state_folder_is_used_by_one_runtime_at_a_time(tmp_path: Path) -> None:
    from tests.runtime.conftest import TEST_TEMPLATE

    with (
        local_runtime(template=TEST_TEMPLATE, state_dir=tmp_path, sweep_seconds=0, start_router=False),
        pytest.raises(persistence.StateError, match="in use by another local runtime"),
        persistence.StateDir.open(tmp_path),
    ):
        pass


ROOT = Path(__file__).resolve().parents[2]


class MakeUp:
    """`python -m infra.runtime` (what `make up` runs) in a child process, its output collected."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.runtime"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "Ctrl-C" in line:
                self.ready.set()
        self.ready.set()

    def api_url(self) -> str:
        assert self.ready.wait(120), "the runtime did not start within 120 s"
        found = re.search(r"API\s+(http://127\.0\.0\.1:\d+)", "".join(self.lines))
        assert found, "".join(self.lines)
        return found.group(1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.reader.join(timeout=10)


def quiet_for(path: Path, seconds: float, after: float, timeout: float = 60) -> None:
    """Wait until `path` was written after `after` and then not again for `seconds`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = path.stat().st_mtime
        if written > after and time.time() - written >= seconds:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} did not settle")


def test_make_up_survives_kill_9_losing_nothing_saved(tmp_path: Path) -> None:
    state = tmp_path / ".local-state"
    env = {
        **os.environ,
        "CERTWRIGHT_STATE_DIR": str(state),
        "CERTWRIGHT_STATE_SAVE_SECONDS": "0.5",
        "CERTWRIGHT_API_PORT": "0",
        "CERTWRIGHT_AWS_PORT": "0",
        "CERTWRIGHT_SWEEP_SECONDS": "off",
    }
    first = MakeUp(env)
    try:
        client = Client(first.api_url(), LOCAL_ADMIN, sign=False)
        status, root = client.call(
            "POST",
            "/certificate-authorities",
            {
                "name": "kept",
                "configType": "ROOT_CA_GENERATED_INTERNALLY",
                "subject": {"commonName": "Kept Root"},
                "keyAlgorithm": "ECDSA_P256",
                "validityDuration": "P1Y",
            },
        )
        assert status == 201, root
        created = time.time()
        # Saved within the interval of the change, and an idle runtime writes nothing more.
        quiet_for(state / persistence.STATE_FILE, seconds=2.5, after=created)  # five save intervals
        first.process.send_signal(signal.SIGKILL)
    finally:
        first.close()
    assert first.process.returncode == -signal.SIGKILL

    second = MakeUp(env)
    try:
        client = Client(second.api_url(), LOCAL_ADMIN, sign=False)
        assert "restored from the snapshot" in "".join(second.lines)
        status, found = client.call("GET", f"/certificate-authorities/{root['id']}")
        assert status == 200 and found["currentVersion"] == root["currentVersion"], found
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=60) == 0
    finally:
        second.close()
    assert "saving the state" in "".join(second.lines)


def test_a_snapshot_taken_under_load_agrees_with_the_stream_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Writers and the router run while snapshots are taken; a mid-run snapshot, restored, delivers each of its
    items' records exactly once across both runs: before its stream position in the first, from it in the second."""
    from tests.runtime import recorder
    from tests.runtime.conftest import TEST_TEMPLATE

    captures = 0
    capture = persistence.capture_backends

    def counted() -> bytes:
        nonlocal captures
        captures += 1
        return capture()

    monkeypatch.setattr(persistence, "capture_backends", counted)
    live, copy = tmp_path / "live", tmp_path / "copy"
    copy.mkdir()
    recorder.reset()
    writers, per_writer = 4, 30
    halfway, resume = threading.Barrier(writers + 1), threading.Event()
    with local_runtime(template=TEST_TEMPLATE, state_dir=live, sweep_seconds=0, save_seconds=0.05) as rt:
        table = rt.deployment.resources["Table"].ref

        def write(number: int) -> None:
            dynamodb = rt.session.client("dynamodb")
            for i in range(per_writer):
                if i == per_writer // 2:
                    halfway.wait(timeout=60)
                    resume.wait(timeout=60)
                dynamodb.put_item(TableName=table, Item={"pk": {"S": f"w{number}-{i}"}, "sk": {"S": "x"}})

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        halfway.wait(timeout=60)
        # A snapshot after the first half (the router still delivering meanwhile), as a kill -9 would leave it.
        assert rt.snapshots is not None
        rt.snapshots.save(force=True)
        shutil.copyfile(live / persistence.STATE_FILE, copy / persistence.STATE_FILE)
        resume.set()
        for thread in threads:
            thread.join(timeout=60)
        deadline = time.monotonic() + 60
        while rt.router.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert captures > 2
    assert not [r for r in caplog.records if "saving the local state failed" in r.getMessage()]

    def delivered() -> dict[str, int]:
        return {
            r["dynamodb"]["Keys"]["pk"]["S"]: int(r["dynamodb"]["SequenceNumber"])
            for call in recorder.calls
            if call.function.endswith("StreamFunction")
            for r in call.event["Records"]
            if r["eventName"] == "INSERT"
        }

    first = delivered()
    assert len(first) == writers * per_writer
    header = (copy / persistence.STATE_FILE).read_bytes().split(b"\n", 2)[1]
    position = json.loads(header)["streams"][table]
    recorder.reset()
    with local_runtime(template=TEST_TEMPLATE, state_dir=copy, sweep_seconds=0, start_router=False) as rt:
        rt.router.drain()
        items = rt.session.client("dynamodb").scan(TableName=table)["Items"]
        second = delivered()
    recorder.reset()
    kept = {item["pk"]["S"] for item in items}
    assert len(kept) == writers * per_writer // 2, "the copy holds the first half"
    assert all(sequence >= position for sequence in second.values()), "a delivered record came again"
    before = {pk for pk, sequence in first.items() if sequence < position}
    assert before | set(second) == kept, "a record of a kept item was lost"
    assert not before & set(second)
