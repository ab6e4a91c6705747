"""The CLI's CA-parity and ACME EAB commands against the local runtime (embedded AWS, gateway, router, handlers)."""

from __future__ import annotations

import json
from pathlib import Path

from certwright_client.cli import Client

from infra.runtime import LocalRuntime
from tests.authorities.openssl_root import make_root, sign_csr
from tests.cli.conftest import Cli


def test_update_disable_enable_and_version_commands_change_the_ca(cli: Cli) -> None:
    ca = cli.ok("--field", "id", "ca", "create", "--name", "parity", "--cn", "Parity Root")
    updated = json.loads(cli.ok("ca", "update", ca, "--name", "parity-2", "--max-leaf-validity", "P30D", "--no-crl"))
    assert updated["name"] == "parity-2"
    assert updated["rules"]["leafCertificateMaxValidityDuration"] == "P30D"
    assert updated["crlSettings"]["enabled"] is False
    assert cli.ok("--field", "issuanceState", "ca", "disable", ca) == "DISABLED"
    assert cli.ok("--field", "issuanceState", "ca", "enable", ca) == "ENABLED"

    cli.ok("ca", "renew", ca)
    cli.ok("ca", "renew", ca)
    cli.ok("ca", "renew", ca, "--pending")
    assert json.loads(cli.ok("--field", "stages", "ca", "version", ca, "4")) == ["PENDING", "LATEST"]
    assert cli.ok("--field", "currentVersion.versionNumber", "ca", "promote-version", ca, "4") == "4"
    assert json.loads(cli.ok("--field", "stages", "ca", "version", ca, "1")) == ["DEPRECATED"]
    at = "2099-01-01T00:00:00+00:00"
    scheduled = json.loads(cli.ok("ca", "schedule-version-deletion", ca, "1", "--at", at))
    assert (scheduled["versionNumber"], scheduled["lifecycleState"]) == (1, "PENDING_DELETION"), scheduled
    assert cli.ok("--field", "lifecycleState", "ca", "cancel-version-deletion", ca, "1") == "ACTIVE"


def test_csr_out_and_import_certificate_activate_a_ca_signed_outside(
    cli: Cli, runtime: LocalRuntime, tmp_path: Path
) -> None:
    root = make_root(tmp_path)
    api = Client(runtime.api_url, None, False)
    body = {"name": "corp-root", "configType": "ROOT_CA_MANAGED_EXTERNALLY", "certificatePem": root.pem}
    status, anchor = api.call("POST", "/certificate-authorities", body)
    assert status == 201, anchor
    status, pending = api.call(
        "POST",
        "/certificate-authorities",
        {
            "name": "cloud-issuing",
            "configType": "SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA",
            "parentCertificateAuthorityId": anchor["id"],
            "subject": {"commonName": "Corp Cloud Issuing CA"},
        },
    )
    assert status == 201, pending
    shown = json.loads(cli.ok("ca", "csr", pending["id"], "--out", str(tmp_path / "ca.csr")))
    assert shown["writtenTo"] == str(tmp_path / "ca.csr") and "csrPem" not in shown
    (tmp_path / "ca.pem").write_text(sign_csr(root, (tmp_path / "ca.csr").read_text(), "sub"))
    argv = ["ca", "import-certificate", pending["id"], "--certificate", str(tmp_path / "ca.pem")]
    assert cli.ok("--field", "lifecycleState", *argv, "--chain", str(root.certificate)) == "ACTIVE"


def test_eab_create_shows_the_hmac_key_once_then_list_and_revoke(cli: Cli) -> None:
    created = cli("acme", "eab", "create")
    assert created.code == 0 and "shown only this once" in created.err
    key = json.loads(created.out)
    assert key["hmacKey"] and key["revoked"] is False
    listed = json.loads(cli.ok("acme", "eab", "list"))
    assert [k["keyId"] for k in listed["items"]] == [key["keyId"]]
    assert all("hmacKey" not in k for k in listed["items"])
    assert cli.ok("--field", "revoked", "acme", "eab", "revoke", key["keyId"]) == "true"
