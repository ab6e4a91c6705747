"""Lambda entry point of CRL publishing: revocations and new CAs from the bus, and the refresh schedule."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
SAFETY_MARGIN_MS = 30_000
SCHEDULED = "Scheduled Event"


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.bootstrap import container
    from certwright.events import from_detail

    envelope = EventBridgeEvent(event)
    publisher = container().crl_publisher
    if envelope.detail_type == SCHEDULED:
        report = publisher.publish_due(has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS)
    else:
        report = publisher.on_event(from_detail(envelope.detail_type, envelope.detail))
    logger.info("CRL publishing finished", extra=report.as_dict())
    return report.as_dict()
