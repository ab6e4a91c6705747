"""The shared table helper every DynamoDB adapter stands on: error translation, transactions, conditional rows,
consistent reads and page tokens. Each aggregate's adapter (dynamodb_authorities, dynamodb_certificates, ...)
subclasses TableAdapter and writes only its own rows.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters import dynamodb_items as items
from certwright.adapters.aws_errors import translate
from certwright.adapters.dynamodb_models import Row
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import LifecycleState
from certwright.errors import CertwrightError, ConflictError, DependencyError, InvalidInputError

# Partitions of the sparse RenewalDue index: certificates the sweep must visit, deployments to retry.
SWEEP_PARTITION = "SWEEP"
DEPLOY_RETRY_PARTITION = "DEPLOY_RETRY"
# ... and CAs, certificates and versions pending deletion, by time of deletion (adapters/dynamodb_deletion.py).
DELETION_PARTITION = "DELETION"
# ... and reserved versions not yet published, by when the repair pass may act on them (adapters/dynamodb_repair.py).
IN_FLIGHT_PARTITION = "IN_FLIGHT"
# A page token is a base64 DynamoDB key of four short strings (about 300 characters); longer ones are refused.
MAX_PAGE_TOKEN = 2048


def translate_pynamo(err: PynamoDBException, action: str) -> CertwrightError:
    cause = err.cause
    if isinstance(cause, Exception):
        return translate(cause, action)
    return DependencyError(f"{action} failed")


@contextmanager
def errors(action: str) -> Iterator[None]:
    """Translate PynamoDB's errors into Certwright's: a failed condition is ConflictError(ConcurrentModification),
    throttling TransientError, anything else DependencyError."""
    try:
        yield
    except TransactWriteError as err:
        reasons = [r.code for r in (err.cancellation_reasons or []) if r is not None and r.code]
        if "ConditionalCheckFailed" in reasons:
            raise ConflictError(
                f"{action}: the resource changed concurrently or already exists; retry",
                code="ConcurrentModification",
            ) from err
        raise translate_pynamo(err, action) from err
    except PynamoDBException as err:
        raise translate_pynamo(err, action) from err


def conflict_or_translated(err: ClientError | BotoCoreError, action: str) -> CertwrightError:
    """What `errors` makes of a low-level call's failure (dynamodb_items): a failed condition anywhere in a
    transaction is ConflictError(ConcurrentModification), the rest as aws_errors.translate says."""
    if isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") == "TransactionCanceledException":
        reasons = [r.get("Code") for r in err.response.get("CancellationReasons", []) if r and r.get("Code")]
        if "ConditionalCheckFailed" in reasons:
            return ConflictError(
                f"{action}: the resource changed concurrently or already exists; retry",
                code="ConcurrentModification",
            )
    return translate(err, action)


def versioned(row: Row, row_version: int) -> Row:
    """Carry a stored row's version, so the write is conditional on it; a new row has none."""
    if row_version:
        row.row_version = row_version
    return row


def version_sk(number: int) -> str:
    return f"V#{number:08d}"


def deletion_index(row: Row, state: LifecycleState, deletion_time: datetime | None) -> Row:
    """Put a row pending deletion into the DELETION partition, keyed by its time of deletion."""
    if state is LifecycleState.PENDING_DELETION and deletion_time is not None:
        row.renewal_pk, row.renewal_at = DELETION_PARTITION, codec.iso(deletion_time)
    return row


def with_deletion_index(
    attributes: dict[str, Any], state: LifecycleState, deletion_time: datetime | None
) -> dict[str, Any]:
    """deletion_index for a row's attributes (dynamodb_items)."""
    if state is LifecycleState.PENDING_DELETION and deletion_time is not None:
        return {**attributes, "renewal_pk": DELETION_PARTITION, "renewal_at": codec.iso(deletion_time)}
    return attributes


def audit_keys(entry: AuditRecord) -> tuple[str, str]:
    """An audit record's new row key: its resource, then its time and a random suffix."""
    return f"AUDIT#{entry.resource_id}", f"{codec.iso(entry.at)}#{uuid.uuid4().hex[:12]}"


def audit_row(model: type[Row], entry: AuditRecord) -> Row:
    return model(*audit_keys(entry), kind="AUDIT", data=codec.audit_to_data(entry))


def audit_item(entry: AuditRecord) -> dict[str, Any]:
    """audit_row as a low-level item (dynamodb_items)."""
    return items.item(*audit_keys(entry), kind="AUDIT", data=codec.audit_to_data(entry))


def page_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode()


def start_key(token: str | None, fixed: dict[str, str], free: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The start key a page token carries: only a key of this very listing, else 400 InvalidPageToken.

    A key is `pk`, `sk` and the listing's index attributes, each a string; `fixed` names the attributes
    whose value the listing decides (its partition), `free` the others (its sort key). Anything else,
    or a key of another listing, would reach DynamoDB as a ValidationException (a 5xx) or page wrongly.
    """
    if not token:
        return None
    invalid = InvalidInputError("page token is not valid", code="InvalidPageToken")
    if len(token) > MAX_PAGE_TOKEN:
        raise invalid
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, UnicodeError, RecursionError) as err:
        raise invalid from err
    names = {"pk", "sk", *fixed, *free}
    if not isinstance(key, dict) or set(key) != names:
        raise invalid
    for value in key.values():
        if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str):
            raise invalid
    if any(key[name]["S"] != expected for name, expected in fixed.items()):
        raise InvalidInputError("page token does not belong to this listing", code="InvalidPageToken")
    return key


class TableAdapter:
    """Base of the table's adapters: the row model, the connection and the plumbing they share."""

    def __init__(self, model: type[Row], connection: Connection) -> None:
        self._row = model
        self._connection = connection

    def _errors(self, action: str) -> AbstractContextManager[None]:
        return errors(action)

    def _transaction(self) -> TransactWrite:
        return TransactWrite(connection=self._connection)

    def _audit_row(self, entry: AuditRecord) -> Row:
        return audit_row(self._row, entry)

    def _get(self, pk: str, sk: str) -> Row | None:
        """One row, strongly consistent, or None."""
        with errors("read"):
            try:
                return self._row.get(pk, sk, consistent_read=True)
            except DoesNotExist:
                return None

    @property
    def _table_name(self) -> str:
        return str(self._row.Meta.table_name)

    def _transact(
        self, action: str, entries: list[dict[str, Any]], checks: dict[int, CertwrightError] | None = None
    ) -> None:
        """One TransactWriteItems of low-level entries (dynamodb_items) on the connection's client; `checks`
        names the error to raise when the condition of the entry at that index is what failed."""
        try:
            self._connection.client.transact_write_items(TransactItems=entries)
        except ClientError as err:
            reasons = err.response.get("CancellationReasons") or []
            for index, error in (checks or {}).items():
                if index < len(reasons) and (reasons[index] or {}).get("Code") == "ConditionalCheckFailed":
                    raise error from err
            raise conflict_or_translated(err, action) from err
        except BotoCoreError as err:
            raise conflict_or_translated(err, action) from err

    def _get_data(self, pk: str, sk: str) -> tuple[dict[str, Any], int] | None:
        """One row's `data` and `row_version`, strongly consistent, or None; without building a Row."""
        try:
            answer = self._connection.client.get_item(
                TableName=self._table_name, Key=items.key(pk, sk), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "read") from err
        found = answer.get("Item")
        return None if found is None else items.data_of(found)

    _page_token = staticmethod(page_token)
    _start_key = staticmethod(start_key)
