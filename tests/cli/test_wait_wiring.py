"""The CLI's --wait and --output against the local runtime (embedded AWS, gateway, router, real handlers)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
import yaml
from certwright_client.wait import crl_url
from cryptography import x509

from infra.runtime import LocalRuntime, local_runtime
from tests.cli.conftest import Cli
from tests.consenting import consent
from tests.listeners import https_listener


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    """tests/cli/conftest.py's runtime, but a revocation is published at once (no 30 s batch: schedules are off)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            patch.setenv(name, value)
        with local_runtime(sweep_seconds=0, parameters={"CrlBatchSeconds": "0"}) as rt:
            yield rt


def listener(rt: LocalRuntime) -> str:
    return https_listener(rt.session, "cli-wait", 42, "placeholder.cli.example")


def served_serial(rt: LocalRuntime, listener_arn: str) -> str:
    elbv2, acm = rt.session.client("elbv2"), rt.session.client("acm")
    arn = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["Certificates"][0]["CertificateArn"]
    pem = acm.get_certificate(CertificateArn=arn)["Certificate"]
    return f"{x509.load_pem_x509_certificate(pem.encode()).serial_number:x}"


def test_renew_wait_sees_the_listener_deployed_and_revoke_wait_sees_the_crl(runtime: LocalRuntime, cli: Cli) -> None:
    root = cli.ok("--field", "id", "ca", "create", "--name", "wait-root", "--cn", "Wait Root")
    issuing = cli.ok("--field", "id", "ca", "create", "--name", "wait-issuing", "--issuer", root, "--cn", "Wait CA",
                     "--validity", "P1Y")  # fmt: skip
    created = cli("--field", "id", "cert", "create", "--name", "wait-web", "--issuer", issuing,
                  "--cn", "w.wait.example", "--san", "DNS:w.wait.example", "--validity", "P30D", "--wait")  # fmt: skip
    web = created.out.strip()
    assert created.code == 0 and created.err.splitlines()[-1] == f"done: {web} version 1 deployed", created
    arn = listener(runtime)
    consent(runtime.session, arn, web)  # the listener's owner tags it

    made = cli("-o", "json", "assoc", "create", "--cert", web, "--resource", arn, "--wait", "--timeout", "120")
    assert made.code == 0, made
    assert made.err.splitlines()[-1] == f"done: association {json.loads(made.out)['id']} deployed"
    assert json.loads(made.out)["deployment"]["state"] == "DEPLOYED", "printed as it is when the wait is over"

    renewed = cli("--field", "versionNumber", "cert", "renew", web, "--wait", "--timeout", "120")
    assert (renewed.code, renewed.out.strip()) == (0, "2"), renewed
    assert "waiting: " in renewed.err and renewed.err.splitlines()[-1] == f"done: {web} version 2 deployed"
    v2 = json.loads(cli.ok("-o", "json", "cert", "version", web, "2"))
    assert served_serial(runtime, arn) == v2["serialNumber"].lower().lstrip("0"), "the listener serves version 2"
    association = json.loads(cli.ok("-o", "json", "assoc", "list", "--cert", web))["items"][0]
    assert (association["deployment"]["state"], association["deployment"]["deployedVersion"]) == ("DEPLOYED", 2)

    revoked = cli("-o", "json", "cert", "revoke", web, "1", "--reason", "SUPERSEDED", "--wait", "--timeout", "120")
    assert revoked.code == 0, revoked
    serial = json.loads(revoked.out)["serialNumber"]
    assert revoked.err.splitlines()[-1] == f"done: serial {serial} in the CRL"
    # What the wait promised, seen as any relying party sees it: the CRL at the distribution point lists it.
    v1_pem = cli.ok("--field", "certificatePem", "cert", "bundle", web, "--version", "1")
    url = crl_url(v1_pem)
    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the local runtime's PKI bucket
        crl = x509.load_der_x509_crl(answer.read())
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None

    deleting = cli("-o", "json", "cert", "schedule-deletion", web, "--version", "1", "--wait", "--timeout", "60")
    assert deleting.code == 0, deleting
    assert json.loads(cli.ok("-o", "json", "cert", "version", web, "1"))["lifecycleState"] == "PENDING_DELETION"
    assert cli("cert", "cancel-deletion", web, "--version", "1").code == 0


def test_output_shapes(cli: Cli) -> None:
    root = cli.ok("--field", "id", "ca", "create", "--name", "shape-root", "--cn", "Shape Root")
    cert = cli.ok("--field", "id", "cert", "create", "--name", "shape-web", "--issuer", root, "--cn", "s.example")
    as_json = json.loads(cli.ok("cert", "get", cert, "--output", "json"))
    assert yaml.safe_load(cli.ok("cert", "get", cert, "--output", "yaml")) == as_json
    assert json.loads(cli.ok("cert", "get", cert)) == as_json, "into a pipe (not a terminal): JSON, as scripts expect"

    rows = cli.ok("--output", "table", "cert", "list", "--name", "shape-web").splitlines()
    header = rows[0].split()
    assert header[:2] == ["ID", "NAME"] and "SERIAL" in header and "NOT" in header
    line = next(r for r in rows[1:] if r.startswith(cert))
    assert "shape-web" in line and as_json["currentVersion"]["serialNumber"] in line

    detail = cli.ok("cert", "get", cert, "-o", "table").splitlines()
    assert detail[0].split() == ["FIELD", "VALUE"]
    assert any(
        r.split()[:2] == ["currentVersion.serialNumber", as_json["currentVersion"]["serialNumber"]] for r in detail
    )
    pem = cli.ok("cert", "bundle", cert, "-o", "table")
    assert "-----BEGIN" not in pem and "<PEM, 1 block(s)" in pem
    assert yaml.safe_load(cli.ok("cert", "bundle", cert, "-o", "yaml"))["certificatePem"].startswith("-----BEGIN")


def test_ca_revoke_wait_sees_the_subordinate_in_its_issuers_crl(cli: Cli) -> None:
    root = cli.ok("--field", "id", "ca", "create", "--name", "revoke-root", "--cn", "Revoke Root")
    sub = cli.ok("--field", "id", "ca", "create", "--name", "revoke-sub", "--issuer", root, "--cn", "Revoke Sub",
                 "--validity", "P1Y")  # fmt: skip
    revoked = cli("-o", "json", "ca", "revoke", sub, "1", "--reason", "CESSATION_OF_OPERATION", "--wait")
    assert revoked.code == 0, revoked
    assert json.loads(revoked.out)["id"] == sub
    versions = json.loads(cli.ok("-o", "json", "ca", "versions", sub))["items"]
    assert versions[0]["revocationStatus"]["revocationReason"] == "CESSATION_OF_OPERATION"
    assert revoked.err.splitlines()[-1] == f"done: serial {versions[0]['serialNumber']} in the CRL"
    url = crl_url(cli.ok("--field", "certificatePem", "ca", "bundle", sub))
    assert url is not None and f"/crl/{root}/" in url, "the root's CRL, where relying parties look"
