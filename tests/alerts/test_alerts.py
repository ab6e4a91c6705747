"""Alerts: each alert event becomes a short message naming the resource, the cause and what to do, delivered
through the SNS alert topic to a subscriber (an SQS queue in the embedded AWS), by the alert_notifier handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.alerts import ALERT_TYPES, MAX_SUBJECT, alert_for, clean, duration_text, humanize
from certwright.errors import CertwrightError
from certwright.events import (
    AssociationSuspended,
    CertificateExpired,
    CertificateExpiring,
    CertificateVersionCreated,
    CrlStale,
    DeploymentFailed,
    DomainEvent,
    EndpointHealthy,
    EndpointUnhealthy,
    RenewalFailed,
    RenewalOverdue,
)
from certwright.services.context import Runtime

from tests.conftest import Aws, Clock
from tests.lifecycle.handlers import LambdaContext, eventbridge_envelope, load_function

CERT = "cert-0123456789abcdef0123"
CA = "ca-0123456789abcdef0123"
ASSOC = "assoc-0123456789abcdef01"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2"
PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----"

EXAMPLES: dict[str, DomainEvent] = {
    "CertificateExpiring": CertificateExpiring(
        "e-1", CERT, 4, "web-prod", 2, "2026-04-01T00:00:00+00:00", "P7D", renews_itself=False
    ),
    "RenewalFailed": RenewalFailed("e-2", CERT, 5, "web-prod", 3, "ServiceUnavailable: KMS throttled"),
    "RenewalOverdue": RenewalOverdue("e-3", CERT, 6, "web-prod", "2026-03-01T12:00:00+00:00", 2),
    "DeploymentFailed": DeploymentFailed(
        "e-4", ASSOC, 7, CERT, "web-prod", LISTENER, 3, 2, "CertificateNotFound: listener refused the certificate"
    ),
    "CrlStale": CrlStale("e-5", CA, 8, "issuing", 0, "2026-03-02T00:00:00+00:00", "AccessDenied on s3:PutObject"),
    "AssociationSuspended": AssociationSuspended(
        "e-6", ASSOC, 9, CERT, "web-prod", LISTENER, "LOAD_BALANCER_LISTENER", f"{LISTENER} does not consent"
    ),
    "CertificateExpired": CertificateExpired(
        "e-7", CERT, 9, "web-prod", 2, "2026-04-01T00:00:00+00:00", renews_itself=False
    ),
    "EndpointUnhealthy": EndpointUnhealthy(
        "e-8",
        ASSOC,
        10,
        certificate_id=CERT,
        certificate_name="web-prod",
        associated_resource_id=LISTENER,
        endpoint="10.0.0.7:443",
        served_serial="ab12",
        expected_serial="cd34",
        findings=("DEPLOYMENT_DRIFT: serving v1, CURRENT is v2: deployment drift",),
    ),
    "EndpointHealthy": EndpointHealthy(
        "e-9",
        ASSOC,
        11,
        certificate_id=CERT,
        certificate_name="web-prod",
        associated_resource_id=LISTENER,
        endpoint="10.0.0.7:443",
        served_serial="cd34",
    ),
}


# -- formatting (pure) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("detail_type", sorted(EXAMPLES))
def test_every_alert_names_the_resource_and_its_id_and_says_what_to_do(detail_type: str) -> None:
    event = EXAMPLES[detail_type]
    alert = alert_for(event)
    assert alert is not None and alert.event_type == detail_type
    name, resource = ("issuing", CA) if detail_type == "CrlStale" else ("web-prod", CERT)
    assert f"'{name}' ({resource})" in alert.message
    assert alert.resource_id == resource
    assert name in alert.subject and alert.subject.startswith("Certwright: ")
    assert len(alert.subject) <= MAX_SUBJECT and alert.subject.isascii() and alert.subject.isprintable()
    assert "check" in alert.message.lower() or "POST /certificates" in alert.message  # an action, not just a fact
    assert len(alert.message) < 1000
    assert set(ALERT_TYPES) == set(EXAMPLES)


def test_the_causes_and_actions_read_as_people_need_them() -> None:
    texts = {t: alert_for(e).message for t, e in EXAMPLES.items()}  # type: ignore[union-attr]
    assert texts["RenewalFailed"].startswith(
        f"Renewal of certificate 'web-prod' ({CERT}) failed 3 times: ServiceUnavailable: KMS throttled. "
        "Certwright retries in 4 min; if it keeps failing check the issuing CA"
    )
    assert "expires within 7 days" in texts["CertificateExpiring"]
    assert f"POST /certificates/{CERT}/versions" in texts["CertificateExpiring"]
    assert "2026-04-01T00:00:00+00:00" in texts["CertificateExpiring"]
    assert "was due for renewal at 2026-03-01T12:00:00+00:00" in texts["RenewalOverdue"]
    assert "CURRENT is version 2" in texts["RenewalOverdue"]
    deployment = texts["DeploymentFailed"]
    assert f"version 3 to {LISTENER} failed: CertificateNotFound" in deployment
    assert "still serves version 2" in deployment and ASSOC in deployment
    assert "AccessDenied on s3:PutObject" in texts["CrlStale"] and "valid until 2026-03-02" in texts["CrlStale"]


def test_an_expired_certificate_says_when_it_expired_and_what_to_do() -> None:
    alert = alert_for(EXAMPLES["CertificateExpired"])
    assert alert is not None
    assert alert.subject == "Certwright: certificate 'web-prod' has expired"
    assert alert.message.startswith(
        f"Certificate 'web-prod' ({CERT}) has expired: version 2, its CURRENT version, was valid until "
        "2026-04-01T00:00:00+00:00."
    )
    assert f"issue or import a new version now (POST /certificates/{CERT}/versions)" in alert.message
    renewing = alert_for(replace(EXAMPLES["CertificateExpired"], renews_itself=True))
    assert renewing is not None and "RenewalFailed" in renewing.message and "renew now" in renewing.message


def test_an_expiring_certificate_that_renews_itself_points_at_the_failed_renewal() -> None:
    event = replace(EXAMPLES["CertificateExpiring"], renews_itself=True, threshold="P30D")
    alert = alert_for(event)
    assert alert is not None
    assert "expires within 30 days" in alert.message and "renews itself" in alert.message
    assert "RenewalFailed" in alert.message


def test_no_private_key_pem_or_control_characters_reach_a_message() -> None:
    hostile = RenewalFailed("e-9", CERT, 1, "web\r\nBcc: x\u202e", 1, f"boom {PEM} tail\x00\x1b[31m")
    alert = alert_for(hostile)
    assert alert is not None
    for text in (alert.subject, alert.message):
        assert "BEGIN" not in text and "MIGHAgEA" not in text
        assert not any(ord(c) < 32 or c == "\u202e" for c in text)
    assert "[PEM removed] tail" in alert.message
    assert clean("x" * 1000).endswith("…") and len(clean("x" * 1000)) == 400


def test_long_names_keep_the_subject_within_the_sns_limit() -> None:
    event = replace(EXAMPLES["DeploymentFailed"], certificate_name="é" + "n" * 300)
    alert = alert_for(event)
    assert alert is not None
    assert len(alert.subject) == MAX_SUBJECT and alert.subject.isascii() and alert.subject.endswith("...")


def test_durations_and_backoffs_read_naturally() -> None:
    assert [duration_text(t) for t in ("P30D", "P7D", "PT900S", "PT1H", "P1D", "nonsense")] == [
        "30 days",
        "7 days",
        "15 min",
        "1 hour",
        "1 day",
        "nonsense",
    ]
    from datetime import timedelta

    assert humanize(timedelta(seconds=45)) == "45 s"
    assert humanize(timedelta(minutes=90)) == "90 min"


def test_events_that_are_not_alerts_are_skipped() -> None:
    assert alert_for(CertificateVersionCreated("e", CERT, 1, 1, "ab", ("CURRENT",), "2026")) is None


# -- delivery through SNS to an SQS subscriber -----------------------------------------------------------


def alert_topic(aws: Aws) -> str:
    topics = aws.session.client("sns").list_topics()["Topics"]
    (arn,) = [t["TopicArn"] for t in topics if "certwright-alerts" in t["TopicArn"]]
    return str(arn)


def subscribe_queue(aws: Aws, topic_arn: str) -> str:
    sqs = aws.session.client("sqs")
    url = sqs.create_queue(QueueName="alert-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.session.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return str(url)


def received(aws: Aws, url: str) -> list[dict[str, Any]]:
    sqs = aws.session.client("sqs")
    found: list[dict[str, Any]] = []
    for _ in range(10):  # bounded
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not answer.get("Messages"):
            break
        for message in answer["Messages"]:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@pytest.fixture
def notifier(aws: Aws, clock: Clock) -> Iterator[tuple[Any, str]]:
    """The alert_notifier handler with a container whose settings name the template's alert topic, and a subscriber."""
    topic = alert_topic(aws)
    assert aws.settings.alert_topic_arn == topic  # the template gives every function CERTWRIGHT_ALERT_TOPIC
    bootstrap.install(bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock)))
    url = subscribe_queue(aws, topic)
    yield load_function("alert_notifier").lambda_handler, url
    bootstrap.install(None)


@pytest.mark.parametrize("detail_type", sorted(EXAMPLES))
def test_each_alert_reaches_a_subscriber_of_the_topic(aws: Aws, notifier: tuple[Any, str], detail_type: str) -> None:
    handler, url = notifier
    event = EXAMPLES[detail_type]
    result = handler(eventbridge_envelope(event), LambdaContext("alert-notifier"))
    assert result["sent"] == detail_type

    (message,) = received(aws, url)
    expected = alert_for(event)
    assert expected is not None
    assert message["Type"] == "Notification"
    assert message["Subject"] == expected.subject
    assert message["Message"] == expected.message
    attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
    assert attributes["eventType"] == detail_type
    assert attributes["resourceId"] == (CA if detail_type == "CrlStale" else CERT)


def test_a_renewal_failure_message_names_certificate_cause_and_action(aws: Aws, notifier: tuple[Any, str]) -> None:
    handler, url = notifier
    handler(eventbridge_envelope(EXAMPLES["RenewalFailed"]), LambdaContext("alert-notifier"))
    (message,) = received(aws, url)
    text = message["Message"]
    assert "'web-prod'" in text and CERT in text  # the certificate
    assert "KMS throttled" in text  # the cause
    assert "retries in 4 min" in text and "check the issuing CA" in text  # what happens and what to do


def test_a_redelivered_event_is_sent_once_and_non_alerts_are_skipped(aws: Aws, notifier: tuple[Any, str]) -> None:
    handler, url = notifier
    envelope = eventbridge_envelope(EXAMPLES["RenewalOverdue"])
    first = handler(envelope, LambdaContext("alert-notifier"))
    again = handler(envelope, LambdaContext("alert-notifier"))
    assert again == {"duplicate": "e-3", "messageId": first["messageId"]}
    other = CertificateVersionCreated("e-7", CERT, 1, 1, "ab", ("CURRENT",), "2026-04-01T00:00:00+00:00")
    assert "skipped" in handler(eventbridge_envelope(other), LambdaContext("alert-notifier"))
    assert len(received(aws, url)) == 1


def test_a_failed_publish_raises_so_eventbridge_retries(aws: Aws, clock: Clock) -> None:
    missing = alert_topic(aws) + "-gone"
    settings = replace(aws.settings, alert_topic_arn=missing)
    bootstrap.install(bootstrap.build(settings, session=aws.session, runtime=Runtime(clock=clock)))
    try:
        handler = load_function("alert_notifier").lambda_handler
        envelope = eventbridge_envelope(EXAMPLES["RenewalFailed"])
        with pytest.raises(CertwrightError):
            handler(envelope, LambdaContext("alert-notifier"))
        # Nothing was remembered as sent: the retry publishes.
        bootstrap.install(bootstrap.build(aws.settings, session=aws.session))
        url = subscribe_queue(aws, alert_topic(aws))
        assert handler(envelope, LambdaContext("alert-notifier"))["sent"] == "RenewalFailed"
        assert len(received(aws, url)) == 1
    finally:
        bootstrap.install(None)


def test_without_a_topic_the_notifier_refuses_rather_than_drops(aws: Aws, clock: Clock) -> None:
    settings = replace(aws.settings, alert_topic_arn="")
    bootstrap.install(bootstrap.build(settings, session=aws.session, runtime=Runtime(clock=clock)))
    try:
        with pytest.raises(CertwrightError) as raised:
            bootstrap.container().alerts.notify(EXAMPLES["CrlStale"])
        assert raised.value.code == "AlertTopicMissing"
    finally:
        bootstrap.install(None)
