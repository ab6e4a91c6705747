"""Teach moto what real AWS does (moto's known gaps); used by tests and the local runtime, never in Lambda.

- KMS Sign with MessageType=DIGEST signs the given digest (moto hashes it again); the digest length must match.
- KMS Sign with MessageType=RAW refuses messages over 4096 bytes, as real KMS does.
- KMS Sign refuses a disabled key (DisabledException), as real KMS does.
- KMS Sign with RSASSA_PSS_* (MessageType=DIGEST) uses a salt as long as the hash, as real KMS does (moto: maximum).
- ELBv2 ModifyListener with Certificates replaces only the default certificate (moto drops the SNI ones too),
  and AddListenerCertificates refuses a certificate ACM does not hold (CertificateNotFound), as ELBv2 does.
- ACM DescribeCertificate reports Serial as colon-separated hex bytes ("0a:1b:..."), as ACM does (moto: decimal).
- DynamoDB serves one request at a time (moto's TransactWriteItems is not safe beside concurrent writes: its rollback
  restored a whole-table copy over writes acknowledged meanwhile), and TransactWriteItems checks every condition
  before it writes anything, so a cancelled transaction changes nothing. moto's own rollback swapped the table for a
  copy, which left every open stream iterator reading a stream nobody writes to any more (the outbox went silent).
- DynamoDB Streams keeps the newest shard iterators only (moto keeps every one a GetRecords ever handed out).
- S3 conditional puts are atomic, as AWS's are (infra/moto_atomic.py).

Speed only (no behaviour change): a symmetric KMS key gets its unused RSA key pair (moto makes one for every key)
only if something asks for it; every botocore session of the process shares one data loader (service models
and endpoint rules are parsed once, not once per session); DynamoDB's item operations answer with their JSON
written directly (moto walks the botocore output shape for every attribute value, most of what a test spends);
and moto's per-request list of a handler's methods is computed once per handler class.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import inspect
import json
import threading
from collections.abc import Callable
from typing import Any

import botocore.loaders
import botocore.session
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from moto.acm import models as acm_models
from moto.core import responses as core_responses
from moto.core import utils as core_utils
from moto.core.exceptions import JsonRESTError
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodb.models.utilities import DynamoJsonEncoder
from moto.dynamodbstreams import models as streams_models
from moto.dynamodbstreams import responses as streams_responses
from moto.elbv2 import models as elbv2_models
from moto.elbv2.exceptions import ELBClientError
from moto.kms import models as kms_models
from moto.kms import responses as kms_responses
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException

from infra import moto_atomic

_DIGEST_MODE: contextvars.ContextVar[bool] = contextvars.ContextVar("certwright_kms_digest", default=False)
_DIGEST_SIZES = {"256": 32, "384": 48, "512": 64}
_installed = False
# Held for every DynamoDB and DynamoDB Streams request: the embedded AWS serves them one at a time.
DYNAMODB_LOCK = threading.RLock()
_TRANSACT_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})
_KEPT_SHARD_ITERATORS = 2048
# DynamoDB operations whose output is items and counts only (no timestamp, no shape-renamed member): their
# answer is the result as JSON, binary values base64-encoded, exactly what moto's shape walk writes for them.
_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "TransactGetItems",
    }
)
_DYNAMODB_JSON = "application/x-amz-json-1.0"


class DisabledException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("DisabledException", message)


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    original_sign: Callable[[Any], str] = kms_responses.KmsResponse.sign

    def sign(self: Any) -> str:
        message_type = self._get_param("MessageType") or "RAW"
        algorithm = self._get_param("SigningAlgorithm") or ""
        message = self._get_param("Message") or ""
        size = len(message.encode() if isinstance(message, str) else message)
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        if key.key_state == "Disabled" or not key.enabled:
            raise DisabledException(f"{key.arn} is disabled.")
        if message_type == "DIGEST":
            expected = _DIGEST_SIZES.get(algorithm[-3:])
            if expected is not None and size != expected:
                raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
        elif size > 4096:
            raise ValidationException("Message must be at most 4096 bytes; use MessageType DIGEST")
        token = _DIGEST_MODE.set(message_type == "DIGEST")
        try:
            return original_sign(self)
        finally:
            _DIGEST_MODE.reset(token)

    kms_responses.KmsResponse.sign = sign  # type: ignore[method-assign]
    _patch_ecdsa()
    _patch_rsa()
    _patch_elbv2()
    _patch_acm()
    _patch_dynamodb()
    _patch_kms_key_generation()
    _share_botocore_loader()
    _answer_item_operations_directly()
    _list_handler_methods_once()
    _query_one_partition()
    moto_atomic.install()


class _DeferredKeyPair:
    """The RSA key pair moto gives a symmetric key (KMS never uses it): generated on first use, if ever."""

    def __init__(self, key_spec: str, generate: Callable[[str], Any]) -> None:
        self._key_spec = key_spec
        self._generate = generate
        self._key: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_key_spec", "_generate", "_key"):
            raise AttributeError(name)  # pickle/copy probe dunders on a half-built instance
        if self._key is None:
            self._key = self._generate(self._key_spec)
        return getattr(self._key, name)

    def __reduce__(self) -> tuple[Any, ...]:
        # Persistence pickles moto's backends: travel as the spec (or the key, once one was made).
        if self._key is not None:
            return _materialized, (self._key,)
        return _DeferredKeyPair, (self._key_spec, self._generate)


def _materialized(key: Any) -> Any:
    return key


def _patch_kms_key_generation() -> None:
    original: Callable[[str], Any] = kms_utils.generate_private_key  # models.py calls it by its imported name
    symmetric = {kms_utils.KeySpec.SYMMETRIC_DEFAULT.value, *kms_utils.KeySpec.hmac_key_specs()}

    def generate_private_key(key_spec: str) -> Any:
        if key_spec not in symmetric:
            return original(key_spec)
        return _DeferredKeyPair(key_spec, original)

    kms_models.generate_private_key = generate_private_key  # type: ignore[attr-defined]


def _share_botocore_loader() -> None:
    # Each botocore Session builds its own Loader and re-reads every service model's JSON (~50 ms per session and
    # service); the tests and the local runtime make a session per test or per function container.
    botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)


def _answer_item_operations_directly() -> None:
    """DynamoDB's item operations: the answer's JSON written as is, without moto's walk of the output shape.

    The walk visits every attribute value of every item through the botocore model (a third of a test's CPU). For
    these operations it adds nothing but leaving out members the output shape lacks and None values: the result is
    already wire-shaped, and binary values are base64-encoded by the encoder. Errors and every other operation keep moto's serializer.
    tests/adapters/test_moto_shims.py compares the two answers.
    """
    result_class = dynamodb_responses.DynamoResult
    original = result_class.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in _ITEM_OPERATIONS or not isinstance(self.result, dict):
            return original(self, context)
        members = context.operation_model.output_shape.members  # moto adds some of its own (ConsumedCapacityUnits)
        answer = {
            key: _without_none(value) for key, value in self.result.items() if key in members and value is not None
        }
        return 200, {"Content-Type": _DYNAMODB_JSON}, json.dumps(answer, cls=DynamoJsonEncoder)

    result_class.execute_result = execute_result  # type: ignore[method-assign]


def _query_one_partition() -> None:
    """A Query reads one partition, not the whole table.

    moto's `Table.query` starts from `all_items()` (every item of the table, sorted) and keeps the partition's: every
    Query costs the table's size, and a test whose table grows (the crash suite, the authorization matrix) went
    quadratic; nearly half of the crash suite's time was there. Here moto's own query runs over candidates instead:
    for the table, the partition's items (moto's own dict of them, keyed by the partition value); for an index, the
    items whose index partition-key attributes hold the queried values (compared raw for strings, as moto would
    for anything else). moto's filtering, sorting, paging and limits then run unchanged on those, so the answer is
    the same (tests/adapters/test_moto_shims.py compares it with moto's for table and index queries).
    """
    table_class = dynamodb_table.Table
    original = table_class.query
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        candidates = _partition_items(
            self, bound.get("index_name"), bound["hash_key"], bound.get("hash_key_conditions")
        )
        if candidates is None:
            return original(self, *args, **kwargs)
        with DYNAMODB_LOCK:  # the instance's all_items is narrowed for this call only
            self.all_items = lambda: candidates
            try:
                return original(self, *args, **kwargs)
            finally:
                del self.all_items

    table_class.query = query  # type: ignore[method-assign]


def _partition_items(table: Any, index_name: str | None, hash_key: Any, conditions: Any) -> list[Any] | None:
    """The items a Query can answer with, a superset of moto's own choice; None = no narrowing (moto reads all)."""
    if not index_name:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    if not conditions:
        return None
    items = [
        item
        for partition in table.items.values()
        for item in (partition.values() if table.range_key_attr else [partition])
    ]
    for name, expected in conditions:
        if expected.type == "S":  # a string's cast value is the string itself
            items = [
                i for i in items if (v := i.attrs.get(name)) is not None and v.type == "S" and v.value == expected.value
            ]
        else:
            items = [i for i in items if (v := i.attrs.get(name)) is not None and v == expected]
    return items


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _list_handler_methods_once() -> None:
    """moto lists a handler class's methods (inspect.getmembers) on every request; a class's methods do not change."""
    listed = functools.lru_cache(maxsize=None)(core_utils.method_names_from_class)
    core_responses.method_names_from_class = listed  # type: ignore[attr-defined]  # responses.py's imported name


def _patch_ecdsa() -> None:
    original = kms_utils.ECDSAPrivateKey.sign

    def sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not _DIGEST_MODE.get():
            return original(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
        hash_algorithm = self._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
        return bytes(self.private_key.sign(message, ec.ECDSA(utils.Prehashed(hash_algorithm))))

    kms_utils.ECDSAPrivateKey.sign = sign  # type: ignore[method-assign]


def _patch_rsa() -> None:
    original = kms_utils.RSAPrivateKey.sign

    def sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not _DIGEST_MODE.get():
            return original(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(signing_algorithm, kms_utils.SigningAlgorithm.rsa_signing_algorithms())
        pad, hash_algorithm = self._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
        if isinstance(pad, padding.PSS):
            # KMS's RSASSA_PSS_* salt is as long as the hash (moto: the maximum length).
            pad = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.DIGEST_LENGTH)
        return bytes(self.private_key.sign(message, pad, utils.Prehashed(hash_algorithm)))

    kms_utils.RSAPrivateKey.sign = sign  # type: ignore[method-assign]


def _patch_elbv2() -> None:
    original_modify = elbv2_models.ELBv2Backend.modify_listener
    original_add = elbv2_models.ELBv2Backend.add_listener_certificates

    def modify_listener(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        listener = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]
        sni = list(listener.certificates[1:]) if listener.certificates else []
        result = original_modify(self, arn, *args, **kwargs)
        default = listener.certificates[0] if listener.certificates else None
        listener.certificates = [c for c in [default, *sni] if c is not None]
        listener.certificates = list(dict.fromkeys(listener.certificates))
        return result

    def add_listener_certificates(self: Any, arn: str, certificates: list[dict[str, Any]]) -> Any:
        for certificate in certificates:
            if not self._certificate_exists(certificate_arn=certificate["CertificateArn"]):
                raise ELBClientError("CertificateNotFound", f"Certificate {certificate['CertificateArn']} not found")
        return original_add(self, arn, certificates)

    elbv2_models.ELBv2Backend.modify_listener = modify_listener  # type: ignore[method-assign]
    elbv2_models.ELBv2Backend.add_listener_certificates = add_listener_certificates  # type: ignore[method-assign]


def _patch_acm() -> None:
    original = acm_models.CertBundle.describe

    def describe(self: Any) -> dict[str, Any]:
        described: dict[str, Any] = original(self)
        serial = f"{self._cert.serial_number:x}"
        serial = serial if len(serial) % 2 == 0 else "0" + serial
        described["Certificate"]["Serial"] = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2))
        return described

    acm_models.CertBundle.describe = describe  # type: ignore[method-assign]


def _patch_dynamodb() -> None:
    for handler in (dynamodb_responses.DynamoHandler, streams_responses.DynamoDBStreamsHandler):
        handler.call_action = _serialized(handler.call_action)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    original_get_records = streams_models.DynamoDBStreamsBackend.get_records

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        answer: dict[str, Any] = original_get_records(self, iterator_arn, limit)
        iterators = self.shard_iterators
        if len(iterators) > 2 * _KEPT_SHARD_ITERATORS:  # the oldest first: a dict keeps insertion order
            for stale in list(iterators)[: len(iterators) - _KEPT_SHARD_ITERATORS]:
                del iterators[stale]
        return answer

    streams_models.DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]


def _serialized(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def serialized(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return call_action(self)

    return serialized


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems as DynamoDB does it: every condition against the state before, then all writes or none.

    Runs under DYNAMODB_LOCK (the request is serialized); a write that fails after others were applied (a validation
    error) puts the touched items back in place and drops their stream records, so table and stream keep their
    identity.
    """
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with DYNAMODB_LOCK:
        planned = _check_transaction(self, transact_items)
        _apply_transaction(self, planned)


_Planned = tuple[str, dict[str, Any], Any, dict[str, Any], Any]


def _check_transaction(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Planned]:
    planned: list[_Planned] = []
    reasons: list[tuple[Any, Any, Any]] = []
    targets: set[tuple[str, str]] = set()
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException()
        original_item: dict[str, Any] | None = None
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in _TRANSACT_OPERATIONS:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = backend.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(table_name), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = backend.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            planned.append((op_type, op, table, key, current))
            reasons.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as err:
            reasons.append(("ConditionalCheckFailed", str(err.message), original_item))
        except Exception as err:  # noqa: BLE001 - as moto: any other failure is this item's cancellation reason
            reasons.append((type(err).__name__, str(err), original_item))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)
    return planned


def _apply_transaction(backend: Any, planned: list[_Planned]) -> None:
    saved = [
        (table, *backend.get_keys_value(table, key), copy.deepcopy(current)) for _, _, table, key, current in planned
    ]
    streams = {
        id(table): (table.stream_shard, len(table.stream_shard.items))
        for _, _, table, _, _ in planned
        if table.stream_shard
    }
    for index, (op_type, op, table, key, _) in enumerate(planned):
        try:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            condition = op.get("ConditionExpression")
            if op_type == "Put":
                backend.put_item(
                    table.name,
                    op["Item"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table.name,
                    key,
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table.name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
        except Exception as err:
            for table_, hash_key, range_key, item in reversed(saved):
                rows = table_.items[hash_key] if range_key is not None else table_.items
                slot = range_key if range_key is not None else hash_key
                if item is None:
                    rows.pop(slot, None)
                else:
                    rows[slot] = item
            for shard, length in streams.values():
                del shard.items[length:]
            if isinstance(err, MockValidationException):
                raise
            reasons: list[tuple[Any, Any, Any]] = [(None, None, None)] * len(planned)
            code = "ConditionalCheckFailed" if isinstance(err, ConditionalCheckFailed) else type(err).__name__
            reasons[index] = (code, str(err), None)
            raise TransactionCanceledException(reasons) from err
