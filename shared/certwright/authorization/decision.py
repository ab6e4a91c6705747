"""The one policy decision point: Cedar policies compiled and validated once per container, deny by default.

`PolicyDecisionPoint.load(extra)` parses the schema, the shipped default policy and the operator's extra
policies, validates them all against the schema and raises `PolicyError` if anything is wrong, so a broken
policy fails the container's start (and the deployment's smoke check), never a request at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cedarpy

from certwright.authorization.entities import Entity, uid
from certwright.errors import CertwrightError

_CONTEXT_DEFAULTS: dict[str, Any] = {
    "operation": "",
    "issuing": "",
    "names": [],
    "namesSuffix": "",
    "role": "",
    "sourceIp": "",
}


class PolicyError(CertwrightError):
    """The schema or a policy does not parse or does not validate; raised when the container starts."""

    code = "InvalidPolicy"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Ids of the policies that decided (policy0… in load order: default first, then extra).
    reasons: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())


def _packaged(name: str) -> str:
    return resources.files("certwright.authorization").joinpath(name).read_text(encoding="utf-8")


def default_policy_text() -> str:
    return _packaged("policies/default.cedar")


def schema_text() -> str:
    return _packaged("schema.cedarschema")


def extra_policy_text(setting: str) -> str:
    """CERTWRIGHT_EXTRA_POLICIES: a path to a .cedar file, or the policy text itself; "" means none."""
    value = setting.strip()
    if not value:
        return ""
    looks_like_path = "\n" not in value and "(" not in value
    if looks_like_path:
        path = Path(value)
        if not path.is_file():
            raise PolicyError(f"extra policies: no such file {value}")
        return path.read_text(encoding="utf-8")
    return value


class PolicyDecisionPoint:
    def __init__(self, policies: cedarpy.PolicySet, schema: cedarpy.Schema, text: str) -> None:
        self._policies = policies
        self._schema = schema
        self.text = text

    @classmethod
    def load(cls, extra: str = "") -> PolicyDecisionPoint:
        """Compile default + extra policies (text, already read) and validate them; PolicyError if broken."""
        try:
            schema = cedarpy.Schema.from_str(schema_text())
        except Exception as err:
            raise PolicyError(f"the authorization schema does not parse: {err}") from err
        text = default_policy_text() + ("\n" + extra if extra.strip() else "")
        try:
            policies = cedarpy.PolicySet.from_str(text)
        except Exception as err:
            raise PolicyError(f"policies do not parse: {err}") from err
        result = cedarpy.validate_policies(text, schema)
        if not result.validation_passed:
            details = "; ".join(e.error for e in result.errors)
            raise PolicyError(f"policies do not validate against the schema: {details}")
        return cls(policies, schema, text)

    def authorize(
        self,
        principal: Entity,
        action: str,
        resource: Entity,
        context: Mapping[str, Any] | None = None,
        others: Sequence[Entity] = (),
    ) -> Decision:
        """Allow only if some permit applies and no forbid does; anything malformed is a deny."""
        request = {
            "principal": principal["uid"],
            "action": uid("Action", action),
            "resource": resource["uid"],
            "context": {**_CONTEXT_DEFAULTS, **(context or {})},
        }
        entities = [principal, resource, *others]
        try:
            result = cedarpy.is_authorized(request, self._policies, entities, self._schema)
        except Exception as err:  # noqa: BLE001 - a request the engine cannot evaluate is denied
            return Decision(False, (), (str(err),))
        diagnostics = result.diagnostics
        return Decision(
            bool(result.allowed),
            tuple(diagnostics.reasons),
            tuple(str(e) for e in diagnostics.errors),
        )
