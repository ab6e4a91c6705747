"""How a diagnosis is shown: a human report (findings with cause and fix) or one JSON document."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certwright.x509.endpoint_checks import Finding, Observation, TrustStore, describe, healthy


@dataclass(frozen=True)
class Diagnosis:
    """One run of diagnose: what was observed, against which trust store, when, and what it means."""

    observation: Observation
    trust: TrustStore
    now: datetime
    findings: Sequence[Finding]
    notes: Sequence[str] = ()


def _clean(text: str) -> str:
    """Names from a server never put control characters on the terminal."""
    return "".join(c if c.isprintable() else "?" for c in text)


def as_dict(diagnosis: Diagnosis) -> dict[str, Any]:
    o = diagnosis.observation
    return {
        "host": o.host,
        "port": o.port,
        "servername": o.servername,
        "checkedAt": diagnosis.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "healthy": healthy(diagnosis.findings),
        "trustStore": {"label": diagnosis.trust.label, "roots": len(diagnosis.trust.roots)},
        "served": {
            "protocol": o.with_sni.protocol,
            "cipher": o.with_sni.cipher,
            "chain": [describe(c) for c in o.with_sni.chain],
            "withoutSni": None if o.without_sni is None else describe(o.without_sni.chain[0]),
            "weakProtocolsAccepted": list(o.weak_protocols),
        },
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "summary": f.summary,
                "cause": f.cause,
                "fix": f.fix,
                "details": f.details,
            }
            for f in diagnosis.findings
        ],
        "notes": list(diagnosis.notes),
    }


def as_json(diagnosis: Diagnosis) -> str:
    return json.dumps(as_dict(diagnosis), indent=2, default=str)


def as_text(diagnosis: Diagnosis) -> str:
    o = diagnosis.observation
    lines = [
        f"certwright diagnose {o.host}:{o.port} (SNI {o.servername}) at {diagnosis.now.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"served: {o.with_sni.protocol} {o.with_sni.cipher or ''}, {len(o.with_sni.chain)} certificate(s)".rstrip(),
    ]
    for index, certificate in enumerate(o.with_sni.chain):
        d = describe(certificate)
        lines.append(f"  [{index}] {_clean(d['subject']) or '(empty subject)'}  serial {d['serialNumber']}")
        lines.append(f"      issuer {_clean(d['issuer'])}  valid {d['notBefore']} .. {d['notAfter']}")
        if index == 0:
            lines.append(f"      names {_clean(', '.join(d['names'])) or '(none)'}")
    lines.append(f"trust store: {diagnosis.trust.label} ({len(diagnosis.trust.roots)} root(s))")
    lines.extend(f"note: {_clean(note)}" for note in diagnosis.notes)
    lines.append("")
    for finding in diagnosis.findings:
        lines.append(f"{finding.severity.value.upper():7} {finding.code}: {_clean(finding.summary)}")
        lines.append(f"        cause: {finding.cause}")
        lines.append(f"        fix:   {finding.fix}")
    errors = sum(f.severity.value == "error" for f in diagnosis.findings)
    warnings = sum(f.severity.value == "warning" for f in diagnosis.findings)
    if not diagnosis.findings:
        lines.append("no finding: the chain is complete, trusted, valid now, covers the name, and not revoked")
    verdict = "HEALTHY" if healthy(diagnosis.findings) else "UNHEALTHY"
    lines.append(f"verdict: {verdict} ({errors} error(s), {warnings} warning(s))")
    return "\n".join(lines)
