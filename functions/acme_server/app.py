"""Lambda entry point of the ACME server (RFC 8555): /acme/* requests, authenticated by their JWS, not by IAM."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.api.acme_edge import handle
    from certwright.bootstrap import container

    return handle(event, container())
