"""Lambda entry point for alert events on the bus: each becomes a short message on the SNS alert topic."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.bootstrap import container
    from certwright.events import from_detail

    envelope = EventBridgeEvent(event)
    result = container().alerts.notify(from_detail(envelope.detail_type, envelope.detail))
    logger.info("alert handled", extra=result)
    return result
