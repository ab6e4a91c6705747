"""Lambda entry point of deployment: new or re-staged versions converge on every association; a schedule retries.

Bus events (CertificateVersionCreated / StageChanged) bring every association of the certificate to its
CURRENT version; the scheduled event retries associations whose deployment failed or was interrupted.
"""

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
    if envelope.detail_type == SCHEDULED:
        report = container().deployment.retry_due(
            has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS
        )
        logger.info("deployment retries finished", extra=report)
        return dict(report)
    return container().deployment_events.on_version_event(from_detail(envelope.detail_type, envelope.detail))
