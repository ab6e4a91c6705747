"""How the CLI prints an answer: a human table (a terminal's default), JSON (a pipe's default) or YAML."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

FORMATS = ("table", "json", "yaml")

# Table columns, in order: a header and the dotted fields that fill it (the first one present wins). A column
# shows only when some row has a value for it, so one table serves CAs, certificates, associations, audit, grants.
COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("ID", ("id", "associationId", "keyId")),
    ("NAME", ("name", "certificateName")),
    ("VERSION", ("versionNumber",)),
    ("TYPE", ("configType",)),
    ("STATE", ("lifecycleState",)),
    ("ASSOCIATION", ("state", "consentState")),
    ("STAGES", ("stages",)),
    ("SERIAL", ("serialNumber", "currentVersion.serialNumber")),
    ("NOT AFTER", ("validity.notAfter", "currentVersion.validity.notAfter", "notAfter")),
    ("ISSUER", ("issuerCertificateAuthorityId",)),
    ("CERTIFICATE", ("certificateId",)),
    ("CA BUNDLE", ("caBundleId",)),
    ("ASSOCIATED RESOURCE", ("associatedResourceId",)),
    ("DEPLOYMENT", ("deployment.state",)),
    ("DEPLOYED", ("deployment.deployedVersion",)),
    ("REVOKED", ("revocationStatus.revocationReason", "currentVersion.revocationStatus.revocationReason", "revoked")),
    ("RESOURCE", ("resourceId",)),
    ("ACTION", ("action",)),
    ("PRINCIPAL", ("principalArn", "caller")),
    ("CA", ("certificateAuthorityId",)),
    ("ROLE", ("role",)),
    ("TIME", ("time",)),
]


def default_format() -> str:
    """CERTWRIGHT_OUTPUT, else a table on a terminal and JSON into a pipe or file (scripts keep parsing JSON)."""
    chosen = os.environ.get("CERTWRIGHT_OUTPUT", "").strip().lower()
    if chosen in FORMATS:
        return chosen
    return "table" if sys.stdout.isatty() else "json"


def render(body: Any, form: str) -> str:
    """The answer as text; YAML ends with its line break (a PEM block's last one is part of its value)."""
    if form == "json":
        return json.dumps(body, indent=2)
    if form == "yaml":
        return yaml_text(body)
    return table(body)


def yaml_text(body: Any) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
        """PEM and other multi-line text as `|` blocks, readable and copy-pastable."""

    def _text(dumper: yaml.SafeDumper, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    return str(yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False))


def _get(row: Any, path: str) -> Any:
    value = row
    for part in path.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            return None
        value = value[part]
    return value


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    text = str(value)
    if "-----BEGIN" in text:
        return f"<PEM, {text.count('-----BEGIN')} block(s); see --field or --output json>"
    return " ".join(text.split())


def _grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    return "\n".join(lines)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        pairs: list[tuple[str, str]] = []
        for key, inner in value.items():
            pairs += _flatten(inner, f"{prefix}{key}.")
        return pairs
    if value is None or value == "" or value == [] or value == {}:
        return [(prefix.rstrip("."), "-")]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return [(prefix.rstrip("."), "; ".join(_cell(v) for v in value))]
    return [(prefix.rstrip("."), _cell(value))]


def table(body: Any) -> str:
    """A list answer as one row per item; a single resource as FIELD/VALUE rows (nested fields dotted)."""
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        items = body["items"]
        if not items:
            return "(no items)"
        used = [(h, paths) for h, paths in COLUMNS if any(_value(row, paths) is not None for row in items)]
        if not used:
            return _grid(["ITEM"], [[_cell(row)] for row in items])
        rows = [[_cell(v) if (v := _value(row, paths)) is not None else "-" for _, paths in used] for row in items]
        return _grid([h for h, _ in used], rows)
    if isinstance(body, dict):
        return _grid(["FIELD", "VALUE"], [[k, v] for k, v in _flatten(body)])
    return _cell(body) if body is not None else ""


def _value(row: Any, paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = _get(row, path)
        if value is not None:
            return value
    return None
