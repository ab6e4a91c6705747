"""The pure parts of the poll and the report: entity tags, If-None-Match, and the domain rule of a host's report;
and the ByHost index itself (sparse: only host certificate associations, under the normalized principal)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from certwright.adapters.dynamodb_poll import host_key
from certwright.api.presenters import PollItemOut, poll_item
from certwright.bootstrap import Container
from certwright.domain.association import (
    Association,
    AssociationState,
    AssociationType,
    Deployment,
    DeploymentState,
    Endpoint,
    Probe,
    ReportedState,
    report_deployment,
    same_report,
)
from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion, Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject
from certwright.domain.stages import Stage
from certwright.errors import ConflictError, InvalidInputError
from certwright.ports import HostBinding
from certwright.services.poll import item_etag, matches, poll_etag

from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body
from tests.consenting import consent
from tests.lifecycle.conftest import make_load_balancer

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/web-host"


def _association(**overrides: object) -> Association:
    values: dict[str, object] = {
        "id": "assoc-1",
        "certificate_id": "cert-1",
        "associated_resource_id": ROLE,
        "association_type": AssociationType.HOST_PRINCIPAL,
        "created_by": "admin",
        "created_at": NOW,
        "deployment": Deployment(desired_version=1),
        "row_version": 3,
    }
    values.update(overrides)
    return Association(**values)  # type: ignore[arg-type]


def _certificate(current: int = 1, name: str = "web") -> Certificate:
    return Certificate(
        id="cert-1",
        name=name,
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id="ca-1",
        subject=Subject(common_name="www.example.com"),
        sans=(),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=None,
        renewal_rule=None,
        lifecycle_state=LifecycleState.ACTIVE,
        created_by="admin",
        created_at=NOW,
        current_version_number=current,
        latest_version_number=current,
    )


def _version(number: int = 1, serial: str = "0a1b") -> CertificateVersion:
    return CertificateVersion(
        certificate_id="cert-1",
        version_number=number,
        stages=frozenset({Stage.CURRENT}),
        serial_number=serial,
        validity=Validity(NOW, NOW + timedelta(days=30)),
        subject=Subject(common_name="www.example.com"),
        sans=(),
        certificate_pem="",
        chain_pems=(),
        created_at=NOW,
        has_private_key=True,
    )


def _binding(**changes: object) -> HostBinding:
    binding = HostBinding(_association(), _certificate(), _version())
    return replace(binding, **changes)  # type: ignore[arg-type]


def test_an_item_etag_is_stable_and_changes_with_what_a_host_acts_on() -> None:
    tag = item_etag(_binding())
    assert tag == item_etag(_binding()) and tag.startswith('"') and tag.endswith('"')
    deployed = Deployment(desired_version=1, deployed_version=1, state=DeploymentState.DEPLOYED)
    changed = [
        _binding(association=_association(state=AssociationState.PENDING_CONFIRMATION)),
        _binding(association=_association(hostnames=("www.example.com",))),
        _binding(association=_association(deployment=deployed)),
        _binding(certificate=_certificate(current=2), version=_version(2, "0c0d")),
        _binding(version=_version(1, "ffff")),
        _binding(certificate=_certificate(name="renamed")),
        _binding(association=_association(id="assoc-2")),
    ]
    assert len({tag, *(item_etag(b) for b in changed)}) == 1 + len(changed)


def test_an_endpoint_probe_recorded_on_the_association_leaves_the_item_etag_alone() -> None:
    """The prober writes the association every run; the host's poll must still answer 304."""
    probe = Probe(NOW, "0a0b", True)
    probed = _association(row_version=9, endpoint=Endpoint("10.0.0.7", 443), probe=probe)
    assert item_etag(_binding(association=probed)) == item_etag(_binding())


def test_the_poll_etag_covers_the_set_of_items_in_any_order() -> None:
    assert poll_etag(['"a"', '"b"']) == poll_etag(['"b"', '"a"'])
    assert len({poll_etag([]), poll_etag(['"a"']), poll_etag(['"a"', '"b"'])}) == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ("abc", True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ('"ab"', False),
    ],
)
def test_if_none_match(header: str | None, expected: bool) -> None:
    assert matches(header, '"abc"') is expected


def _report(association: Association, **overrides: object) -> Deployment:
    arguments: dict[str, object] = {
        "version_number": 2,
        "current_version_number": 2,
        "serial_number": "0c0d",
        "state": ReportedState.DEPLOYED,
        "verified": True,
        "reason": None,
        "now": NOW,
    }
    arguments.update(overrides)
    return report_deployment(association, **arguments)  # type: ignore[arg-type]


def test_a_deployed_report_moves_the_deployment_and_a_failed_one_keeps_what_is_served() -> None:
    serving_one = _association(
        deployment=Deployment(1, deployed_version=1, state=DeploymentState.DEPLOYED, deployed_serial_number="0a1b")
    )
    deployed = _report(serving_one)
    assert (deployed.state, deployed.deployed_version, deployed.desired_version) == (DeploymentState.DEPLOYED, 2, 2)
    assert (deployed.verified_at, deployed.deployed_serial_number, deployed.last_error) == (NOW, "0c0d", None)
    assert _report(serving_one, verified=False).verified_at is None

    failed = _report(serving_one, state=ReportedState.FAILED, reason="  key\tdoes not\nmatch  ")
    assert (failed.state, failed.deployed_version, failed.desired_version) == (DeploymentState.FAILED, 1, 2)
    assert (failed.last_error, failed.deployed_serial_number) == ("key does not match", "0a1b")
    assert _report(serving_one, state=ReportedState.FAILED, reason="x" * 4000).last_error == "x" * 500

    # A host repeating itself says nothing new (whenever it verified again); anything else is news.
    again = _report(replace(serving_one, deployment=deployed), now=NOW + timedelta(minutes=5))
    assert same_report(deployed, again)
    assert not same_report(deployed, replace(again, verified_at=None))
    assert not same_report(deployed, failed)


def test_only_an_active_host_association_reports_and_only_about_the_current_version() -> None:
    for association, code in (
        (_association(association_type=AssociationType.LOAD_BALANCER_LISTENER), "NotReportable"),
        (_association(ca_bundle_id="bundle-1", certificate_id=""), "NotReportable"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            _report(association)
        assert refused.value.code == code
    for association, overrides, code in (
        (_association(state=AssociationState.PENDING_CONFIRMATION), {}, "AssociationNotActive"),
        (_association(state=AssociationState.SUSPENDED), {}, "AssociationNotActive"),
        (_association(), {"version_number": 1}, "StaleDeploymentReport"),
        (_association(), {"version_number": 3}, "StaleDeploymentReport"),
    ):
        with pytest.raises(ConflictError) as conflict:
            _report(association, **overrides)
        assert conflict.value.code == code
    for overrides in (
        {"state": ReportedState.FAILED},
        {"state": ReportedState.FAILED, "reason": " \n "},
        {"state": ReportedState.FAILED, "reason": "red \x1b[31m"},
        {"state": ReportedState.DEPLOYED, "reason": "why"},
    ):
        with pytest.raises(InvalidInputError):
            _report(_association(), **overrides)


def test_host_key_is_the_normalized_principal_of_host_certificate_associations_only() -> None:
    assert host_key(_association()) == f"HOST#{ROLE}"
    with_path = _association(associated_resource_id="arn:aws:iam::123456789012:role/team/web-host")
    assert host_key(with_path) == f"HOST#{ROLE}"
    assert host_key(_association(association_type=AssociationType.LOAD_BALANCER_LISTENER)) is None
    assert host_key(_association(ca_bundle_id="bundle-1", certificate_id="")) is None


def test_the_index_holds_host_certificate_associations_only(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, container: Container
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    host = api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": ROLE}).body
    listener = make_load_balancer(aws, listeners=1).listeners[0]
    consent(aws.session, listener, cert["id"])
    assert api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": listener}).status == 201
    bundle = api.post("/ca-bundles", {"name": "trust", "certificateAuthorityIds": [hierarchy.issuing["id"]]}).body
    trusting = api.post("/associations", {"caBundleId": bundle["id"], "associatedResourceId": ROLE})
    assert trusting.status == 201, trusting.body

    indexed = [i for i in aws.table_items() if "host_pk" in i]
    assert [(i["pk"]["S"], i["host_pk"]["S"]) for i in indexed] == [(f"ASSOC#{host['id']}", f"HOST#{ROLE}")]
    (binding,) = container.poll._index.bindings_of(ROLE)
    assert (binding.association.id, binding.version.version_number) == (host["id"], 1)
    assert container.poll._index.bindings_of(ROLE, frozenset({"cert-other"})) == []


def test_a_poll_item_names_what_to_install_and_how_consent_stands() -> None:
    binding = _binding(association=_association(associated_resource_id="arn:aws:iam::123456789012:role/ops/web-host"))
    item = poll_item(binding.association, binding.certificate, binding.version, '"t"')
    assert (item["associatedResourceId"], item["consentState"], item["notAfter"]) == (
        ROLE,
        "CONFIRMED",
        "2026-12-31T12:00:00Z",
    )
    assert set(item) == set(PollItemOut.model_fields)
    for state in (AssociationState.PENDING_CONFIRMATION, AssociationState.SUSPENDED):
        waiting = poll_item(_association(state=state), binding.certificate, binding.version, '"t"')
        assert waiting["consentState"] == "PENDING_CONFIRMATION", state


class _Index:
    def __init__(self, bindings: list[HostBinding]) -> None:
        self.bindings = bindings

    def bindings_of(self, principal_arn: str, certificate_ids: frozenset[str] | None = None) -> list[HostBinding]:
        return [b for b in self.bindings if certificate_ids is None or b.certificate.id in certificate_ids]


def test_unconfirmed_associations_cannot_grow_the_answer_or_crowd_out_confirmed_ones() -> None:
    """Anyone who can create a certificate can create unconfirmed associations naming a host: a full poll keeps
    every confirmed one, first, and at most MAX_UNCONFIRMED others, saying how many it left out."""
    from certwright.services.poll import MAX_UNCONFIRMED, PollService

    planted = [
        _binding(association=_association(id=f"assoc-p{n}", state=AssociationState.PENDING_CONFIRMATION))
        for n in range(MAX_UNCONFIRMED + 5)
    ]
    mine = [_binding(association=_association(id=f"assoc-mine-{n}")) for n in range(MAX_UNCONFIRMED + 1)]
    service = PollService(_Index([*planted, *mine]), None, None)  # type: ignore[arg-type]
    answer = service.poll(ROLE)
    assert len(answer.items) == 2 * MAX_UNCONFIRMED + 1 and answer.omitted == 5
    assert [i.binding.association.id for i in answer.items[: len(mine)]] == [b.association.id for b in mine]
