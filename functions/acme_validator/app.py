"""Lambda entry point of ACME challenge validation: AcmeChallengeRequested from the bus, checked and recorded."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.bootstrap import container
    from certwright.events import AcmeChallengeRequested, from_detail

    envelope = EventBridgeEvent(event)
    requested = from_detail(envelope.detail_type, envelope.detail)
    if not isinstance(requested, AcmeChallengeRequested):
        return {"status": "ignored"}
    # An undecided check raises TransientError: Lambda retries the event (until the challenge's deadline).
    outcome = container().acme_validator.validate(requested.resource_id, requested.challenge_type)
    logger.info("challenge validation finished", extra={"status": outcome.status})
    return {"status": outcome.status}
