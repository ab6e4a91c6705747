"""HostAssociationIndex and VersionIndex contract: a host's own associations with their CURRENT versions, and
published versions by serial number or fingerprint."""

from __future__ import annotations

from dataclasses import replace

from certwright.adapters.dynamodb_codec import lookup_keys
from certwright.domain.association import AssociationType
from certwright.domain.certificate import Certificate

from tests.contract import builders as b
from tests.contract.conftest import Ports

HOST = "arn:aws:iam::123456789012:role/web-host"
OTHER_HOST = "arn:aws:iam::123456789012:role/db-host"


def _published(ports: Ports, cert_id: str) -> Certificate:
    c = ports.store.begin_version(b.certificate(cert_id), b.version(cert_id), None, is_new_certificate=True)
    return ports.store.complete_version(
        replace(c, current_version_number=1, latest_version_number=1),
        b.version(cert_id, stages=b.PUBLISHED),
        {},
        None,
        b.audit(cert_id),
    )


def _host_association(ports: Ports, assoc_id: str, cert_id: str, host: str, n: int) -> None:
    association = replace(
        b.association(assoc_id, cert_id, n=n, target=host), association_type=AssociationType.HOST_PRINCIPAL
    )
    ports.store.add_association(association, b.audit(assoc_id))


def test_a_host_sees_its_own_associations_oldest_first_with_their_current_versions(ports: Ports) -> None:
    for cert_id in ("cert-1", "cert-2", "cert-3"):
        _published(ports, cert_id)
    _host_association(ports, "assoc-b", "cert-2", HOST, n=2)
    _host_association(ports, "assoc-a", "cert-1", HOST, n=1)
    _host_association(ports, "assoc-c", "cert-3", OTHER_HOST, n=3)
    ports.store.add_association(b.association("assoc-l", "cert-1", n=4), b.audit("assoc-l"))  # a listener's

    bindings = ports.hosts.bindings_of(HOST)
    assert [(x.association.id, x.certificate.id, x.version.version_number) for x in bindings] == [
        ("assoc-a", "cert-1", 1),
        ("assoc-b", "cert-2", 1),
    ]
    assert [x.association.id for x in ports.hosts.bindings_of(HOST, frozenset({"cert-2"}))] == ["assoc-b"]
    assert [x.association.id for x in ports.hosts.bindings_of(OTHER_HOST)] == ["assoc-c"]
    assert ports.hosts.bindings_of("arn:aws:iam::123456789012:role/nobody") == []


def test_a_removed_association_leaves_the_hosts_index(ports: Ports) -> None:
    _published(ports, "cert-1")
    _host_association(ports, "assoc-a", "cert-1", HOST, n=1)
    stored = ports.store.get_association("assoc-a")
    assert stored is not None
    ports.store.remove_association(stored, b.audit("assoc-a", "Delete"))
    assert ports.hosts.bindings_of(HOST) == []


def test_published_versions_are_found_by_serial_and_fingerprint_in_any_spelling(ports: Ports) -> None:
    _published(ports, "cert-1")
    _published(ports, "cert-2")
    version = ports.store.get_version("cert-1", 1)
    assert version is not None
    serial, fingerprint = lookup_keys(version)
    # Both certificates' version 1 carry the same serial in the builders (serials are unique per CA, not globally).
    assert sorted(ports.lookup.by_serial(version.serial_number.upper())) == [("cert-1", 1), ("cert-2", 1)]
    assert ports.lookup.by_serial("00" + serial) == ports.lookup.by_serial(serial)
    colons = ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)).upper()
    assert ports.lookup.by_fingerprint(colons) == [("cert-1", 1)]
    assert ports.lookup.by_serial("dead") == [] and ports.lookup.by_fingerprint("00" * 32) == []


def test_a_reserved_version_is_not_found_until_it_is_published(ports: Ports) -> None:
    ports.store.begin_version(b.certificate("cert-9"), b.version("cert-9"), None, is_new_certificate=True)
    assert ports.lookup.by_serial(b.version("cert-9").serial_number) == []
