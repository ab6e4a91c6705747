"""Deployment to real (embedded) ELBv2 listeners and ACM: every new CURRENT version reaches its targets, verified."""

from __future__ import annotations

from certwright.bootstrap import Container

from tests.conftest import ApiClient, Hierarchy, leaf_body
from tests.consenting import consent
from tests.lifecycle.conftest import LoadBalancer


def _associate(api: ApiClient, cert_id: str, listener: str, role: str = "DEFAULT") -> str:
    consent(None, listener, cert_id)
    answer = api.post(
        "/associations", {"certificateId": cert_id, "associatedResourceId": listener, "listenerCertificateRole": role}
    )
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def test_a_new_current_version_reaches_every_listener_verified(
    api: ApiClient, hierarchy: Hierarchy, load_balancer: LoadBalancer, container: Container
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    ids = [_associate(api, cert["id"], listener) for listener in load_balancer.listeners]
    for association_id in ids:
        container.deployment.reconcile(association_id)
    first_serial = cert["currentVersion"]["serialNumber"]
    for listener in load_balancer.listeners:
        default, _ = load_balancer.served(listener)
        assert default != load_balancer.placeholder_arn
        assert load_balancer.serial(default) == first_serial.lstrip("0")

    v2 = api.post(f"/certificates/{cert['id']}/versions", {}).body
    container.deployment.reconcile_certificate(cert["id"])
    defaults = {load_balancer.served(listener)[0] for listener in load_balancer.listeners}
    assert len(defaults) == 1, "all listeners converge on one ACM copy"
    (copy,) = defaults
    assert load_balancer.serial(copy) == v2["serialNumber"].lstrip("0")
    for association_id in ids:
        body = api.get(f"/associations/{association_id}").body["deployment"]
        assert body["state"] == "DEPLOYED"
        assert body["deployedVersion"] == 2
        assert body["verifiedAt"]


def test_an_sni_rotation_keeps_the_other_sni_certificates(
    api: ApiClient, hierarchy: Hierarchy, load_balancer: LoadBalancer, container: Container
) -> None:
    listener = load_balancer.listeners[0]
    first = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="a")).body
    other = api.post(
        "/certificates",
        leaf_body(
            hierarchy.issuing["id"],
            name="b",
            subjectAlternativeNames=[{"type": "DNS", "value": "b.example.com"}],
            subject={"commonName": "b.example.com"},
        ),
    ).body
    container.deployment.reconcile(_associate(api, first["id"], listener, "SNI"))
    container.deployment.reconcile(_associate(api, other["id"], listener, "SNI"))
    default, sni = load_balancer.served(listener)
    assert default == load_balancer.placeholder_arn
    assert len(sni) == 2

    api.post(f"/certificates/{first['id']}/versions", {})
    container.deployment.reconcile_certificate(first["id"])
    default_after, sni_after = load_balancer.served(listener)
    assert default_after == load_balancer.placeholder_arn
    assert len(sni_after) == 2
    other_copy = next(a for a in sni if a in sni_after)
    assert load_balancer.serial(other_copy) == other["currentVersion"]["serialNumber"].lstrip("0")
