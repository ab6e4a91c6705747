"""A disabled CA through the real wiring (local runtime: HTTP gateway, moto's stream, the bus): the sweep's renewal
of a certificate it issued fails loudly (RenewalFailed on the bus, with the CertificateAuthorityDisabled code)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.wiring.conftest import Wiring
from tests.wiring.conftest import wiring as wiring  # the module's local runtime


@pytest.fixture(autouse=True)
def _aws_environment() -> Iterator[None]:
    """Overrides tests/conftest.py's: the runtime set the process environment (endpoint, credentials)."""
    yield


def test_disabled_ca_makes_the_sweeps_renewal_fail_with_an_alert(wiring: Wiring) -> None:
    root = wiring.post("/certificate-authorities", root_ca_body(name="disable-root"))
    ca = wiring.post("/certificate-authorities", sub_ca_body(root["id"], name="disable-sub"))
    rule = {"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
    leaf = wiring.post("/certificates", leaf_body(ca["id"], name="renews", renewalRule=rule))
    disabled = wiring.post(f"/certificate-authorities/{ca['id']}/actions/disable")
    assert disabled["issuanceState"] == "DISABLED"
    status, refused = wiring.call("POST", "/certificates", leaf_body(ca["id"], name="refused"))
    assert (status, refused["code"]) == (409, "CertificateAuthorityDisabled")
    wiring.settle()

    report = wiring.services_at(datetime.now(UTC) + timedelta(days=21)).sweep.run()
    assert report["failed"] == 1 and report["renewed"] == 0, report
    alert = wiring.wait_for("RenewalFailed", leaf["id"])
    assert alert["reason"].startswith("CertificateAuthorityDisabled"), alert
    status, current = wiring.call("GET", f"/certificates/{leaf['id']}")
    assert status == 200 and current["currentVersion"]["versionNumber"] == 1, current
