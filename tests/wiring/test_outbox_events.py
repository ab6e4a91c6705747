"""Every domain event the outbox can produce reaches the bus through the real wiring.

For each event type a scenario changes the table for real (the local HTTP API, or Certwright's services on the
runtime's resources with a moved clock where only time makes the change: sweeps, deletions, a stale CRL); the
router hands moto's own stream records to stream_publisher's real handler, and a rule of ours on the bus sees
the event arrive. A new event type without a scenario fails `test_every_event_type_has_a_scenario`.
"""

from __future__ import annotations

import itertools
import socket
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from certwright import outbox
from certwright.events import EVENT_TYPES, DomainEvent, from_detail
from certwright.services.authorities import DEFAULT_DELETION_GRACE
from cryptography import x509

from tests.alerts.vendor import vendor_import
from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent, withdraw
from tests.diagnose.servers import HOST, Issued
from tests.probes.endpoints import Vendor, endpoint
from tests.wiring.conftest import Wiring

ROLE = "arn:aws:iam::123456789012:role/wiring-host-{}"

Scenario = Callable[["World"], str]
SCENARIOS: dict[str, Scenario] = {}


def scenario(detail_type: str) -> Callable[[Scenario], Scenario]:
    def register(make: Scenario) -> Scenario:
        SCENARIOS[detail_type] = make
        return make

    return register


class World:
    """What the scenarios share on one runtime: a hierarchy, and fresh CAs and certificates on demand."""

    def __init__(self, wiring: Wiring) -> None:
        self.w = wiring
        self._cache: dict[str, Any] = {}
        self._numbers = itertools.count(1)

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    def root(self) -> dict[str, Any]:
        return dict(self.once("root", lambda: self.w.post("/certificate-authorities", root_ca_body())))

    def issuing(self) -> dict[str, Any]:
        return dict(self.once("issuing", self.sub_ca))

    def sub_ca(self) -> dict[str, Any]:
        n = next(self._numbers)
        return dict(self.w.post("/certificate-authorities", sub_ca_body(self.root()["id"], name=f"sub-{n}")))

    def leaf(self, issuer: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        n = next(self._numbers)
        body = leaf_body((issuer or self.issuing())["id"], name=f"leaf-{n}", **overrides)
        return dict(self.w.post("/certificates", body))

    def broken(self) -> dict[str, Any]:
        """A CA whose KMS key is disabled after it issued two certificates, one of them renewing itself."""

        def make() -> dict[str, Any]:
            ca = self.sub_ca()
            plain = self.leaf(ca)
            rule = {"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
            renewing = self.leaf(ca, renewalRule=rule)
            self.w.settle()
            self.w.disable_ca_key(ca["id"])
            return {"ca": ca, "plain": plain, "renewing": renewing}

        return dict(self.once("broken", make))

    def listener_association(self, cert: dict[str, Any], listener: str) -> dict[str, Any]:
        """The listener's owner consents (the certwright:consent tag), then the association is made: ACTIVE."""
        consent(self.w.session, listener, cert["id"])
        association = self.w.post("/associations", {"certificateId": cert["id"], "associatedResourceId": listener})
        assert association["state"] == "ACTIVE", association
        return dict(association)

    def deletion_run(self) -> None:
        later = datetime.now(UTC) + DEFAULT_DELETION_GRACE + timedelta(days=1)
        self.w.services_at(later).deletion.run()


# -- authorities and CRLs -------------------------------------------------------------------------------------


@scenario("CertificateAuthorityCreated")
def _authority_created(world: World) -> str:
    return str(world.root()["id"])


@scenario("CrlPublished")
def _crl_published(world: World) -> str:
    return str(world.issuing()["id"])  # a new CA publishes its first CRL


@scenario("CertificateAuthorityVersionCreated")
def _authority_version_created(world: World) -> str:
    ca = world.sub_ca()
    world.w.post(f"/certificate-authorities/{ca['id']}/versions")
    return str(ca["id"])


@scenario("CertificateAuthorityCrlSettingsChanged")
def _authority_crl_settings_changed(world: World) -> str:
    ca = world.sub_ca()
    status, answer = world.w.call("PATCH", f"/certificate-authorities/{ca['id']}", {"crlSettings": {"enabled": False}})
    assert status == 200, answer
    return str(ca["id"])


@scenario("CertificateAuthorityVersionRevoked")
def _authority_version_revoked(world: World) -> str:
    ca = world.sub_ca()
    world.w.post(f"/certificate-authorities/{ca['id']}/versions/1/actions/revoke")
    return str(ca["id"])


@scenario("CertificateAuthorityDeleted")
def _authority_deleted(world: World) -> str:
    ca = world.sub_ca()
    world.w.post(f"/certificate-authorities/{ca['id']}/actions/schedule-deletion")
    world.w.settle()
    world.deletion_run()
    return str(ca["id"])


@scenario("CrlStale")
def _crl_stale(world: World) -> str:
    ca = world.sub_ca()
    world.w.wait_for("CrlPublished", ca["id"])
    world.w.disable_ca_key(ca["id"])
    # Four hours before the CRL's nextUpdate, a refresh that cannot sign is worth an alert.
    world.w.services_at(datetime.now(UTC) + timedelta(hours=20)).crl_publisher.publish(ca["id"])
    return str(ca["id"])


# -- certificates -----------------------------------------------------------------------------------------------


@scenario("CertificateVersionCreated")
def _version_created(world: World) -> str:
    return str(world.leaf()["id"])


@scenario("CertificateVersionStageChanged")
def _stage_changed(world: World) -> str:
    cert = world.leaf()
    world.w.post(f"/certificates/{cert['id']}/versions")
    return str(cert["id"])


@scenario("CertificateVersionFailed")
def _version_failed(world: World) -> str:
    cert = world.broken()["plain"]
    status, answer = world.w.call("POST", f"/certificates/{cert['id']}/versions", {})
    assert status >= 400, answer
    return str(cert["id"])


@scenario("CertificateVersionRevoked")
def _version_revoked(world: World) -> str:
    cert = world.leaf()
    world.w.post(f"/certificates/{cert['id']}/versions/1/actions/revoke")
    return str(cert["id"])


@scenario("CertificateDeleted")
def _certificate_deleted(world: World) -> str:
    cert = world.leaf()
    world.w.post(f"/certificates/{cert['id']}/actions/schedule-deletion")
    world.w.settle()
    world.deletion_run()
    return str(cert["id"])


@scenario("CertificateExpiring")
def _expiring(world: World) -> str:
    cert = world.leaf(validityDuration="P30D")
    world.w.settle()
    world.w.services_at(datetime.now(UTC) + timedelta(days=29, hours=12)).sweep.run()
    return str(cert["id"])


def _failing_renewal(world: World) -> str:
    cert = world.broken()["renewing"]

    def run() -> None:
        # Six days after the renewal came due (P20D of P30D): it fails (the CA's key is disabled) and is overdue.
        world.w.services_at(datetime.now(UTC) + timedelta(days=26)).sweep.run()

    world.once("failing renewal", run)
    return str(cert["id"])


SCENARIOS["RenewalFailed"] = _failing_renewal
SCENARIOS["RenewalOverdue"] = _failing_renewal


@scenario("CertificateExpired")
def _expired(world: World) -> str:
    # A vendor's certificate with an hour left, imported; the sweep two hours later finds it expired. Only what
    # is due within those two hours is swept, so the other scenarios' certificates are left alone.
    now = datetime.now(UTC)
    cert = world.w.post("/certificates", vendor_import(now + timedelta(hours=1), name="wiring-vendor"))
    world.w.settle()
    world.w.services_at(now + timedelta(hours=2)).sweep.run()
    return str(cert["id"])


# -- associations and deployments -----------------------------------------------------------------------------


def _role_association(world: World) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        cert = world.leaf()
        role = ROLE.format(cert["id"])
        consent(world.w.session, role, cert["id"])  # the role's owner tags it
        association = world.w.post("/associations", {"certificateId": cert["id"], "associatedResourceId": role})
        assert association["state"] == "ACTIVE", association
        return dict(association)

    return dict(world.once("role association", make))


@scenario("AssociationCreated")
def _association_created(world: World) -> str:
    return str(_role_association(world)["id"])


@scenario("AssociationDeleted")
def _association_deleted(world: World) -> str:
    association = _role_association(world)
    world.w.wait_for("AssociationCreated", association["id"])
    status, _ = world.w.call("DELETE", f"/associations/{association['id']}")
    assert status == 204
    return str(association["id"])


@scenario("DeploymentSucceeded")
def _deployment_succeeded(world: World) -> str:
    association = world.listener_association(world.leaf(), world.w.listener())
    return str(association["id"])


@scenario("DeploymentFailed")
def _deployment_failed(world: World) -> str:
    cert, listener = world.leaf(), world.w.listener()
    association = world.listener_association(cert, listener)
    world.w.wait_for("DeploymentSucceeded", association["id"])
    world.w.session.client("elbv2").delete_listener(ListenerArn=listener)
    world.w.post(f"/certificates/{cert['id']}/versions")  # version 2 has nowhere to go
    return str(association["id"])


def _suspended(world: World) -> dict[str, Any]:
    """A deployed listener association whose owner then withdrew consent: the next deployment suspends it."""

    def make() -> dict[str, Any]:
        cert, listener = world.leaf(), world.w.listener()
        association = world.listener_association(cert, listener)
        world.w.wait_for("DeploymentSucceeded", association["id"])
        withdraw(world.w.session, listener, cert["id"])
        world.w.post(f"/certificates/{cert['id']}/versions")  # its deployment finds no consent
        return {"association": association, "cert": cert, "listener": listener}

    return dict(world.once("suspended", make))


@scenario("AssociationSuspended")
def _association_suspended(world: World) -> str:
    return str(_suspended(world)["association"]["id"])


@scenario("AssociationResumed")
def _association_resumed(world: World) -> str:
    suspended = _suspended(world)
    association_id = str(suspended["association"]["id"])
    world.w.wait_for("AssociationSuspended", association_id)
    status, now = world.w.call("GET", f"/associations/{association_id}")
    assert (status, now["state"]) == (200, "SUSPENDED"), now
    consent(world.w.session, suspended["listener"], suspended["cert"]["id"])  # the owner consents again
    world.w.post(f"/certificates/{suspended['cert']['id']}/versions")  # the next deployment resumes it
    return association_id


# -- trust ------------------------------------------------------------------------------------------------------


@scenario("CaBundleVersionCreated")
def _bundle_version_created(world: World) -> str:
    bundle = world.w.post("/ca-bundles", {"name": "wiring-trust", "certificateAuthorityIds": [world.root()["id"]]})
    return str(bundle["id"])


# -- endpoint probes --------------------------------------------------------------------------------------------


def _probed(world: World, address: str, vendor: Vendor, leaf: Issued) -> str:
    """An imported certificate deployed to a listener whose association names `address` as its endpoint."""
    n = next(world._numbers)
    cert = world.w.post("/certificates", vendor.import_body(leaf, name=f"probed-{n}"))
    listener = world.w.listener()
    consent(world.w.session, listener, cert["id"])
    body = {
        "certificateId": cert["id"],
        "associatedResourceId": listener,
        "endpoint": {"address": address, "serverName": HOST},
    }
    association = world.w.post("/associations", body)
    world.w.wait_for("DeploymentSucceeded", association["id"])
    return str(association["id"])


@scenario("EndpointUnhealthy")
def _endpoint_unhealthy(world: World) -> str:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]  # nothing listens there once closed: the handshake fails
    vendor = Vendor.create()
    association_id = _probed(world, f"127.0.0.1:{port}", vendor, vendor.leaf())
    world.w.services_at(datetime.now(UTC)).probes.run()
    return association_id


@scenario("EndpointHealthy")
def _endpoint_healthy(world: World) -> str:
    vendor = Vendor.create()
    leaf = vendor.leaf()
    with tempfile.TemporaryDirectory() as directory, endpoint(Path(directory)) as served:
        served.refuse()
        association_id = _probed(world, served.address, vendor, leaf)
        world.w.services_at(datetime.now(UTC)).probes.run()  # unhealthy first
        world.w.wait_for("EndpointUnhealthy", association_id)
        served.serve(leaf, (vendor.ca,))
        world.w.services_at(datetime.now(UTC)).probes.run()  # then healthy again
    return association_id


@scenario("AcmeChallengeRequested")
def _acme_challenge_requested(world: World) -> str:
    from tests.acme.client import AcmeClient, http_send

    issuing = world.issuing()
    eab = world.w.post("/acme/eab-keys", {})
    client = AcmeClient(f"{world.w.rt.api_url}/acme/{issuing['id']}/directory", http_send)
    assert client.new_account((eab["keyId"], eab["hmacKey"])).status == 201
    authz_url = client.new_order(["acme.wiring.example"]).json()["authorizations"][0]
    challenge = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "dns-01")
    assert client.post(challenge["url"], {}).status == 200
    return str(authz_url.rsplit("/", 1)[1])


# -- the tests --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(wiring: Wiring) -> Iterator[World]:
    yield World(wiring)


def _outbox_event_types() -> set[str]:
    """Every event class the outbox module knows (it imports each one it can produce)."""
    return {
        value.detail_type
        for value in vars(outbox).values()
        if isinstance(value, type) and issubclass(value, DomainEvent) and value is not DomainEvent
    }


def test_every_event_type_has_a_scenario() -> None:
    assert _outbox_event_types() == set(EVENT_TYPES), "the outbox and certwright.events disagree"
    missing = set(EVENT_TYPES) - set(SCENARIOS)
    assert not missing, f"no real-wiring scenario produces {sorted(missing)}: add one to this module"
    assert set(SCENARIOS) <= set(EVENT_TYPES)


@pytest.mark.parametrize("detail_type", sorted(EVENT_TYPES))
def test_the_event_arrives_on_the_bus_through_the_stream_publisher(
    wiring: Wiring, world: World, detail_type: str
) -> None:
    make = SCENARIOS.get(detail_type)
    assert make is not None, f"no scenario produces {detail_type}"
    resource_id = make(world)
    detail = wiring.wait_for(detail_type, resource_id)
    event = from_detail(detail_type, detail)
    assert event.resource_id == resource_id
    # Its id is the stream record's eventID: it came from stream_publisher's handler, fed by the router.
    record_id = event.event_id.rsplit(":", 1)[0]
    fed = {
        record["eventID"]
        for delivery in wiring.rt.router.deliveries
        if delivery.function == "StreamPublisherFunction" and delivery.ok
        for record in delivery.payload["Records"]
    }
    assert record_id in fed


def test_changed_crl_settings_reach_the_crl_publisher_and_the_next_scheduled_crl_follows_them(
    wiring: Wiring, world: World
) -> None:
    """PATCH crlSettings -> the outbox's event -> the bus -> the CRL publisher's real handler, which makes the CRL
    due: the next scheduled run signs it under the new validity."""
    ca = world.sub_ca()
    wiring.wait_for("CrlPublished", ca["id"])
    status, answer = wiring.call(
        "PATCH", f"/certificate-authorities/{ca['id']}", {"crlSettings": {"validityDuration": "PT6H"}}
    )
    assert status == 200, answer
    wiring.wait_for("CertificateAuthorityCrlSettingsChanged", ca["id"])
    handled = [
        d
        for d in wiring.rt.router.deliveries
        if d.function == "CrlPublisherFunction"
        and d.ok
        and d.payload.get("detail-type") == "CertificateAuthorityCrlSettingsChanged"
        and d.payload["detail"]["resource_id"] == ca["id"]
    ]
    assert handled, "the CRL publisher's handler was not fed the event"
    # Due once the revocation batch delay has passed, as after a revocation: a run then signs it anew.
    later = wiring.services_at(datetime.now(UTC) + timedelta(minutes=10))
    assert f"{ca['id']}/0#2" in later.crl_publisher.publish_due().published  # (other scenarios' CAs may be due too)
    crl = x509.load_der_x509_crl(
        wiring.session.client("s3")
        .get_object(Bucket=wiring.rt.settings.pki_bucket, Key=f"crl/{ca['id']}/0.crl")["Body"]
        .read()
    )
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == timedelta(hours=6)
