"""Per-CA crlSettings through the API on the embedded AWS: disabled CRLs, custom URLs with the CA version, validity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from certwright import bootstrap
from cryptography import x509

from infra import template_model
from tests.conftest import ApiClient, Aws, leaf_body, root_ca_body, sub_ca_body
from tests.crl.conftest import Bucket
from tests.lifecycle.handlers import LambdaContext, eventbridge_envelope, load_function
from tests.lifecycle.table_stream import TableStream

CUSTOM = "https://example.internal/crl/{caVersion}.crl"


def crl_publisher_detail_types() -> set[str]:
    """The detail-types the CRL publisher's EventBridge rules take (template.yaml)."""
    function = template_model.load().function("CrlPublisherFunction")
    rules = [e for e in function.events if isinstance(e, template_model.EventBridgeRuleEvent)]
    return {detail_type for rule in rules for detail_type in rule.pattern.get("detail-type", [])}


@pytest.fixture
def deliver(aws: Aws, container: bootstrap.Container) -> Callable[[], list[str]]:
    """Hands what the table's stream holds since the last call, made into events by the outbox (through the table's
    codec), to the CRL publisher's real handler, as the stream publisher and the template's rule would; returns
    the detail-types delivered."""
    stream, types, handler = TableStream(aws), crl_publisher_detail_types(), load_function("crl_publisher")
    stream.skip()

    def run() -> list[str]:
        events = [e for record in stream.read() for e in record.events() if e.detail_type in types]
        for event in events:
            handler.lambda_handler(eventbridge_envelope(event), LambdaContext())
        return [e.detail_type for e in events]

    return run


def create_ca(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.post("/certificate-authorities", body)
    assert answer.status == 201, answer.body
    return dict(answer.body)


def leaf_cdp(api: ApiClient, ca_id: str) -> list[str] | None:
    created = api.post("/certificates", leaf_body(ca_id))
    assert created.status == 201, created.body
    pem = api.get(f"/certificates/{created.body['id']}/bundle").body["certificatePem"]
    return cdp_of(pem)


def cdp_of(pem: str) -> list[str] | None:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return None
    return [name.value for point in points for name in point.full_name or ()]


def test_disabled_crls_are_not_published_and_not_named_in_what_the_ca_issues(
    api: ApiClient, container: bootstrap.Container, bucket: Bucket
) -> None:
    ca = create_ca(api, root_ca_body(crlSettings={"enabled": False, "customFormattedUrls": [CUSTOM]}))
    assert ca["crlSettings"]["enabled"] is False
    assert leaf_cdp(api, ca["id"]) is None  # neither the bucket URL nor the custom one

    report = container.crl_publisher.publish(ca["id"])
    assert not report.published and not report.failed
    assert not container.crl_publisher.publish_due().published
    with pytest.raises(ClientError):
        bucket.get(f"crl/{ca['id']}/0.crl")
    assert bucket.get(f"ca/{ca['id']}.cer")[0]  # the caIssuers target is still served

    enabled = create_ca(api, root_ca_body(name="other"))
    assert enabled["crlSettings"] == {"enabled": True, "validityDuration": None, "customFormattedUrls": []}
    assert leaf_cdp(api, enabled["id"]) == [f"http://pki.certwright.test/crl/{enabled['id']}/0.crl"]


def test_custom_urls_follow_the_bucket_url_with_the_ca_version_filled_in(api: ApiClient) -> None:
    urls = [CUSTOM, "http://ldap-gw.example.internal/{caId}/v{}.crl"]
    ca = create_ca(api, root_ca_body(crlSettings={"customFormattedUrls": urls}))
    ca_id = ca["id"]
    bucket_url = f"http://pki.certwright.test/crl/{ca_id}/0.crl"
    assert leaf_cdp(api, ca_id) == [
        bucket_url,
        "https://example.internal/crl/1.crl",
        f"http://ldap-gw.example.internal/{ca_id}/v1.crl",
    ]
    sub = create_ca(api, sub_ca_body(ca_id))
    sub_pem = api.get(f"/certificate-authorities/{sub['id']}/bundle").body["certificatePem"]
    assert "https://example.internal/crl/1.crl" in (cdp_of(sub_pem) or [])

    renewed = api.post(f"/certificate-authorities/{ca_id}/versions", {})
    assert renewed.status in (200, 201), renewed.body
    assert "https://example.internal/crl/2.crl" in (leaf_cdp(api, ca_id) or [])


def test_the_crl_validity_of_the_ca_sets_next_update(
    api: ApiClient, container: bootstrap.Container, bucket: Bucket
) -> None:
    ca = create_ca(api, root_ca_body(crlSettings={"validityDuration": "PT6H"}))
    default = create_ca(api, root_ca_body(name="default"))
    container.crl_publisher.publish(ca["id"])
    container.crl_publisher.publish(default["id"])
    crl = bucket.crl(ca["id"])
    assert crl.next_update_utc is not None and crl.last_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == timedelta(hours=6)
    other = bucket.crl(default["id"])
    assert other.next_update_utc is not None and other.last_update_utc is not None
    assert other.next_update_utc - other.last_update_utc == container.crl_publisher.policy.validity


@pytest.mark.parametrize(
    "settings",
    [
        {"customFormattedUrls": ["https://example.internal/crl/{version}.crl"]},
        {"customFormattedUrls": ["ftp://example.internal/crl.crl"]},
        {"customFormattedUrls": ["https:///crl.crl"]},
        {"customFormattedUrls": ["https://example.internal/a b.crl"]},
        {"customFormattedUrls": [CUSTOM, CUSTOM]},
        {"customFormattedUrls": [f"https://e{i}.internal/c.crl" for i in range(6)]},
        {"validityDuration": "PT10M"},
        {"validityDuration": "P1Y"},
        {"validityDuration": "P91D"},
    ],
)
def test_bad_crl_settings_are_refused_before_anything_is_created(
    api: ApiClient, aws: Aws, settings: dict[str, Any]
) -> None:
    kms = aws.session.client("kms")
    before = len(kms.list_keys()["Keys"])
    answer = api.post("/certificate-authorities", root_ca_body(crlSettings=settings))
    assert answer.status == 400, answer.body
    assert len(kms.list_keys()["Keys"]) == before
    assert api.get("/certificate-authorities").body["items"] == []


# -- PATCH crlSettings -------------------------------------------------------------------------------------------


def patch(api: ApiClient, ca_id: str, settings: dict[str, Any]) -> Any:
    return api.call("PATCH", f"/certificate-authorities/{ca_id}", {"crlSettings": settings})


def test_patched_crl_settings_bind_what_the_ca_signs_next_and_its_next_crl(
    api: ApiClient, container: bootstrap.Container, bucket: Bucket, deliver: Callable[[], list[str]]
) -> None:
    ca = create_ca(api, root_ca_body())
    ca_id = ca["id"]
    bucket_url = f"http://pki.certwright.test/crl/{ca_id}/0.crl"
    assert deliver() == ["CertificateAuthorityCreated"]  # its first CRL
    first = bucket.crl_number(ca_id)
    before = leaf_cdp(api, ca_id)
    assert before == [bucket_url]

    answer = patch(api, ca_id, {"customFormattedUrls": [CUSTOM], "validityDuration": "PT6H"})
    assert answer.status == 200, answer.body
    assert answer.body["crlSettings"] == {"enabled": True, "validityDuration": "PT6H", "customFormattedUrls": [CUSTOM]}
    assert leaf_cdp(api, ca_id) == [bucket_url, "https://example.internal/crl/1.crl"]

    # The change is announced; the CRL publisher makes the CA's CRL due: the next scheduled run rebuilds it with
    # the new validity (not the API handler: a PATCH whose process dies after its write still gets there).
    assert not container.crl_publisher.publish_due().published, "not due before the event"
    assert deliver() == ["CertificateAuthorityCrlSettingsChanged"]
    assert container.crl_publisher.publish_due().published
    assert bucket.crl_number(ca_id) > first
    crl = bucket.crl(ca_id)
    assert crl.next_update_utc is not None and crl.last_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == timedelta(hours=6)

    # Only what the PATCH names changes; a null validity returns to the service's.
    kept = patch(api, ca_id, {"validityDuration": None})
    assert kept.body["crlSettings"] == {"enabled": True, "validityDuration": None, "customFormattedUrls": [CUSTOM]}
    assert api.get(f"/certificate-authorities/{ca_id}").body["crlSettings"] == kept.body["crlSettings"]


def test_crls_disabled_by_patch_stop_and_enabled_again_are_published_on_the_next_run(
    api: ApiClient, container: bootstrap.Container, bucket: Bucket, deliver: Callable[[], list[str]]
) -> None:
    ca_id = create_ca(api, root_ca_body())["id"]
    assert deliver() == ["CertificateAuthorityCreated"]
    first = bucket.crl_number(ca_id)

    off = patch(api, ca_id, {"enabled": False})
    assert off.status == 200 and off.body["crlSettings"]["enabled"] is False
    assert deliver() == ["CertificateAuthorityCrlSettingsChanged"]
    assert leaf_cdp(api, ca_id) is None
    assert not container.crl_publisher.publish_due().published
    assert not container.crl_publisher.publish_due().published
    assert bucket.crl_number(ca_id) == first

    on = patch(api, ca_id, {"enabled": True})
    assert on.status == 200 and on.body["crlSettings"]["enabled"] is True
    assert deliver() == ["CertificateAuthorityCrlSettingsChanged"]
    assert container.crl_publisher.publish_due().published
    assert bucket.crl_number(ca_id) > first
    assert leaf_cdp(api, ca_id) == [f"http://pki.certwright.test/crl/{ca_id}/0.crl"]


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"customFormattedUrls": ["ftp://example.internal/crl.crl"]}, "InvalidCrlSettings"),
        ({"customFormattedUrls": [CUSTOM, CUSTOM]}, "InvalidCrlSettings"),
        ({"validityDuration": "P91D"}, "InvalidCrlSettings"),
        ({"validityDuration": "PT10M"}, "InvalidCrlSettings"),
        ({"enabled": "yes"}, "InvalidParameter"),
        ({"unknown": True}, "UnknownField"),
    ],
)
def test_bad_patched_crl_settings_are_refused_with_no_change(
    api: ApiClient,
    container: bootstrap.Container,
    bucket: Bucket,
    deliver: Callable[[], list[str]],
    settings: dict[str, Any],
    code: str,
) -> None:
    ca = create_ca(api, root_ca_body(crlSettings={"validityDuration": "PT6H"}))
    assert deliver() == ["CertificateAuthorityCreated"]  # its first CRL
    first = bucket.crl_number(ca["id"])
    answer = patch(api, ca["id"], settings)
    assert (answer.status, answer.body["code"]) == (400, code), answer.body
    assert deliver() == [], "nothing written, nothing announced"
    assert api.get(f"/certificate-authorities/{ca['id']}").body["crlSettings"] == ca["crlSettings"]
    assert not container.crl_publisher.publish_due().published  # nor made due
    assert bucket.crl_number(ca["id"]) == first
