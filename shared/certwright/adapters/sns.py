"""SNS: publish alerts to the alert topic, with message attributes subscribers can filter on."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate
from certwright.domain.alerts import Alert
from certwright.errors import DependencyError


class SnsAlertPublisher:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic = topic_arn

    def publish(self, alert: Alert) -> str:
        """Publish `alert`; returns the SNS message id. Failures raise, so the event is delivered again."""
        if not self._topic:
            raise DependencyError("no alert topic is configured (CERTWRIGHT_ALERT_TOPIC)", code="AlertTopicMissing")
        attributes = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in (
                ("eventType", alert.event_type),
                ("resourceId", alert.resource_id),
                *alert.extra_attributes,
            )
            if value
        }
        try:
            answer = self._sns.publish(
                TopicArn=self._topic, Subject=alert.subject, Message=alert.message, MessageAttributes=attributes
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "SNS Publish") from err
        return str(answer.get("MessageId", ""))
