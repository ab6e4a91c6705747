"""Issue-time rules with an injected clock: notBefore backdating (and its bound) and subordinates' default validity."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from certwright import bootstrap
from certwright.config import Settings
from certwright.domain.durations import Duration
from certwright.services.context import Runtime
from cryptography import x509

from tests.conftest import ApiClient, Aws, Clock, leaf_body, root_ca_body, sub_ca_body

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

MARGIN = timedelta(seconds=300)
SECOND = timedelta(seconds=1)


def validity(answer: dict[str, Any]) -> tuple[datetime, datetime]:
    v = answer["currentVersion"]["validity"]
    return datetime.fromisoformat(v["notBefore"]), datetime.fromisoformat(v["notAfter"])


def pem_validity(pem: str) -> tuple[datetime, datetime]:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return certificate.not_valid_before_utc, certificate.not_valid_after_utc


def created(api: ApiClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.post(path, body)
    assert answer.status == 201, answer.body
    result: dict[str, Any] = answer.body
    return result


def test_the_template_default_backdate_is_five_minutes(aws: Aws) -> None:
    assert aws.settings.not_before_backdate == MARGIN
    env = {"CERTWRIGHT_TABLE": "t", "CERTWRIGHT_IDEMPOTENCY_TABLE": "i", "CERTWRIGHT_KEY_ENCRYPTION_KEY_ID": "k"}
    assert Settings.from_env(env).not_before_backdate_seconds == 300
    assert Settings.from_env(env | {"CERTWRIGHT_NOT_BEFORE_BACKDATE_SECONDS": "0"}).not_before_backdate_seconds == 0
    for bad in ("-1", "5m", "86401", ""):
        with pytest.raises(RuntimeError, match="CERTWRIGHT_NOT_BEFORE_BACKDATE_SECONDS"):
            Settings.from_env(env | {"CERTWRIGHT_NOT_BEFORE_BACKDATE_SECONDS": bad})


def test_every_certificate_starts_the_margin_before_its_issue_time(api: ApiClient, clock: Clock) -> None:
    issued = clock()
    root = created(api, "/certificate-authorities", root_ca_body())
    issuing = created(api, "/certificate-authorities", sub_ca_body(root["id"]))
    leaf = created(api, "/certificates", leaf_body(issuing["id"], validityDuration="P30D"))
    for answer, length in ((root, Duration.parse("P10Y")), (issuing, Duration.parse("P5Y"))):
        not_before, not_after = validity(answer)
        assert not_before == issued - MARGIN
        assert not_after == length.after(issued) - SECOND, "the validity asked for counts from the issue time"
        pem = api.get(f"/certificate-authorities/{answer['id']}/bundle").body["certificatePem"]
        assert pem_validity(pem) == (not_before, not_after)
    bundle = api.get(f"/certificates/{leaf['id']}/bundle").body
    not_before, not_after = pem_validity(bundle["certificatePem"])
    assert (not_before, not_after) == (issued - MARGIN, issued + timedelta(days=30) - SECOND)
    assert validity(leaf) == (not_before, not_after), "the API shows what the certificate says"


def test_a_subordinate_issued_a_minute_after_an_unbackdated_root_starts_with_it(
    aws: Aws, api: ApiClient, clock: Clock, container: bootstrap.Container
) -> None:
    """A root made before backdating (margin 0) bounds what it signs a minute later with a 5-minute margin."""
    unbackdated = bootstrap.build(
        replace(aws.settings, not_before_backdate_seconds=0), session=aws.session, runtime=Runtime(clock=clock)
    )
    bootstrap.install(unbackdated)
    root = created(api, "/certificate-authorities", root_ca_body())
    bootstrap.install(container)
    assert validity(root)[0] == clock()

    clock.advance(minutes=1)
    issuing = created(api, "/certificate-authorities", sub_ca_body(root["id"]))
    assert validity(issuing)[0] == validity(root)[0], "clamped to the root's notBefore, not 4 minutes before it"
    clock.advance(minutes=1)
    leaf = created(api, "/certificates", leaf_body(issuing["id"]))
    assert validity(leaf)[0] == validity(issuing)[0]
    renewed = api.post(f"/certificate-authorities/{issuing['id']}/versions", {})
    assert renewed.status == 201, renewed.body
    assert validity(renewed.body)[0] == validity(root)[0]


def test_the_backdate_does_not_count_against_validity_rules(api: ApiClient, clock: Clock) -> None:
    """P30D under a P30D leaf rule and P3Y under a P3Y subordinate rule pass: rules count from the issue time."""
    root = created(
        api, "/certificate-authorities", root_ca_body(rules={"certificateAuthorityMaxValidityDuration": "P3Y"})
    )
    issuing = created(
        api,
        "/certificate-authorities",
        sub_ca_body(root["id"], validityDuration="P3Y", rules={"leafCertificateMaxValidityDuration": "P30D"}),
    )
    created(api, "/certificates", leaf_body(issuing["id"], validityDuration="P30D"))
    over = api.post("/certificates", leaf_body(issuing["id"], validityDuration="P30DT1S"))
    assert (over.status, over.body["code"]) == (422, "ValidityExceedsCaRule")


def test_renewal_counts_from_the_issue_time_not_the_backdated_not_before(
    api: ApiClient, clock: Clock, container: bootstrap.Container
) -> None:
    root = created(api, "/certificate-authorities", root_ca_body())
    body = leaf_body(
        root["id"], validityDuration="PT10M", renewalRule={"renewalInterval": "PT1M", "advanceRenewalPeriod": "PT5M"}
    )
    leaf = created(api, "/certificates", body)
    assert validity(leaf)[0] == clock() - MARGIN
    assert container.certificates.get(leaf["id"]).next_renewal_at == clock() + timedelta(minutes=1)
    assert container.sweep.run()["renewed"] == 0, "not due at once although notBefore + 1 minute has passed"
    # A promoted version is scheduled from its own issue time too.
    clock.advance(seconds=30)
    pending = api.post(f"/certificates/{leaf['id']}/versions", {"stage": "PENDING"})
    assert pending.status == 201, pending.body
    clock.advance(seconds=10)
    promoted = api.post(f"/certificates/{leaf['id']}/versions/2/actions/promote", {})
    assert promoted.status == 200, promoted.body
    assert container.certificates.get(leaf["id"]).next_renewal_at == clock() - timedelta(seconds=10) + timedelta(
        minutes=1
    )


def test_a_subordinate_without_a_validity_fits_inside_its_issuer(api: ApiClient, clock: Clock) -> None:
    """The README tour: a P10Y root, then a subordinate a minute later with nothing said about validity."""
    root = created(api, "/certificate-authorities", root_ca_body())
    clock.advance(minutes=1)
    body = sub_ca_body(root["id"])
    del body["validityDuration"]
    issuing = created(api, "/certificate-authorities", body)
    assert validity(issuing)[1] == validity(root)[1]
    # One level further down the same holds, and a CA renewal without a validity fits too.
    clock.advance(minutes=1)
    deeper = created(api, "/certificate-authorities", {**body, "issuerCertificateAuthorityId": issuing["id"]})
    assert validity(deeper)[1] == validity(issuing)[1]
    renewed = api.post(f"/certificate-authorities/{deeper['id']}/versions", {})
    assert renewed.status == 201, renewed.body
    assert validity(renewed.body)[1] == validity(issuing)[1]
    # Said explicitly, too long is still refused.
    refused = api.post("/certificate-authorities", {**body, "validityDuration": "P10Y"})
    assert (refused.status, refused.body["code"]) == (422, "ValidityExceedsIssuer")


def test_a_subordinate_without_a_validity_follows_its_issuers_rule(api: ApiClient, clock: Clock) -> None:
    root = created(
        api, "/certificate-authorities", root_ca_body(rules={"certificateAuthorityMaxValidityDuration": "P2Y"})
    )
    body = sub_ca_body(root["id"])
    del body["validityDuration"]
    issuing = created(api, "/certificate-authorities", body)
    assert validity(issuing)[1] == Duration.parse("P2Y").after(clock()) - SECOND
    root_default = created(
        api, "/certificate-authorities", {k: v for k, v in root_ca_body().items() if k != "validityDuration"}
    )
    assert validity(root_default)[1] == Duration.parse("P10Y").after(clock()) - SECOND
