"""Lambda entry point of the scheduled renewal sweep: renew what is due, raise alerts, stop within the time left."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
SAFETY_MARGIN_MS = 30_000


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.bootstrap import container

    def has_time() -> bool:
        return context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS

    services = container()
    report = services.sweep.run(has_time=has_time)
    report["deletion"] = services.deletion.run(has_time=has_time)
    logger.info("sweep finished", extra=report)
    return report
