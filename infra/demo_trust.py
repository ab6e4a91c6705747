"""The demo's second half: trust withdrawn and checked (revocation → CRL), replaced where in use, trust bundles,
scheduled deletion, the audit trail, and alerts people receive. Every step is checked; infra/demo.py runs it."""

from __future__ import annotations

import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra import demo_output as output
from infra.demo_customer import consent_by_tag, customer_csr
from infra.demo_proofs import crl_number, crl_url, fetch_crl, openssl
from infra.demo_story import Story


def revocation_story(story: Story, core: dict[str, Any]) -> None:
    issuing, root = core["issuing"], core["root_pem"]
    story.chapter("9. Revocation reaches the CRL that relying parties fetch")
    status, legacy = story.call(
        "POST",
        "/certificates",
        {
            "name": "legacy-web",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "legacy.acme.example"},
            "validityDuration": "P30D",
        },
    )
    if not story.check("legacy.acme.example issued", status == 201, legacy.get("id", "")):
        return
    _, bundle = story.call("GET", f"/certificates/{legacy['id']}/bundle")
    url = crl_url(bundle["certificatePem"])
    if not story.check("its CRL distribution point names its issuer's CRL", bool(url), url or "none"):
        return
    assert url is not None

    def published() -> Any:
        crl = fetch_crl(url)
        return [crl] if crl is not None else None  # an empty CRL has len() 0: wrap it to be truthy

    found = story.wait_for("the issuing CA's first CRL is published", published, 60)
    if not found:
        return
    first = found[0]
    serial = int(legacy["currentVersion"]["serialNumber"], 16)
    chain = story.write("trust-chain.pem", bundle["certChainPem"])
    leaf = story.write("legacy.pem", bundle["certificatePem"])
    crl_file = story.write("issuing.crl.pem", first.public_bytes(serialization.Encoding.PEM).decode())
    story.openssl_verify(
        "openssl verify -crl_check accepts it before revocation",
        root,
        leaf,
        "-crl_check",
        "-CRLfile",
        str(crl_file),
        untrusted=chain,
    )

    revoke = f"/certificates/{legacy['id']}/versions/1/actions/revoke"
    status, revoked = story.call("POST", revoke, {"revocationReason": "KEY_COMPROMISE"})
    for _ in range(3):
        # 409 ConcurrentModification says "retry": a background write (the sweep's bookkeeping) touched the
        # certificate between the API's read and its conditional write. A client retries; so does the demo.
        if status != 409 or revoked.get("code") != "ConcurrentModification":
            break
        status, revoked = story.call("POST", revoke, {"revocationReason": "KEY_COMPROMISE"})
    story.check(
        "version 1 revoked for keyCompromise",
        status == 200,
        revoked.get("revocationStatus", {}).get("timeOfRevocation", "") if status == 200 else f"{status} {revoked}",
    )

    def listed() -> Any:
        crl = fetch_crl(url)
        return crl if crl is not None and crl.get_revoked_certificate_by_serial_number(serial) else None

    crl = story.wait_for("the CRL publisher rebuilds the CRL with the serial (batched, then one KMS Sign)", listed, 60)
    if crl is None:
        return
    crl_file.write_text(crl.public_bytes(serialization.Encoding.PEM).decode())
    story.check(
        "the new CRL lists the serial, numbered after the first",
        crl_number(crl) > crl_number(first),
        f"CRL number {crl_number(first)} -> {crl_number(crl)}, nextUpdate {crl.next_update_utc:%Y-%m-%d %H:%M}Z",
    )
    issuer_pem = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())[0]
    issuer_file = story.write("issuing-ca.pem", issuer_pem.public_bytes(serialization.Encoding.PEM).decode())
    signed = openssl("crl", "-in", crl_file, "-noout", "-CAfile", issuer_file)
    story.check(
        "openssl crl -verify: the CRL is signed by the issuing CA", "verify OK" in signed.stderr + signed.stdout
    )
    result = openssl(
        "verify", "-x509_strict", "-crl_check", "-CRLfile", crl_file, "-CAfile", root, "-untrusted", chain, leaf
    )
    story.check(
        "openssl verify -crl_check now refuses it: error 23, certificate revoked",
        result.returncode != 0 and "error 23" in result.stdout + result.stderr,
        next((line for line in (result.stdout + result.stderr).splitlines() if "error 23" in line), "no error 23"),
    )
    retry = story.call("POST", f"/certificates/{legacy['id']}/versions/1/actions/revoke", {})
    story.check("revoking it again is a conflict", retry[0] == 409, retry[1].get("code", ""))
    story.summary.append(("revocation", f"{legacy['id']} serial {serial:x} on CRL #{crl_number(crl)} at {url}"))


def replacement_story(story: Story, core: dict[str, Any]) -> None:
    shop = core.get("shop")
    listener = core.get("listener")
    if not shop or not listener:
        return
    story.chapter("10. Revoking a version in use replaces it where it is deployed")
    _, current = story.call("GET", f"/certificates/{shop['id']}")
    number = current["currentVersion"]["versionNumber"]
    status, answer = story.call(
        "POST", f"/certificates/{shop['id']}/versions/{number}/actions/revoke", {"revocationReason": "SUPERSEDED"}
    )
    replacement = (answer or {}).get("replacement") or {}
    story.check(
        f"revoking shop-web v{number} answers with its replacement",
        status == 200 and replacement.get("state") == "CREATED",
        replacement.get("message", str(answer)),
    )
    if replacement.get("state") != "CREATED":
        return
    new = replacement["versionNumber"]

    def deployed() -> Any:
        _, body = story.call("GET", f"/associations/{core['shop_association']}")
        state = body["deployment"]
        return state if state["state"] == "DEPLOYED" and state["deployedVersion"] >= new else None

    state = story.wait_for(f"the listener moves off the revoked version to v{new}", deployed, 60)
    if state:
        story.check(
            "the listener serves the replacement", True, f"v{state['deployedVersion']} verified {state['verifiedAt']}"
        )


def bundle_story(story: Story, core: dict[str, Any]) -> None:
    issuing = core["issuing"]
    story.chapter("11. A trust bundle for mTLS follows its CAs")
    status, trust = story.call(
        "POST", "/ca-bundles", {"name": "mtls-clients", "certificateAuthorityIds": [issuing["id"]]}
    )
    if not story.check("bundle built from the issuing CA's id", status == 201, trust.get("id", "")):
        return
    status, client = story.call(
        "POST",
        "/certificates",
        {
            "name": "billing-client",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_CLIENT",
            "subject": {"commonName": "billing"},
            "validityDuration": "P7D",
        },
    )
    _, pems = story.call("GET", f"/ca-bundles/{trust['id']}/bundle")
    _, client_bundle = story.call("GET", f"/certificates/{client['id']}/bundle")
    trust_file = story.write("mtls-trust.pem", pems["caBundlePem"])
    client_file = story.write("billing-client.pem", client_bundle["certificatePem"])
    story.openssl_verify(
        "a client certificate verifies against the bundle (purpose sslclient)",
        trust_file,
        client_file,
        "-purpose",
        "sslclient",
    )

    status, renewed = story.call("POST", f"/certificate-authorities/{issuing['id']}/versions", {})
    story.check(
        "the issuing CA renews its certificate (same KMS key)",
        status == 201,
        f"v{renewed.get('currentVersion', {}).get('versionNumber')} serial {renewed.get('currentVersion', {}).get('serialNumber')}",
    )

    def followed() -> Any:
        _, versions = story.call("GET", f"/ca-bundles/{trust['id']}/versions")
        return versions["items"] if len(versions.get("items", [])) >= 2 else None

    versions = story.wait_for("the bundle gets a version with the CA's new certificate", followed, 60)
    if versions:
        story.check(
            "bundle version 2 is CURRENT", any(v["versionNumber"] == 2 and "CURRENT" in v["stages"] for v in versions)
        )
        story.summary.append(("trust bundle", f"{trust['id']} follows {issuing['id']} (now {len(versions)} versions)"))


def deletion_and_audit_story(story: Story, core: dict[str, Any]) -> None:
    story.chapter("12. Nothing is deleted by accident; everything is on the record")
    status, doomed = story.call(
        "POST",
        "/certificates",
        {
            "name": "old-batch-job",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": core["issuing"]["id"],
            "profile": "TLS_CLIENT",
            "subject": {"commonName": "batch"},
            "validityDuration": "P7D",
        },
    )
    too_soon = story.call(
        "POST", f"/certificates/{doomed['id']}/actions/schedule-deletion", {"timeOfDeletion": "2000-01-01T00:00:00Z"}
    )
    story.check(
        "a deletion sooner than the one-day grace period is refused", too_soon[0] == 400, too_soon[1].get("message", "")
    )
    status, scheduled = story.call("POST", f"/certificates/{doomed['id']}/actions/schedule-deletion", {})
    story.check(
        "scheduled for deletion (30 days by default)",
        status == 200 and scheduled["lifecycleState"] == "PENDING_DELETION",
        scheduled.get("timeOfDeletion", ""),
    )
    status, cancelled = story.call("POST", f"/certificates/{doomed['id']}/actions/cancel-deletion", {})
    story.check("and cancelled: it is ACTIVE again", status == 200 and cancelled["lifecycleState"] == "ACTIVE")
    status, trail = story.call("GET", f"/audit-events?resourceId={doomed['id']}")
    actions = [item["action"] for item in trail.get("items", [])]
    story.check(
        "the audit trail says who did what, newest first", status == 200 and len(actions) >= 3, ", ".join(actions)
    )


def alert_story(story: Story, core: dict[str, Any]) -> None:
    story.chapter("13. Alerts people receive")
    sns, sqs = story.session.client("sns"), story.session.client("sqs")
    topic = next((t["TopicArn"] for t in sns.list_topics()["Topics"] if "certwright-alerts" in t["TopicArn"]), None)
    if not story.check("the alert topic exists", topic is not None, topic or ""):
        return
    queue = sqs.create_queue(QueueName="demo-alert-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})
    csr_pem, _key = customer_csr("edge.acme.example")
    status, edge = story.call(
        "POST",
        "/certificates",
        {
            "name": "edge-appliance",
            "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": core["issuing"]["id"],
            "profile": "TLS_SERVER",
            "csrPem": csr_pem,
            "validityDuration": "PT10M",
            # Alert 9 min 57 s before expiry (default: 30 and 7 days), i.e. 3 s from now.
            "expiryAlertThresholds": ["PT9M57S"],
        },
    )
    story.check(
        "a CSR-managed certificate valid 10 minutes, alerting 9 min 57 s before expiry (it cannot renew itself)",
        status == 201,
        edge.get("id", ""),
    )

    def received() -> Any:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            envelope = json.loads(message["Body"])
            if edge.get("id", "-") in envelope.get("Message", ""):
                return envelope
        return None

    envelope = story.wait_for(
        "the sweep sees the threshold crossed; the alert reaches an SQS subscriber of the topic", received, 60
    )
    if envelope:
        first_line = envelope["Message"].splitlines()[0]
        story.check(
            "the alert is a human message naming the certificate",
            "edge-appliance" in envelope["Message"],
            envelope.get("Subject", ""),
        )
        output.note(first_line)
        story.summary.append(("alert", envelope.get("Subject", "")))


def consent_story(story: Story, core: dict[str, Any]) -> None:
    """The listener's owner withdraws consent: the association is suspended (alert), and resumes when it is back."""
    story.chapter("14. Consent withdrawn and restored")
    sns, sqs, elbv2 = (story.session.client(name) for name in ("sns", "sqs", "elbv2"))
    topic = next((t["TopicArn"] for t in sns.list_topics()["Topics"] if "certwright-alerts" in t["TopicArn"]), "")
    queue = sqs.create_queue(QueueName="demo-consent-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    shop, listener, association = core["shop"], core["listener"], core["shop_association"]
    elbv2.remove_tags(ResourceArns=[listener], TagKeys=["certwright:consent"])
    status, _ = story.call("POST", f"/certificates/{shop['id']}/versions", {})
    story.check("the listener's owner removes its consent tag; shop-web is renewed", status == 201)

    def association_state(wanted: str) -> Any:
        _, body = story.call("GET", f"/associations/{association}")
        return body if body.get("state") == wanted else None

    suspended = story.wait_for(
        "the deployer refuses: association SUSPENDED", lambda: association_state("SUSPENDED"), 60
    )
    if suspended:
        story.check("its state says why", "does not consent" in (suspended.get("stateReason") or ""))

    def alerted() -> Any:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            envelope = json.loads(message["Body"])
            if association in envelope.get("Message", "") and "SUSPENDED" in envelope.get("Message", ""):
                return envelope
        return None

    envelope = story.wait_for("an AssociationSuspended alert reaches the topic's subscriber", alerted, 60)
    if envelope:
        story.check("the alert names the association", True, envelope.get("Subject", ""))
    consent_by_tag(story, listener, shop["id"])
    story.call("POST", f"/certificates/{shop['id']}/versions", {})
    resumed = story.wait_for(
        "consent restored: the next deployment resumes it (ACTIVE, DEPLOYED)",
        lambda: (a := association_state("ACTIVE")) and a["deployment"]["state"] == "DEPLOYED" and a,
        60,
    )
    if resumed:
        story.summary.append(("consent", f"{association} suspended and resumed by its listener's tag"))


def trust_story(story: Story, core: dict[str, Any]) -> None:
    revocation_story(story, core)
    replacement_story(story, core)
    bundle_story(story, core)
    deletion_and_audit_story(story, core)
    alert_story(story, core)
    consent_story(story, core)
