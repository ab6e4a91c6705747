"""Low-level DynamoDB items and transaction entries for the issuance hot path, built without PynamoDB.

The attribute values are exactly what the Row model (dynamodb_models.py) writes: `data` as the JSON text
PynamoDB's JSONAttribute makes, `secret` as raw binary, numbers as decimal text, None attributes left out; a
put carries PynamoDB's optimistic-locking condition on `row_version` (absent for a new row, else equal to the
stored one) and writes the next version. tests/adapters/test_dynamodb_items.py holds the two side by side.
"""

from __future__ import annotations

import json
from typing import Any

# The Row model's number attributes; the others are strings, but `data` (JSON text) and `secret` (binary).
_NUMBERS = frozenset({"expires_at", "issued", "ttl"})
_VERSION_NAMES = {"#v": "row_version"}


def attribute(name: str, value: Any) -> dict[str, Any]:
    """One attribute value in DynamoDB's JSON form, as the Row model serialises `name`."""
    if name == "data":
        return {"S": json.dumps(value)}
    if name == "secret":
        return {"B": bytes(value)}
    if name in _NUMBERS:
        return {"N": str(value)}
    return {"S": value}


def item(pk: str, sk: str, **attributes: Any) -> dict[str, Any]:
    """A row's item (without `row_version`): None attributes are left out, as PynamoDB leaves out nulls."""
    built: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in attributes.items():
        if value is not None:
            built[name] = attribute(name, value)
    return built


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def put(table: str, row: dict[str, Any], row_version: int = 0) -> dict[str, Any]:
    """A transaction Put of `row`, conditional on the stored `row_version` (0: the row must not exist yet)."""
    written = {**row, "row_version": {"N": str(row_version + 1)}}
    if not row_version:
        return {
            "Put": {
                "TableName": table,
                "Item": written,
                "ConditionExpression": "attribute_not_exists (#v)",
                "ExpressionAttributeNames": _VERSION_NAMES,
            }
        }
    return {
        "Put": {
            "TableName": table,
            "Item": written,
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": _VERSION_NAMES,
            "ExpressionAttributeValues": {":v": {"N": str(row_version)}},
        }
    }


def put_unversioned(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A transaction Put of a row that carries no `row_version` (an inventory index row): unconditional."""
    return {"Put": {"TableName": table, "Item": row}}


def condition_check(table: str, pk: str, sk: str, row_version: int) -> dict[str, Any]:
    """A transaction ConditionCheck: the row `pk`/`sk` is still at `row_version` (nothing is written to it)."""
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": key(pk, sk),
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": _VERSION_NAMES,
            "ExpressionAttributeValues": {":v": {"N": str(row_version)}},
        }
    }


def update(
    table: str,
    pk: str,
    sk: str,
    row_version: int,
    *,
    set_values: dict[str, Any],
    remove: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A transaction Update: SET `set_values` (None values are REMOVEd, as PynamoDB does for a null), REMOVE
    `remove`, and the next `row_version`, conditional on the stored one."""
    names: dict[str, str] = dict(_VERSION_NAMES)
    values: dict[str, Any] = {":v": {"N": str(row_version)}, ":one": {"N": "1"}}
    sets: list[str] = []
    removes: list[str] = []
    for i, (name, value) in enumerate(set_values.items()):
        names[f"#s{i}"] = name
        if value is None:
            removes.append(f"#s{i}")
        else:
            values[f":s{i}"] = attribute(name, value)
            sets.append(f"#s{i} = :s{i}")
    for i, name in enumerate(remove):
        names[f"#r{i}"] = name
        removes.append(f"#r{i}")
    expression = ""
    if sets:
        expression += "SET " + ", ".join(sets) + " "
    if removes:
        expression += "REMOVE " + ", ".join(removes) + " "
    return {
        "Update": {
            "TableName": table,
            "Key": key(pk, sk),
            "ConditionExpression": "#v = :v",
            "UpdateExpression": expression + "ADD #v :one",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def data_of(found: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A read item's `data` (decoded as PynamoDB's JSONAttribute does) and its `row_version` (0 if none)."""
    raw = found.get("data", {}).get("S")
    data = json.loads(raw, strict=False) if raw is not None else None
    version = found.get("row_version", {}).get("N")
    return (data if isinstance(data, dict) else {}), int(version) if version is not None else 0
