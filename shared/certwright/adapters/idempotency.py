"""Create calls with an Idempotency-Key: Powertools idempotency on its own DynamoDB table, scoped per caller."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from certwright.errors import ConflictError, InProgressError, InvalidInputError

MAX_KEY_LENGTH = 255
MAX_RETRY_AFTER = 900  # Lambda's longest timeout


class IdempotentRequests:
    def __init__(self, table_name: str, dynamodb_client: Any, expires_after_seconds: int = 24 * 3600) -> None:
        self._table_name = table_name
        self._client = dynamodb_client
        # Made on the first request with a key: Powertools reads the client (its events) when the layer is made,
        # and the container's clients are made on first use (bootstrap), so a request without a key builds none.
        self._layer: DynamoDBPersistenceLayer | None = None
        self._config = IdempotencyConfig(
            event_key_jmespath="[caller, operation, key]",
            payload_validation_jmespath="body",
            expires_after_seconds=expires_after_seconds,
            raise_on_no_idempotency_key=True,
        )

    def bind_invocation(self, lambda_context: LambdaContext | None) -> None:
        """Tie in-progress records to this invocation's deadline, so a request that timed out can be retried.

        Without it an in-progress record outlives a crashed invocation for `expires_after_seconds`, and every
        retry with the same key is refused as still in progress.
        """
        self._config.lambda_context = lambda_context  # None (tests, local runtime) clears the last invocation

    def run(
        self,
        *,
        caller: str,
        operation: str,
        key: str | None,
        body: dict[str, Any],
        action: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run `action` once per (caller, operation, key); a repeat returns the first answer."""
        if key is None:
            return action()
        if not key or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
            raise InvalidInputError(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")

        @idempotent_function(data_keyword_argument="request", persistence_store=self._store(), config=self._config)
        def once(request: dict[str, Any]) -> dict[str, Any]:
            return action()

        try:
            return once(request={"caller": caller, "operation": operation, "key": key, "body": body})  # type: ignore[no-any-return]
        except IdempotencyValidationError as err:
            raise ConflictError(
                "this Idempotency-Key was used with a different request body", code="IdempotencyKeyReused"
            ) from err
        except IdempotencyAlreadyInProgressError as err:
            # An attempt that crashed holds the key until its invocation's deadline, at most our own from now.
            raise InProgressError(
                "a request with this Idempotency-Key is still in progress (or stopped and not yet expired); "
                "retry after the time given in Retry-After",
                retry_after_seconds=self._retry_after(),
            ) from err

    def _store(self) -> DynamoDBPersistenceLayer:
        if self._layer is None:
            self._layer = DynamoDBPersistenceLayer(table_name=self._table_name, boto3_client=self._client)
        return self._layer

    def _retry_after(self) -> int:
        context = self._config.lambda_context
        if context is None:
            return 1
        return max(1, min(MAX_RETRY_AFTER, math.ceil(context.get_remaining_time_in_millis() / 1000)))
