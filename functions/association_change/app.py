"""Lambda entry point for association changes (deploy / undeploy) and CA changes (refresh the CA bundles that include it)."""

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
    from certwright.services.ca_bundles import AUTHORITY_EVENTS

    envelope = EventBridgeEvent(event)
    domain_event = from_detail(envelope.detail_type, envelope.detail)
    if isinstance(domain_event, AUTHORITY_EVENTS):
        return container().ca_bundles.on_authority_event(domain_event)
    return container().deployment_events.on_association_event(domain_event)
