"""The authorization matrix: every API operation x {admin, owner, granted role, other principal in the account,
principal in another account, the associated host, the deployer role}.

Each pair goes through the real handler (routing, validation, the permissions middleware, Cedar). Allowed
pairs stop right after the decision (the route is replaced by a marker answer, so one world serves every
pair); denied pairs run for real and must answer 404 (not readable) or 403 (readable, not allowed) with no
side effect but the audit record of the denial. Routes the resolver serves that the matrix lacks fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response
from certwright.api import permissions
from certwright.api.app import app

from tests.authz.conftest import (
    HOST_ROLE,
    OTHER_ROLE,
    OWNER_ROLE,
    World,
    assert_only_a_denial_audit,
    snapshot,
)
from tests.conftest import ApiClient, Aws, leaf_body, root_ca_body, sub_ca_body

CALLERS = ("admin", "owner", "granted", "other", "foreign", "host", "deployer")
_LETTER = {"A": "admin", "O": "owner", "G": "granted", "B": "other", "X": "foreign", "H": "host", "D": "deployer"}
DRY_RUN = 299

Body = Callable[[World], Any]


def _who(letters: str) -> set[str]:
    return {_LETTER[c] for c in letters}


# (method, route) → (path, body, allowed callers, callers refused with 403; everyone else gets 404)
def _matrix() -> dict[tuple[str, str], tuple[Callable[[World], str], Body | None, str, str]]:
    ca = "/certificate-authorities"
    c = "/certificates"
    return {
        ("GET", "/openapi.json"): (lambda w: "/openapi.json", None, "AOGBXHD", ""),
        ("POST", ca): (lambda w: ca, lambda w: root_ca_body(name="new-root"), "AOGBHD", "X"),
        ("GET", ca): (lambda w: ca, None, "AOGBXHD", ""),
        ("GET", ca + "/{ca_id}"): (lambda w: f"{ca}/{w.issuing}", None, "AOG", ""),
        ("GET", ca + "/{ca_id}/versions"): (lambda w: f"{ca}/{w.issuing}/versions", None, "AOG", ""),
        ("POST", ca + "/{ca_id}/versions"): (lambda w: f"{ca}/{w.issuing}/versions", lambda w: {}, "AO", "G"),
        ("POST", ca + "/{ca_id}/versions/{number}/actions/revoke"): (
            lambda w: f"{ca}/{w.issuing}/versions/1/actions/revoke",
            lambda w: {"revocationReason": "SUPERSEDED"},
            "AO",
            "G",
        ),
        ("GET", ca + "/{ca_id}/bundle"): (lambda w: f"{ca}/{w.issuing}/bundle", None, "AOG", ""),
        ("POST", ca + "/{ca_id}/actions/schedule-deletion"): (
            lambda w: f"{ca}/{w.issuing}/actions/schedule-deletion",
            lambda w: {},
            "AO",
            "G",
        ),
        ("POST", ca + "/{ca_id}/actions/cancel-deletion"): (
            lambda w: f"{ca}/{w.issuing}/actions/cancel-deletion",
            None,
            "AO",
            "G",
        ),
        ("PATCH", ca + "/{ca_id}"): (lambda w: f"{ca}/{w.issuing}", lambda w: {"description": "x"}, "AO", "G"),
        ("POST", ca + "/{ca_id}/actions/disable"): (
            lambda w: f"{ca}/{w.issuing}/actions/disable",
            None,
            "AO",
            "G",
        ),
        ("POST", ca + "/{ca_id}/actions/enable"): (
            lambda w: f"{ca}/{w.issuing}/actions/enable",
            None,
            "AO",
            "G",
        ),
        ("POST", ca + "/{ca_id}/versions/{number}/actions/promote"): (
            lambda w: f"{ca}/{w.issuing}/versions/1/actions/promote",
            None,
            "AO",
            "G",
        ),
        ("GET", ca + "/{ca_id}/csr"): (lambda w: f"{ca}/{w.issuing}/csr", None, "AOG", ""),
        ("POST", ca + "/{ca_id}/actions/import-certificate"): (
            lambda w: f"{ca}/{w.issuing}/actions/import-certificate",
            lambda w: {"certificatePem": "x"},
            "AO",
            "G",
        ),
        ("GET", ca + "/{ca_id}/versions/{number}"): (lambda w: f"{ca}/{w.issuing}/versions/1", None, "AOG", ""),
        ("POST", ca + "/{ca_id}/versions/{number}/actions/schedule-deletion"): (
            lambda w: f"{ca}/{w.issuing}/versions/1/actions/schedule-deletion",
            lambda w: {},
            "AO",
            "G",
        ),
        ("POST", ca + "/{ca_id}/versions/{number}/actions/cancel-deletion"): (
            lambda w: f"{ca}/{w.issuing}/versions/1/actions/cancel-deletion",
            None,
            "AO",
            "G",
        ),
        ("POST", c): (lambda w: c, lambda w: leaf_body(w.issuing, name="new"), "AOG", ""),
        ("GET", c): (lambda w: c, None, "AOGBXHD", ""),
        ("GET", c + "/{certificate_id}"): (lambda w: f"{c}/{w.certificate}", None, "AOGHD", ""),
        ("PATCH", c + "/{certificate_id}"): (lambda w: f"{c}/{w.certificate}", lambda w: {"name": "x"}, "AOG", "HD"),
        ("POST", c + "/{certificate_id}/versions"): (
            lambda w: f"{c}/{w.certificate}/versions",
            lambda w: {},
            "AOG",
            "HD",
        ),
        ("GET", c + "/{certificate_id}/versions"): (lambda w: f"{c}/{w.certificate}/versions", None, "AOGHD", ""),
        ("GET", c + "/{certificate_id}/versions/{number}"): (
            lambda w: f"{c}/{w.certificate}/versions/1",
            None,
            "AOGHD",
            "",
        ),
        ("POST", c + "/{certificate_id}/versions/{number}/actions/promote"): (
            lambda w: f"{c}/{w.certificate}/versions/1/actions/promote",
            None,
            "AOG",
            "HD",
        ),
        ("POST", c + "/{certificate_id}/versions/{number}/actions/revoke"): (
            lambda w: f"{c}/{w.certificate}/versions/1/actions/revoke",
            lambda w: {"revocationReason": "SUPERSEDED"},
            "AOG",
            "HD",
        ),
        ("POST", c + "/{certificate_id}/actions/schedule-deletion"): (
            lambda w: f"{c}/{w.certificate}/actions/schedule-deletion",
            lambda w: {},
            "AOG",
            "HD",
        ),
        ("POST", c + "/{certificate_id}/actions/cancel-deletion"): (
            lambda w: f"{c}/{w.certificate}/actions/cancel-deletion",
            None,
            "AOG",
            "HD",
        ),
        ("POST", c + "/{certificate_id}/versions/{number}/actions/schedule-deletion"): (
            lambda w: f"{c}/{w.certificate}/versions/1/actions/schedule-deletion",
            lambda w: {},
            "AOG",
            "HD",
        ),
        ("POST", c + "/{certificate_id}/versions/{number}/actions/cancel-deletion"): (
            lambda w: f"{c}/{w.certificate}/versions/1/actions/cancel-deletion",
            None,
            "AOG",
            "HD",
        ),
        ("GET", c + "/{certificate_id}/bundle"): (lambda w: f"{c}/{w.certificate}/bundle", None, "AOGHD", ""),
        ("POST", "/associations"): (
            lambda w: "/associations",
            lambda w: {"certificateId": w.certificate, "associatedResourceId": OTHER_ROLE},
            "AOG",
            "HD",
        ),
        ("GET", "/associations"): (lambda w: "/associations", None, "AOGBXHD", ""),
        ("GET", "/associations/{association_id}"): (
            lambda w: f"/associations/{w.host_association}",
            None,
            "AOGH",
            "",
        ),
        ("DELETE", "/associations/{association_id}"): (
            lambda w: f"/associations/{w.host_association}",
            None,
            "AOG",
            "H",
        ),
        # The decision lets readers of the association through; the service then refuses all but the host
        # (tests/consent covers that refusal).
        ("POST", "/associations/{association_id}/actions/confirm"): (
            lambda w: f"/associations/{w.host_association}/actions/confirm",
            lambda w: {},
            "AOGH",
            "",
        ),
        ("POST", "/ca-bundles"): (
            lambda w: "/ca-bundles",
            lambda w: {"name": "b", "certificateAuthorityIds": [w.issuing]},
            "AOG",
            "X",
        ),
        ("GET", "/ca-bundles"): (lambda w: "/ca-bundles", None, "AOGBXHD", ""),
        ("GET", "/ca-bundles/{bundle_id}"): (lambda w: f"/ca-bundles/{w.bundle}", None, "AOG", ""),
        ("DELETE", "/ca-bundles/{bundle_id}"): (lambda w: f"/ca-bundles/{w.bundle}", None, "AO", "G"),
        ("POST", "/ca-bundles/{bundle_id}/versions"): (
            lambda w: f"/ca-bundles/{w.bundle}/versions",
            lambda w: {"certificateAuthorityIds": [w.root]},
            "AO",
            "G",
        ),
        ("GET", "/ca-bundles/{bundle_id}/versions"): (lambda w: f"/ca-bundles/{w.bundle}/versions", None, "AOG", ""),
        ("GET", "/ca-bundles/{bundle_id}/versions/{number}"): (
            lambda w: f"/ca-bundles/{w.bundle}/versions/1",
            None,
            "AOG",
            "",
        ),
        ("GET", "/ca-bundles/{bundle_id}/bundle"): (lambda w: f"/ca-bundles/{w.bundle}/bundle", None, "AOG", ""),
        ("GET", "/ca-bundles/{bundle_id}/associations"): (
            lambda w: f"/ca-bundles/{w.bundle}/associations",
            None,
            "AOG",
            "",
        ),
        ("PUT", "/ca-bundles/{bundle_id}/tags"): (
            lambda w: f"/ca-bundles/{w.bundle}/tags",
            lambda w: {"freeformTags": {"team": "a"}},
            "AO",
            "G",
        ),
        ("PUT", "/certificate-authorities/{ca_id}/tags"): (
            lambda w: f"/certificate-authorities/{w.issuing}/tags",
            lambda w: {"freeformTags": {"team": "a"}},
            "AO",
            "G",
        ),
        ("GET", "/audit-events"): (lambda w: f"/audit-events?resourceId={w.certificate}", None, "AOG", "HD"),
        ("POST", "/grants"): (
            lambda w: "/grants",
            lambda w: {"resourceId": w.certificate, "principalArn": HOST_ROLE, "role": "READER"},
            "AO",
            "GHD",
        ),
        ("GET", "/grants"): (lambda w: f"/grants?resourceId={w.certificate}", None, "AO", "GHD"),
        ("DELETE", "/grants/{grant_id}"): (lambda w: f"/grants/{w.grants[w.certificate]}", None, "AO", "GHD"),
        # Everyone polls: the answer holds only the caller's own associations (tests/poll).
        ("POST", "/bundles/poll"): (lambda w: "/bundles/poll", lambda w: {}, "AOGBXHD", ""),
        # As confirm: readers of the association pass the decision; the service then refuses all but the host.
        ("POST", "/associations/{association_id}/actions/report-deployment"): (
            lambda w: f"/associations/{w.host_association}/actions/report-deployment",
            lambda w: {"versionNumber": 1, "state": "DEPLOYED", "verified": True},
            "AOGH",
            "",
        ),
        # ACME EAB keys: anyone, for themselves; bound to a CA only if they can see it.
        ("POST", "/acme/eab-keys"): (
            lambda w: "/acme/eab-keys",
            lambda w: {"certificateAuthorityId": w.issuing},
            "AOG",
            "",
        ),
        ("GET", "/acme/eab-keys"): (lambda w: "/acme/eab-keys", None, "AOGBXHD", ""),
        # Revoking one: its owner or an admin; to anyone else it does not exist.
        ("DELETE", "/acme/eab-keys/{key_id}"): (lambda w: f"/acme/eab-keys/{w.eab_key}", None, "AO", ""),
    }


MATRIX = _matrix()

# Operations that are more than one row: the private key, a subordinate CA, an imported certificate.
EXTRA_ROWS: dict[str, tuple[str, Callable[[World], str], Body | None, str, str]] = {
    "read the private key": (
        "GET",
        lambda w: f"/certificates/{w.certificate}/bundle?includePrivateKey=true",
        None,
        "HD",
        "AOG",
    ),
    "create a subordinate CA": (
        "POST",
        lambda w: "/certificate-authorities",
        lambda w: sub_ca_body(w.issuing, name="sub", rules={"pathLengthConstraint": 0}),
        "AOG",
        "",
    ),
    "associate the CA bundle": (
        "POST",
        lambda w: "/associations",
        lambda w: {"caBundleId": w.bundle, "associatedResourceId": OTHER_ROLE},
        "AO",
        "G",
    ),
    # Another principal's EAB keys: never refused; the page holds only the keys the caller may read (the admin:
    # all, the owner: its own, anyone else: none; tests/acme/test_eab_keys.py).
    "list the owner's EAB keys": (
        "GET",
        lambda w: f"/acme/eab-keys?principal={OWNER_ROLE}",
        None,
        "AOGBXHD",
        "",
    ),
}


def served_routes() -> set[tuple[str, str]]:
    return {(r.method, r.openapi_path) for r in (*app._static_routes, *app._dynamic_routes)}


def test_every_route_has_a_permission_rule_and_a_matrix_row() -> None:
    routes = served_routes()
    assert routes - set(permissions.RULES) == set(), "routes without a permission rule (they are refused)"
    assert routes - set(MATRIX) == set(), "routes missing from the authorization matrix"
    assert set(permissions.RULES) - routes == set(), "permission rules for routes nobody serves"


@pytest.fixture
def dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allowed requests stop after the decision: the route is replaced by a 299 marker."""
    real = permissions.enforce

    def decide_only(services: Any, resolver: Any, next_middleware: Any) -> Response[str]:
        return real(services, resolver, lambda _: Response(status_code=DRY_RUN, body=""))

    monkeypatch.setattr(permissions, "enforce", decide_only)


def _rows() -> list[tuple[str, str, Callable[[World], str], Body | None, str, str]]:
    rows = [(f"{m} {r}", m, *spec) for (m, r), spec in MATRIX.items()]
    rows += [(name, m, *spec) for name, (m, *spec) in EXTRA_ROWS.items()]  # type: ignore[misc]
    return rows


def test_authorization_matrix(api: ApiClient, aws: Aws, world: World, dry_run: None) -> None:
    failures: list[str] = []
    for name, method, path_of, body_of, allowed, forbidden in _rows():
        for who in CALLERS:
            caller = world.callers[who]
            path, body = path_of(world), body_of(world) if body_of else None
            if who in _who(allowed):
                answer = api.call(method, path, body, caller=caller)
                if answer.status != DRY_RUN:
                    failures.append(f"{name} as {who}: expected allowed, got {answer.status} {answer.body}")
                continue
            expected = 403 if who in _who(forbidden) else 404
            before = snapshot(aws)
            try:
                answer = assert_only_a_denial_audit(aws, before, lambda: api.call(method, path, body, caller=caller))  # noqa: B023
            except AssertionError as err:
                failures.append(f"{name} as {who}: side effect on deny: {err}")
                continue
            code = "NotAuthorized" if expected == 403 else "NotFound"
            if (answer.status, (answer.body or {}).get("code")) != (expected, code):
                failures.append(f"{name} as {who}: expected {expected} {code}, got {answer.status} {answer.body}")
    assert not failures, "\n".join(failures)


def test_a_route_without_a_rule_is_refused(api: ApiClient, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = dict(permissions.RULES)
    del rules[("POST", "/certificate-authorities")]
    monkeypatch.setattr(permissions, "RULES", rules)
    before = snapshot(aws)
    answer = api.post("/certificate-authorities", root_ca_body())
    assert (answer.status, answer.body["code"]) == (403, "NotAuthorized")
    assert snapshot(aws).items == before.items
    assert api.get("/no/such/route").status == 404
