"""`make demo`: the whole story on the local runtime, over HTTP, each step checked; exits non-zero if one fails.

A root and a subordinate CA whose keys live in (embedded) KMS; one certificate of each kind, each verified
with `openssl verify`; a short-lived certificate associated with a real (embedded) ALB listener, renewed by
the sweep on its own and deployed to the listener, verified by serial; deletion refused while in use; an SNI
rotation that keeps the other SNI certificates; an association that scopes who may read the private key; a
real TLS handshake with the issued chain; and the refusals a platform team relies on.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from certwright.services.consent import CONSENT_TAG, consented_certificates
from certwright_client.cli import Client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.api_events import LOCAL_ADMIN
from infra.demo_trust import trust_story
from infra.runtime import local_runtime

HOST_ROLE = "arn:aws:iam::123456789012:role/payments-web"
HOST_SESSION = "arn:aws:sts::123456789012:assumed-role/payments-web/i-0demo"
BOLD, GREEN, RED, DIM, RESET = (
    ("\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


class Story:
    def __init__(self, workdir: Path, api_url: str, session: Any) -> None:
        self.workdir = workdir
        self.api_url = api_url
        self.session = session
        self.failures: list[str] = []
        self.summary: list[tuple[str, str]] = []

    def chapter(self, title: str) -> None:
        print(f"\n{BOLD}== {title}{RESET}")

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        mark = f"{GREEN}ok{RESET}" if ok else f"{RED}FAILED{RESET}"
        print(f"  [{mark}] {what}" + (f" {DIM}({detail}){RESET}" if detail else ""))
        if not ok:
            self.failures.append(what)
        return ok

    def call(self, method: str, path: str, body: Any = None, caller: str = LOCAL_ADMIN) -> tuple[int, Any]:
        """One HTTP request to the local API, through the same client the certwright CLI uses."""
        return Client(self.api_url, caller, sign=False).call(method, path, body)

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float) -> Any:
        """Poll `probe` until it returns something truthy or `timeout` seconds pass (then the step fails)."""
        print(f"  {DIM}waiting: {what} (up to {timeout:.0f} s){RESET}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = probe()
            if result:
                return result
            time.sleep(1)
        self.check(what, False, f"not within {timeout:.0f} s")
        return None

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def openssl_verify(self, what: str, root: Path, leaf: Path, *extra: str, untrusted: Path | None = None) -> bool:
        command = ["openssl", "verify", "-x509_strict", *extra, "-CAfile", str(root)]
        if untrusted is not None:
            command += ["-untrusted", str(untrusted)]
        result = subprocess.run([*command, str(leaf)], capture_output=True, text=True, check=False)
        return self.check(what, result.returncode == 0, (result.stdout + result.stderr).strip().splitlines()[-1])


def customer_csr(common_name: str) -> tuple[str, str]:
    """What a customer does on their own host: make a key that never leaves it, and a CSR."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def third_party_certificate(common_name: str) -> tuple[str, str, str]:
    """A certificate from someone else's CA, to import: (root PEM, leaf PEM, leaf key PEM)."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Third-Party Root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return root.public_bytes(pem).decode(), leaf.public_bytes(pem).decode(), key_pem


def tls_handshake(chain: Path, key: Path, root: Path, hostname: str) -> tuple[bool, str]:
    """Serve the chain on 127.0.0.1 and connect as a client that trusts only the root."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(chain, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(root))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
            tls.sendall(b"x")
            return True, f"{tls.version()}, peer serial {peer.serial_number:x}"
    except (OSError, ssl.SSLError) as err:
        return False, str(err)
    finally:
        thread.join(timeout=10)
        listener.close()


def core_story(story: Story) -> dict[str, Any]:
    story.chapter("1. A CA hierarchy whose keys never leave KMS")
    status, root = story.call(
        "POST",
        "/certificate-authorities",
        {
            "name": "acme-root",
            "configType": "ROOT_CA_GENERATED_INTERNALLY",
            "subject": {"commonName": "Acme Root CA", "organization": "Acme", "country": "US"},
            "keyAlgorithm": "ECDSA_P384",
            "validityDuration": "P10Y",
            "rules": {"pathLengthConstraint": 1, "certificateAuthorityMaxValidityDuration": "P5Y"},
        },
    )
    story.check(
        "root CA created, self-signed through KMS Sign", status == 201, root.get("kmsKeyId", "") if root else ""
    )
    status, issuing = story.call(
        "POST",
        "/certificate-authorities",
        {
            "name": "acme-issuing",
            "configType": "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": root["id"],
            "subject": {"commonName": "Acme Issuing CA", "organization": "Acme", "country": "US"},
            "keyAlgorithm": "ECDSA_P256",
            "validityDuration": "P3Y",
            "rules": {
                "leafCertificateMaxValidityDuration": "P398D",
                "nameConstraint": {"permittedDnsSubtrees": ["acme.example"]},
            },
        },
    )
    story.check("subordinate CA signed by the root", status == 201, "name constraint: acme.example")
    _, bundle = story.call("GET", f"/certificate-authorities/{issuing['id']}/bundle")
    root_pem = story.write("root.pem", root_pem_of(bundle))
    issuing_pem = story.write("issuing.pem", bundle["certificatePem"])
    story.openssl_verify("openssl verifies the subordinate under the root", root_pem, issuing_pem)
    story.summary.append(("root CA", f"{root['id']}  serial {root['currentVersion']['serialNumber']}"))
    story.summary.append(("issuing CA", f"{issuing['id']}  serial {issuing['currentVersion']['serialNumber']}"))

    story.chapter("2. Three kinds of certificate, each verified by openssl")
    status, web = story.call(
        "POST",
        "/certificates",
        {
            "name": "payments-web",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "pay.acme.example", "organization": "Acme"},
            "subjectAlternativeNames": [{"type": "DNS", "value": "pay.acme.example"}],
            "keyAlgorithm": "ECDSA_P256",
            "validityDuration": "P30D",
            "renewalRule": {"renewalInterval": "P20D", "advanceRenewalPeriod": "P7D"},
        },
    )
    story.check(
        "service-generated key (ISSUED_BY_INTERNAL_CA)", status == 201, f"next renewal {web.get('nextRenewalAt')}"
    )
    _, web_bundle = story.call("GET", f"/certificates/{web['id']}/bundle")
    story.openssl_verify(
        "openssl: TLS server, hostname pay.acme.example",
        root_pem,
        story.write("web.pem", web_bundle["certificatePem"]),
        "-purpose",
        "sslserver",
        "-verify_hostname",
        "pay.acme.example",
        untrusted=issuing_pem,
    )

    csr_pem, _customer_key = customer_csr("ledger.acme.example")
    status, ledger = story.call(
        "POST",
        "/certificates",
        {
            "name": "ledger-client",
            "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_CLIENT",
            "csrPem": csr_pem,
            "validityDuration": "P90D",
        },
    )
    story.check("customer CSR (MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA); key stays with the customer", status == 201)
    _, ledger_bundle = story.call("GET", f"/certificates/{ledger['id']}/bundle")
    story.openssl_verify(
        "openssl: TLS client",
        root_pem,
        story.write("ledger.pem", ledger_bundle["certificatePem"]),
        "-purpose",
        "sslclient",
        untrusted=issuing_pem,
    )

    other_root, other_leaf, other_key = third_party_certificate("legacy.partner.example")
    status, imported = story.call(
        "POST",
        "/certificates",
        {
            "name": "partner-legacy",
            "configType": "IMPORTED",
            "certificatePem": other_leaf,
            "certChainPem": other_root,
            "privateKeyPem": other_key,
        },
    )
    story.check("imported certificate + key + chain (IMPORTED): key matches, chain links", status == 201)
    _, imported_bundle = story.call("GET", f"/certificates/{imported['id']}/bundle")
    story.openssl_verify(
        "openssl: imported chain",
        story.write("partner-root.pem", other_root),
        story.write("partner.pem", imported_bundle["certificatePem"]),
    )

    story.chapter("3. Versions and stages")
    status, v2 = story.call("POST", f"/certificates/{web['id']}/versions", {})
    story.check(
        "renew now: version 2 is CURRENT with a new key",
        status == 201 and "CURRENT" in v2["stages"],
        f"serial {web['currentVersion']['serialNumber']} -> {v2['serialNumber']}",
    )
    _, versions = story.call("GET", f"/certificates/{web['id']}/versions")
    stages = {v["versionNumber"]: v["stages"] for v in versions["items"]}
    story.check("version 1 is PREVIOUS, exactly one CURRENT", stages.get(1) == ["PREVIOUS"], json.dumps(stages))

    story.chapter("4. Associations: usage, deletion guard, who may read the key")
    status, association = story.call(
        "POST",
        "/associations",
        {
            "certificateId": web["id"],
            "associatedResourceId": HOST_ROLE,
            "hostnames": ["pay.acme.example"],
        },
    )
    story.check(
        "payments-web host role associated with the certificate (PENDING_CONFIRMATION until the host consents)",
        status == 201 and association.get("state") == "PENDING_CONFIRMATION",
        association.get("id", ""),
    )
    confirm = f"/associations/{association.get('id')}/actions/confirm"
    status, refused = story.call("POST", confirm, {})
    story.check("nobody but the host may confirm it (an admin is refused)", status == 403, refused.get("code", ""))
    status, confirmed = story.call("POST", confirm, {}, caller=HOST_SESSION)
    story.check(
        "the host confirms it with its own identity: ACTIVE",
        status == 200 and confirmed.get("state") == "ACTIVE",
        confirmed.get("confirmedBy") or "",
    )
    status, denied = story.call("GET", f"/certificates/{web['id']}/bundle?includePrivateKey=true")
    story.check("an admin may not read the private key (no KMS Decrypt happens)", status == 403, denied["code"])
    status, keyed = story.call("GET", f"/certificates/{web['id']}/bundle?includePrivateKey=true", caller=HOST_SESSION)
    story.check("the associated host reads it (and the read is audited)", status == 200 and "privateKeyPem" in keyed)
    status, refused = story.call("POST", f"/certificates/{web['id']}/actions/schedule-deletion", {})
    story.check("deleting a certificate in use is refused", status == 409, refused["code"])

    story.chapter("5. A real TLS client accepts the issued chain")
    chain = story.write("web-chain.pem", keyed["certificatePem"] + keyed["certChainPem"])
    key = story.write("web-key.pem", keyed["privateKeyPem"])
    key.chmod(0o600)
    ok, detail = tls_handshake(chain, key, root_pem, "pay.acme.example")
    story.check("TLS handshake on 127.0.0.1 verified against the root", ok and v2["serialNumber"] in detail, detail)

    story.chapter("6. Bad input is refused before anything is signed")
    status, outside = story.call(
        "POST",
        "/certificates",
        {
            "name": "evil",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "login.evil.example"},
        },
    )
    story.check("a name outside the CA's name constraints", status == 422, outside["code"])
    status, too_long = story.call(
        "POST",
        "/certificates",
        {
            "name": "long",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "long.acme.example"},
            "validityDuration": "P2Y",
        },
    )
    story.check("a validity beyond the CA's rule", status == 422, too_long["code"])
    status, bidi = story.call(
        "POST",
        "/certificates",
        {
            "name": "bidi",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "pay.acme.example", "organization": "Acme\u202eevil"},
        },
    )
    story.check("a bidi override hidden in the organization", status == 400, bidi["code"])

    story.summary += [
        ("payments-web", f"{web['id']}  v1 {web['currentVersion']['serialNumber']} -> v2 {v2['serialNumber']}"),
        ("ledger-client", f"{ledger['id']}  serial {ledger['currentVersion']['serialNumber']}"),
        ("partner-legacy", f"{imported['id']}  serial {imported['currentVersion']['serialNumber']}"),
    ]
    return {"issuing": issuing, "root_pem": root_pem, "issuing_pem": issuing_pem}


def make_load_balancer(story: Story) -> tuple[str, str]:
    """An application load balancer with one HTTPS listener, serving a placeholder certificate put there by hand."""
    ec2, elbv2, acm = (story.session.client(name) for name in ("ec2", "elbv2", "acm"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name="payments", Subnets=subnets, Type="application")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="payments-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    _, placeholder_pem, placeholder_key = third_party_certificate("placeholder.acme.example")
    placeholder = acm.import_certificate(Certificate=placeholder_pem.encode(), PrivateKey=placeholder_key.encode())
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": placeholder["CertificateArn"]}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )["Listeners"][0]["ListenerArn"]
    return listener, placeholder["CertificateArn"]


def consent_by_tag(story: Story, listener: str, certificate_id: str) -> None:
    """What the listener's owner does to consent: name the certificate in the listener's certwright:consent tag."""
    elbv2 = story.session.client("elbv2")
    (described,) = elbv2.describe_tags(ResourceArns=[listener])["TagDescriptions"]
    tags = {t["Key"]: t["Value"] for t in described["Tags"]}
    ids = consented_certificates(tags) | {certificate_id}
    elbv2.add_tags(ResourceArns=[listener], Tags=[{"Key": CONSENT_TAG, "Value": " ".join(sorted(ids))}])


def listener_serials(story: Story, listener: str) -> tuple[str, list[str]]:
    """The serials ELBv2 + ACM serve on the listener: (default, [SNI...]), as lower-case hex."""
    elbv2, acm = story.session.client("elbv2"), story.session.client("acm")

    def serial(arn: str) -> str:
        return str(acm.describe_certificate(CertificateArn=arn)["Certificate"]["Serial"]).replace(":", "").lstrip("0")

    default = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["Certificates"][0]["CertificateArn"]
    sni = [
        c["CertificateArn"]
        for c in elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
        if not c.get("IsDefault")
    ]
    return serial(default), [serial(arn) for arn in sni]


def lifecycle_story(story: Story, core: dict[str, Any]) -> None:
    issuing = core["issuing"]
    story.chapter("7. A load balancer that gets every new version without a human")
    listener, _placeholder = make_load_balancer(story)
    story.check(
        "ALB with an HTTPS listener in the embedded AWS",
        listener.startswith("arn:aws:elasticloadbalancing"),
        listener.rsplit("/", 3)[-3],
    )
    status, shop = story.call(
        "POST",
        "/certificates",
        {
            "name": "shop-web",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "shop.acme.example", "organization": "Acme"},
            "keyAlgorithm": "ECDSA_P256",
            "validityDuration": "PT10M",
            "renewalRule": {"renewalInterval": "PT1M", "advanceRenewalPeriod": "PT5M"},
        },
    )
    story.check(
        "a 10-minute certificate that renews itself every minute",
        status == 201,
        f"v1 serial {shop['currentVersion']['serialNumber']}, next renewal {shop['nextRenewalAt']}",
    )
    v1 = shop["currentVersion"]["serialNumber"]
    body = {"certificateId": shop["id"], "associatedResourceId": listener, "hostnames": ["shop.acme.example"]}
    status, refused = story.call("POST", "/associations", body)
    story.check(
        "associating with a listener whose owner has not consented is refused",
        status == 403 and refused.get("code") == "ConsentRequired",
        refused.get("message", "")[:90],
    )
    consent_by_tag(story, listener, shop["id"])
    status, association = story.call("POST", "/associations", body)
    story.check("associated with the listener (as its default certificate)", status == 201, association["id"])
    core.update(shop=shop, listener=listener, shop_association=association["id"])

    def deployed(version: int) -> Any:
        _, body = story.call("GET", f"/associations/{association['id']}")
        state = body["deployment"]
        return state if state["state"] == "DEPLOYED" and state["deployedVersion"] == version else None

    state = story.wait_for("the deployer puts version 1 on the listener", lambda: deployed(1), 60)
    if state:
        default, _ = listener_serials(story, listener)
        story.check(
            "the listener serves version 1 (ACM serial read back)",
            default == v1.lstrip("0"),
            f"serial {default}, verified {state['verifiedAt']}",
        )

    status, refused = story.call("POST", f"/certificates/{shop['id']}/actions/schedule-deletion", {})
    story.check("deleting it is refused while the listener uses it", status == 409, refused["code"])

    def renewed() -> Any:
        _, versions = story.call("GET", f"/certificates/{shop['id']}/versions")
        return next((v for v in versions["items"] if v["versionNumber"] == 2 and "CURRENT" in v["stages"]), None)

    v2 = story.wait_for("the renewal sweep renews it on its own (due one minute after issuance)", renewed, 150)
    if v2:
        story.check("version 2 is CURRENT, made by the sweep", True, f"serial {v2['serialNumber']}")
        state = story.wait_for("the deployer puts version 2 on the listener", lambda: deployed(2), 60)
        if state:
            default, _ = listener_serials(story, listener)
            story.check(
                "the listener now serves version 2",
                default == v2["serialNumber"].lstrip("0"),
                f"serial {v1} -> {default}",
            )
        story.summary.append(("shop-web", f"{shop['id']}  v1 {v1} -> v2 {v2['serialNumber']} on the listener"))

    story.chapter("8. SNI: rotating one certificate keeps the others")
    sni_ids = []
    for name in ("api", "static"):
        status, cert = story.call(
            "POST",
            "/certificates",
            {
                "name": f"{name}-web",
                "configType": "ISSUED_BY_INTERNAL_CA",
                "issuerCertificateAuthorityId": issuing["id"],
                "profile": "TLS_SERVER",
                "subject": {"commonName": f"{name}.acme.example"},
                "validityDuration": "P30D",
            },
        )
        consent_by_tag(story, listener, cert["id"])
        status, sni = story.call(
            "POST",
            "/associations",
            {
                "certificateId": cert["id"],
                "associatedResourceId": listener,
                "listenerCertificateRole": "SNI",
            },
        )
        story.check(f"{name}.acme.example associated as an SNI certificate", status == 201)
        sni_ids.append((cert, sni))

    def sni_deployed() -> Any:
        return all(
            story.call("GET", f"/associations/{a['id']}")[1]["deployment"]["state"] == "DEPLOYED" for _, a in sni_ids
        )

    if story.wait_for("both SNI certificates on the listener", sni_deployed, 60):
        api_cert, api_association = sni_ids[0]
        static_cert = sni_ids[1][0]
        status, renewed_api = story.call("POST", f"/certificates/{api_cert['id']}/versions", {})
        story.check("api.acme.example renewed by hand", status == 201, f"serial {renewed_api['serialNumber']}")

        def rotated() -> Any:
            _, body = story.call("GET", f"/associations/{api_association['id']}")
            return body["deployment"]["deployedVersion"] == 2 and body["deployment"]["state"] == "DEPLOYED"

        if story.wait_for("the SNI certificate rotates to version 2", rotated, 60):
            default, sni = listener_serials(story, listener)
            static_serial = static_cert["currentVersion"]["serialNumber"].lstrip("0")
            story.check(
                "the listener serves the new api serial among its SNI certificates",
                renewed_api["serialNumber"].lstrip("0") in sni,
                f"SNI serials {sni}",
            )
            story.check(
                "the other SNI certificate and the default are untouched",
                static_serial in sni and len(sni) == 2 and default != "",
                f"default {default}",
            )


def run(story: Story) -> None:
    core = core_story(story)
    lifecycle_story(story, core)
    trust_story(story, core)


def root_pem_of(bundle: dict[str, Any]) -> str:
    chain = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())
    return chain[-1].public_bytes(serialization.Encoding.PEM).decode()


def _no_polling(record: logging.LogRecord) -> bool:
    """The demo polls with GETs while it waits; the log keeps what changed things."""
    text = record.getMessage()
    return not (text.startswith("IssuanceApiFunction") and " GET " in text)


def main(steps: Callable[[Story], None] = run) -> int:
    sweep_seconds = float(os.environ.get("CERTWRIGHT_DEMO_SWEEP_SECONDS", "5"))
    # The router prints one readable line per delivery; the functions' own JSON logs stay quiet unless asked for.
    os.environ.setdefault("CERTWRIGHT_FUNCTION_LOG_LEVEL", "WARNING")
    logging.basicConfig(
        stream=sys.stdout, level=logging.WARNING, format=f"  {DIM}%(asctime)s %(message)s{RESET}", datefmt="%H:%M:%S"
    )
    logging.getLogger("infra.local").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_no_polling)
    with (
        tempfile.TemporaryDirectory(prefix="certwright-demo-") as workdir,
        # Revocations wait 2 s to be batched into one CRL rebuild (30 s by default) so the story moves on.
        local_runtime(
            aws_port=0, api_port=0, sweep_seconds=sweep_seconds, parameters={"CrlBatchSeconds": "2"}
        ) as runtime,
    ):
        print(
            f"{BOLD}Certwright demo{RESET} - local runtime: API {runtime.api_url}, embedded AWS {runtime.endpoint}, "
            f"sweep every {sweep_seconds:g} s; files in {workdir}"
        )
        story = Story(Path(workdir), runtime.api_url, runtime.session)
        try:
            steps(story)
        except (KeyError, TypeError) as err:
            story.check(f"the story stopped early: an answer lacked {err}", False)
        print(f"\n{BOLD}== What happened{RESET}")
        for label, value in story.summary:
            print(f"  {label:<16} {value}")
        if story.failures:
            print(f"\n{RED}{len(story.failures)} step(s) failed:{RESET} " + "; ".join(story.failures))
            return 1
        print(f"\n{GREEN}Every step happened and was checked.{RESET}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
