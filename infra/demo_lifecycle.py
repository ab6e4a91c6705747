"""The demo's first half: a CA hierarchy, three kinds of certificate, versions, associations and key reads, a TLS
handshake, refusals, then a load balancer that gets every new version without a human and SNI rotation."""

from __future__ import annotations

import json
from typing import Any

from infra.demo_customer import (
    consent_by_tag,
    customer_csr,
    listener_serials,
    make_load_balancer,
    third_party_certificate,
)
from infra.demo_proofs import root_pem_of, tls_handshake
from infra.demo_story import Story

HOST_ROLE = "arn:aws:iam::123456789012:role/payments-web"
HOST_SESSION = "arn:aws:sts::123456789012:assumed-role/payments-web/i-0demo"


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
