"""Scheduled deletion of DEPRECATED CA versions on the fakes: the refusals, and the sweep's deletion pass, including
a version that stopped being DEPRECATED-only before it fell due."""

from __future__ import annotations

from dataclasses import replace

from certwright import bootstrap
from certwright.services.commands import ScheduleDeletion

from tests.conftest import ApiClient, Clock, root_ca_body
from tests.fakes import World

CA = "/certificate-authorities"


def _rotated(api: ApiClient) -> str:
    ca_id = str(api.post(CA, root_ca_body()).body["id"])
    for _ in range(2):
        assert api.post(f"{CA}/{ca_id}/versions", {}).status in (200, 201)
    return ca_id


def test_a_deprecated_ca_version_is_deleted_by_the_sweep_and_audited(
    api: ApiClient, container: bootstrap.Container, world: World, clock: Clock
) -> None:
    ca_id = _rotated(api)
    refused = api.post(f"{CA}/{ca_id}/versions/2/actions/schedule-deletion", {})
    assert (refused.status, refused.body["code"]) == (409, "VersionNotDeprecated")
    assert api.post(f"{CA}/{ca_id}/versions/1/actions/schedule-deletion", {}).status == 200
    assert container.deletion.run()["versions_deleted"] == 0
    clock.advance(days=31)
    assert container.deletion.run()["versions_deleted"] == 1
    version = api.get(f"{CA}/{ca_id}/versions/1").body
    assert version["lifecycleState"] == "DELETED"
    actions = [(r.action, r.actor, r.result) for r in world.memory.audit if r.resource_id == ca_id]
    assert ("DeleteCertificateAuthorityVersion", "certwright-sweep", "SUCCEEDED") in actions
    assert api.get(f"{CA}/{ca_id}").body["currentVersion"]["versionNumber"] == 3


def test_a_version_no_longer_deprecated_when_due_is_kept(
    api: ApiClient, container: bootstrap.Container, world: World, clock: Clock
) -> None:
    ca_id = _rotated(api)
    scheduled = container.authorities.schedule_version_deletion(ca_id, 1, ScheduleDeletion(), "tester")
    # A writer outside the schedule's guard (e.g. a stage repair) made it PREVIOUS again meanwhile.
    world.memory.ca_versions[ca_id][1] = replace(scheduled, stages=("PREVIOUS",))
    clock.advance(days=31)
    report = container.deletion.run()
    assert (report["versions_deleted"], report["blocked"]) == (0, 1)
    kept = api.get(f"{CA}/{ca_id}/versions/1").body
    assert (kept["lifecycleState"], kept["timeOfDeletion"]) == ("ACTIVE", None)
    assert any(r.action == "DeleteCertificateAuthorityVersion" and r.result == "FAILED" for r in world.memory.audit)
