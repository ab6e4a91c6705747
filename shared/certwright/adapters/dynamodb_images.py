"""Stream images of the table's rows, decoded into the outbox's typed rows by the codec that wrote each row.

A stream image is what Powertools (or boto3's TypeDeserializer) hands a record handler: plain Python values,
the keys, `kind`, `row_version` (a Decimal) and `data`, the row's JSON (text, as PynamoDB's JSONAttribute
stores it). Only the kinds that stand for events decode (certwright.outbox.Row). Every other row (audit
records, serial claims, ACM copies, CA bundles, references, counters, an image without a kind) and a missing
image (None, or `{}` as Powertools gives an insert's old or a removal's new image) decode to None. An image of
a known kind that its codec cannot read raises CorruptRowError naming the row, never its content.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_acme import AUTHZ_KIND as ACME_AUTHZ_KIND
from certwright.adapters.dynamodb_acme import authz_from
from certwright.adapters.dynamodb_ca_bundles import VERSION_KIND as CA_BUNDLE_VERSION_KIND
from certwright.adapters.dynamodb_ca_bundles import bundle_version_from_data
from certwright.adapters.dynamodb_crl import CRL_KIND, state_from_data
from certwright.errors import CorruptRowError
from certwright.outbox import (
    AcmeAuthorizationRow,
    AssociationRow,
    AuthorityRow,
    CaBundleVersionRow,
    CertificateRow,
    CertificateVersionRow,
    CrlRow,
    Row,
)


def _authority(data: dict[str, Any], row_version: int) -> Row:
    return AuthorityRow(codec.authority_from_data(data, row_version), row_version)


def _certificate(data: dict[str, Any], row_version: int) -> Row:
    return CertificateRow(codec.certificate_from_data(data, row_version), row_version)


def _certificate_version(data: dict[str, Any], row_version: int) -> Row:
    # A failed reservation keeps why beside the version (DynamoDbStore.fail_version writes `failureReason`).
    reason = data.get("failureReason") or ""
    if not isinstance(reason, str):
        raise TypeError("failureReason")
    return CertificateVersionRow(codec.version_from_data(data), row_version, reason)


def _association(data: dict[str, Any], row_version: int) -> Row:
    return AssociationRow(codec.association_from_data(data, row_version), row_version)


def _crl(data: dict[str, Any], row_version: int) -> Row:
    return CrlRow(state_from_data(data, row_version), row_version)


def _ca_bundle_version(data: dict[str, Any], row_version: int) -> Row:
    # The version row carries its bundle's name beside the version (DynamoDbCaBundles._bundle_version_row).
    name = data["name"]
    if not isinstance(name, str):
        raise TypeError("name")
    return CaBundleVersionRow(bundle_version_from_data(data), name, row_version)


def _acme_authorization(data: dict[str, Any], row_version: int) -> Row:
    return AcmeAuthorizationRow(authz_from(data), row_version)


# The row kinds that stand for events, each with the codec functions that wrote it (dynamodb_models lists them).
_DECODERS: dict[str, Callable[[dict[str, Any], int], Row]] = {
    "CA": _authority,
    "CERT": _certificate,
    "CERT_VERSION": _certificate_version,
    "ASSOC": _association,
    CRL_KIND: _crl,
    CA_BUNDLE_VERSION_KIND: _ca_bundle_version,
    ACME_AUTHZ_KIND: _acme_authorization,
}


def decode_image(image: Mapping[str, Any] | None) -> Row | None:
    """The typed row a stream image holds; None for no image or a kind that stands for no event."""
    if not image:
        return None
    kind = image.get("kind")
    decode = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decode is None:
        # Not an event's row. Counters are written by update expressions, and one image can hold only their keys.
        return None
    try:
        return decode(_data(image["data"]), _row_version(image["row_version"]))
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise CorruptRowError(
            f"cannot decode the {kind} row {_where(image)} from its stream image: {_why(err)}"
        ) from None


def _data(raw: Any) -> dict[str, Any]:
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(value, Mapping):
        raise TypeError("data is no JSON object")
    return dict(value)


def _row_version(raw: Any) -> int:
    number = int(raw)
    if number != raw or number < 1:
        raise ValueError("row_version")
    return number


def _where(image: Mapping[str, Any]) -> str:
    return f"{image.get('pk', '?')}/{image.get('sk', '?')}"


def _why(err: Exception) -> str:
    # Only the field at fault: a value quoted from the row could be anything the row holds.
    if isinstance(err, KeyError):
        return f"missing field {err.args[0]!r}" if err.args else "a missing field"
    if isinstance(err, json.JSONDecodeError):
        return "data is not JSON"
    return f"a malformed field ({type(err).__name__})"
