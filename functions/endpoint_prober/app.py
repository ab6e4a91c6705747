"""Lambda entry point of the scheduled endpoint prober: probe every association with an endpoint, in the time left."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
SAFETY_MARGIN_MS = 15_000


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.bootstrap import container

    report = container().probes.run(has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS)
    logger.info("probes finished", extra=report)
    return report
