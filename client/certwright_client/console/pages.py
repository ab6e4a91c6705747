"""The console's HTML: Jinja2 templates, autoescaped (every value the API answers is user input), and its CSS."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import ChainableUndefined, DictLoader, Environment, select_autoescape

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:18px;align-items:center}
header a{color:#cfd8ff;text-decoration:none}header a.on{color:#fff;font-weight:600}
header .api{margin-left:auto;color:#9aa3b5;font-size:12px}
main{padding:12px 16px}h1{font-size:20px;margin:6px 0 12px}h2{font-size:16px;margin:16px 0 6px}
table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:12px}
th,td{border:1px solid #dde1e8;padding:4px 7px;text-align:left;vertical-align:top}th{background:#eef1f6}
form.filters{background:#fff;border:1px solid #dde1e8;padding:8px;margin-bottom:10px;display:flex;flex-wrap:wrap;gap:8px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
input,select{font:inherit;padding:2px 4px}button,.button{font:inherit;padding:3px 10px;border:1px solid #345;
background:#2d5bd7;color:#fff;border-radius:3px;text-decoration:none;cursor:pointer}
.danger{background:#b3261e}.muted{color:#777}.mono{font-family:ui-monospace,monospace;font-size:12px}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;background:#e4e7ee}
.ok{background:#d6f2dc;color:#14532d}.bad{background:#fbd5d2;color:#7f1d1d}.warn{background:#fdf0c4;color:#713f12}
ul.tree{list-style:none;padding-left:18px;border-left:1px dashed #bbb}ul.tree.top{border:0;padding:0}
.box{background:#fff;border:1px solid #dde1e8;padding:8px 12px;margin-bottom:10px}
.error{background:#fbd5d2;border:1px solid #b3261e;padding:8px 12px;margin-bottom:10px}
"""

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · Certwright console</title>
<link rel="stylesheet" href="/static/console.css"></head>
<body><header><strong>Certwright</strong>
{% for path, label in nav %}<a href="{{ path }}"{% if path == section %} class="on"{% endif %}>{{ label }}</a>{% endfor %}
<span class="api">API {{ api_url }}</span></header>
<main><h1>{{ title }}</h1>
{% if error %}<div class="error" id="error"><strong>{{ error.code }}</strong> {{ error.message }}</div>{% endif %}
{% block body %}{% endblock %}</main></body></html>
"""

_MACROS = """
{% macro state(s) -%}
<span class="badge {{ 'ok' if s in ('ACTIVE', 'DEPLOYED', 'fresh', 'healthy', 'listed') else 'bad' if s in ('FAILED', 'stale', 'unhealthy', 'SUSPENDED', 'expired', 'unreadable') else 'warn' if s in ('PENDING', 'DEPLOYING', 'PENDING_CONFIRMATION', 'PENDING_DELETION', 'awaiting the next CRL') else '' }}">{{ s }}</span>
{%- endmacro %}
{% macro cert_link(c) -%}<a href="/certificates/{{ c.id | urlencode }}">{{ c.name }}</a>{%- endmacro %}
{% macro when(t) -%}{{ t | when }}{%- endmacro %}
{% macro assoc_rows(items) -%}
{% for a in items %}<tr class="assoc">
<td class="mono">{{ a.associatedResourceId }}{% if a.hostnames %}<br><span class="muted">{{ a.hostnames | join(', ') }}</span>{% endif %}</td>
<td>{{ a.associationType }}{% if a.associationType == 'LOAD_BALANCER_LISTENER' %} ({{ a.listenerCertificateRole }}){% endif %}</td>
<td>{{ state(a.state) }}</td><td>{{ state(a.deployment.state) }}{% if a.deployment.lastError %}<br><span class="muted">{{ a.deployment.lastError }}</span>{% endif %}</td>
<td>desired {{ a.deployment.desiredVersion }} / served {{ a.deployment.deployedVersion if a.deployment.deployedVersion is not none else '-' }}</td>
<td class="mono">{{ a.deployment.acmCertificateArn or '' }}</td>
<td>{% if a.probe %}{{ state('healthy' if a.probe.healthy else 'unhealthy') }} <span class="muted">{{ a.probe.checkedAt | when }}</span>
{% for f in a.probe.findings %}<br><span class="muted">{{ f.severity }} {{ f.code }}</span>{% endfor %}{% else %}<span class="muted">not probed</span>{% endif %}</td></tr>
{% endfor %}
{%- endmacro %}
{% macro filters(action, fields, query, button='Search') -%}
<form class="filters" method="get" action="{{ action }}" id="filters">
{% for f in fields %}<label>{{ f.label }}{% if f.options %}<select name="{{ f.name }}"><option value=""></option>{% for v in f.options %}<option{% if query.get(f.name) == v %} selected{% endif %}>{{ v }}</option>{% endfor %}</select>{% else %}<input name="{{ f.name }}" value="{{ query.get(f.name, '') }}">{% endif %}</label>{% endfor %}
<label>&nbsp;<button type="submit">{{ button }}</button></label></form>
{%- endmacro %}
{% macro assoc_table(items) -%}
<table><tr><th>Used by</th><th>Type</th><th>Association</th><th>Deployment</th><th>Version</th><th>ACM copy</th><th>Probe</th></tr>
{{ assoc_rows(items) }}</table>
{%- endmacro %}
"""

_CERTIFICATES = """{% extends "base" %}{% from "macros" import state, cert_link, filters %}{% block body %}
{{ filters('/certificates', fields, query) }}
<p class="muted" id="count">{{ items | length }} certificate(s)</p>
<table id="certificates"><tr><th>Name</th><th>State</th><th>Issuer</th><th>Names</th><th>Version</th><th>Serial</th><th>notAfter</th><th>Renewal</th><th>In use</th></tr>
{% for c in items %}<tr class="certificate"><td>{{ cert_link(c) }}</td><td>{{ state(c.lifecycleState) }}{% if c.expired %} {{ state('expired') }}{% endif %}</td>
<td>{% if c.issuerCertificateAuthorityId %}{{ authorities.get(c.issuerCertificateAuthorityId, c.issuerCertificateAuthorityId) }}{% endif %}</td>
<td>{% for s in c.subjectAlternativeNames %}{{ s.value }}{% if not loop.last %}, {% endif %}{% endfor %}</td>
<td>{{ c.currentVersion.versionNumber if c.currentVersion else '-' }}</td><td class="mono">{{ c.currentVersion.serialNumber if c.currentVersion else '' }}</td>
<td>{{ (c.currentVersion.validity.notAfter if c.currentVersion and c.currentVersion.validity else none) | when }}</td>
<td>{% if c.renewalRule %}every {{ c.renewalRule.renewalInterval }}{% if c.nextRenewalAt %}<br><span class="muted">next {{ c.nextRenewalAt | when }}</span>{% endif %}{% else %}<span class="muted">manual</span>{% endif %}</td>
<td>{{ c.associationCount }}</td></tr>{% endfor %}</table>
{% endblock %}"""

_CERTIFICATE = """{% extends "base" %}{% from "macros" import state, assoc_table %}{% block body %}
<div class="box"><div>{{ state(c.lifecycleState) }} {{ c.configType }} · profile {{ c.profile or '-' }} · key {{ c.keyAlgorithm }}</div>
<div>Subject <span class="mono">{{ c.subject | subject }}</span></div>
<div>Renewal: {% if c.renewalRule %}every {{ c.renewalRule.renewalInterval }}, {{ c.renewalRule.advanceRenewalPeriod }} ahead, next {{ c.nextRenewalAt | when }}{% else %}manual{% endif %}</div>
<div>Current version <strong id="current-version">{{ c.currentVersion.versionNumber if c.currentVersion else '-' }}</strong>
{% if c.currentVersion %}serial <span class="mono">{{ c.currentVersion.serialNumber }}</span>, notAfter {{ c.currentVersion.validity.notAfter | when }}{% endif %}</div>
<p><a class="button" href="/confirm/renew?certificateId={{ c.id | urlencode }}" id="renew">Renew…</a>
<a href="/audit?resourceId={{ c.id | urlencode }}">audit trail</a> · <a href="/associations?certificateId={{ c.id | urlencode }}">association map</a></p></div>
<h2>Versions</h2>
<table id="versions"><tr><th>#</th><th>Stages</th><th>State</th><th>Serial</th><th>notBefore</th><th>notAfter</th><th>Revoked</th><th>Actions</th></tr>
{% for v in versions %}<tr class="version"><td>{{ v.versionNumber }}</td><td>{{ v.stages | join(', ') }}</td><td>{{ state(v.lifecycleState) }}</td><td class="mono">{{ v.serialNumber or '' }}</td>
<td>{{ (v.validity.notBefore if v.validity else none) | when }}</td><td>{{ (v.validity.notAfter if v.validity else none) | when }}</td>
<td>{% if v.revocationStatus %}{{ v.revocationStatus.revocationReason }} {{ v.revocationStatus.timeOfRevocation | when }}{% endif %}</td>
<td>{% set current = 'CURRENT' in v.stages %}
{% if not v.revocationStatus and v.lifecycleState == 'ACTIVE' and not current %}{% if 'PENDING' in v.stages %}<a href="/confirm/promote?certificateId={{ c.id | urlencode }}&version={{ v.versionNumber }}">promote</a>{% else %}<a href="/confirm/rollback?certificateId={{ c.id | urlencode }}&version={{ v.versionNumber }}">roll back to this</a>{% endif %}{% endif %}
{% if not v.revocationStatus and v.serialNumber %} <a href="/confirm/revoke?certificateId={{ c.id | urlencode }}&version={{ v.versionNumber }}">revoke</a>{% endif %}</td></tr>{% endfor %}</table>
<h2>Used by</h2>{{ assoc_table(associations) }}
{% endblock %}"""

_AUTHORITIES = """{% extends "base" %}{% from "macros" import state, filters %}
{% macro node(n) %}<li class="ca"><a href="/audit?resourceId={{ n.authority.id | urlencode }}">{{ n.authority.name }}</a>
{{ state(n.authority.lifecycleState) }} <span class="muted">{{ n.authority.configType }} · {{ n.authority.keyAlgorithm }}
{% if n.authority.currentVersion %}· v{{ n.authority.currentVersion.versionNumber }} until {{ n.authority.currentVersion.validity.notAfter | when }}{% endif %}</span>
{% if n.children %}<ul class="tree">{% for child in n.children %}{{ node(child) }}{% endfor %}</ul>{% endif %}</li>{% endmacro %}
{% block body %}
{{ filters('/cas', fields, query) }}
<div class="box"><ul class="tree top" id="ca-tree">{% for n in tree %}{{ node(n) }}{% endfor %}</ul></div>
{% endblock %}"""

_BUNDLES = """{% extends "base" %}{% from "macros" import state, filters %}{% block body %}
{{ filters('/ca-bundles', fields, query) }}
<table id="ca-bundles"><tr><th>Name</th><th>State</th><th>Trusts</th><th>Version</th><th>Stale</th><th>In use</th></tr>
{% for b in items %}<tr class="ca-bundle"><td><a href="/audit?resourceId={{ b.id | urlencode }}">{{ b.name }}</a></td><td>{{ state(b.lifecycleState) }}</td>
<td>{% for ca in b.certificateAuthorityIds %}{{ authorities.get(ca, ca) }}{% if not loop.last %}, {% endif %}{% endfor %}{% for g in b.givenCertificates %}<br><span class="muted">{{ g.subject }}</span>{% endfor %}</td>
<td>{{ b.currentVersionNumber }}</td><td>{{ 'yes' if b.stale else 'no' }}</td><td>{{ b.associationCount }}</td></tr>{% endfor %}</table>
{% endblock %}"""

_ASSOCIATIONS = """{% extends "base" %}{% from "macros" import state, cert_link, assoc_table, filters %}{% block body %}
{{ filters('/associations', fields, query, 'Filter') }}
{% for row in rows %}<div class="box map-row"><h2>{% if row.certificate %}{{ cert_link(row.certificate) }} <span class="muted">v{{ row.certificate.currentVersion.versionNumber if row.certificate.currentVersion else '-' }}</span>{% else %}CA bundle users{% endif %}</h2>
<div class="muted">{{ row.listeners | length }} listener(s) · {{ row.acm | length }} ACM certificate(s) · {{ row.hosts | length }} host(s)</div>
{{ assoc_table(row.listeners + row.acm + row.hosts + row.other) }}</div>
{% else %}<p class="muted">No associations.</p>{% endfor %}
{% endblock %}"""

_TIMELINE = """{% extends "base" %}{% from "macros" import state, cert_link %}
{% macro entry(e) %}<tr class="entry"><td>{{ cert_link(e.certificate) }}</td><td>{{ e.not_after | when }}</td>
<td>{% if e.renews %}{{ state('ACTIVE') }} renews itself{% if e.next_renewal %} · next {{ e.next_renewal | when }}{% endif %}{% else %}<span class="muted">manual renewal</span>{% endif %}</td>
<td>{% for p in e.problems %}<div class="badge bad">{{ p }}</div>{% endfor %}</td></tr>{% endmacro %}
{% block body %}
<p>Bucket by <a href="/timeline?by=week"{% if by == 'week' %} class="on"{% endif %}>week</a> · <a href="/timeline?by=month">month</a></p>
<h2>Overdue or failing</h2>
<table id="attention"><tr><th>Certificate</th><th>Expires</th><th>Renewal</th><th>Problem</th></tr>{% for e in attention %}{{ entry(e) }}{% else %}<tr><td colspan="4" class="muted">nothing overdue or failing</td></tr>{% endfor %}</table>
{% for b in buckets %}<h2 class="bucket">{{ b.label }}</h2>
<table><tr><th>Certificate</th><th>Expires</th><th>Renewal</th><th>Problem</th></tr>{% for e in b.entries %}{{ entry(e) }}{% endfor %}</table>{% endfor %}
{% endblock %}"""

_REVOCATIONS = """{% extends "base" %}{% from "macros" import state, cert_link %}{% block body %}
<h2>CRLs</h2>
<table id="crls"><tr><th>CA</th><th>CRL</th><th>thisUpdate</th><th>nextUpdate</th><th>Revoked serials</th><th>Freshness</th></tr>
{% for ca, crls in crl_rows %}{% for crl in crls %}<tr class="crl"><td>{{ ca.name }}</td><td class="mono">{{ crl.url }}</td><td>{{ crl.this_update | when }}</td><td>{{ crl.next_update | when }}</td><td>{{ crl.revoked }}</td>
<td>{{ state(crl.freshness(now)) }}{% if crl.error %} <span class="muted">{{ crl.error }}</span>{% endif %}</td></tr>
{% else %}<tr class="crl"><td>{{ ca.name }}</td><td colspan="5" class="muted">no issued certificate names its CRL yet</td></tr>{% endfor %}{% endfor %}</table>
<h2>Revoked certificate versions</h2>
<table id="revoked"><tr><th>Certificate</th><th>Version</th><th>Serial</th><th>Reason</th><th>Revoked at</th><th>On the CRL</th></tr>
{% for c, v, listed in revoked %}<tr class="revoked"><td>{{ cert_link(c) }}</td><td>{{ v.versionNumber }}</td><td class="mono">{{ v.serialNumber }}</td><td>{{ v.revocationStatus.revocationReason }}</td><td>{{ v.revocationStatus.timeOfRevocation | when }}</td><td>{{ state(listed) }}</td></tr>
{% else %}<tr><td colspan="6" class="muted">none</td></tr>{% endfor %}</table>
<h2>Revoked CA versions</h2>
<table id="revoked-cas"><tr><th>CA</th><th>Version</th><th>Serial</th><th>Reason</th><th>Revoked at</th><th>On the CRL</th></tr>
{% for ca, v, listed in revoked_cas %}<tr><td>{{ ca.name }}</td><td>{{ v.versionNumber }}</td><td class="mono">{{ v.serialNumber }}</td><td>{{ v.revocationStatus.revocationReason }}</td><td>{{ v.revocationStatus.timeOfRevocation | when }}</td><td>{{ state(listed) }}</td></tr>
{% else %}<tr><td colspan="6" class="muted">none</td></tr>{% endfor %}</table>
{% endblock %}"""

_AUDIT = """{% extends "base" %}{% block body %}
<form class="filters" method="get" action="/audit"><label>resource id<input name="resourceId" size="40" value="{{ resource_id }}"></label><label>&nbsp;<button type="submit">Show</button></label></form>
{% if resource_id %}<table id="audit"><tr><th>Time</th><th>Action</th><th>Caller</th><th>Result</th><th>Details</th></tr>
{% for e in items %}<tr class="event"><td>{{ e.time | when }}</td><td>{{ e.action }}</td><td class="mono">{{ e.caller }}</td><td>{{ e.result }}</td>
<td class="mono">{% for k, v in e.details.items() %}{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% else %}<tr><td colspan="5" class="muted">no records</td></tr>{% endfor %}</table>{% endif %}
{% endblock %}"""

_CONFIRM = """{% extends "base" %}{% from "macros" import assoc_table %}{% block body %}
<div class="box" id="blast-radius"><h2>Blast radius</h2><p id="summary">{{ radius.summary }}</p>
<p>{{ radius.listeners | length }} load balancer listener(s), {{ radius.acm | length }} ACM certificate(s), {{ radius.hosts | length }} host(s){% if radius.redeploys %} — <strong>each is redeployed</strong>{% endif %}.</p>
{{ assoc_table(radius.listeners + radius.acm + radius.hosts) }}
{% if radius.idle %}<p class="muted">Not deployed to (not ACTIVE): {% for a in radius.idle %}{{ a.associatedResourceId }} ({{ a.state }}){% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}</div>
<form method="post" action="/actions/{{ action }}" id="confirm">
<input type="hidden" name="csrf" value="{{ csrf }}"><input type="hidden" name="certificateId" value="{{ c.id }}">
{% if version is not none %}<input type="hidden" name="version" value="{{ version }}">{% endif %}
{% if action == 'renew' %}<label><input type="checkbox" name="pending" value="1"> stage the new version as PENDING (nothing is redeployed until it is promoted)</label><br>{% endif %}
{% if action == 'revoke' %}<label>Reason <select name="reason">{% for r in reasons %}<option>{{ r }}</option>{% endfor %}</select></label><br>{% endif %}
<p><button type="submit" class="{{ 'danger' if action == 'revoke' else '' }}" id="do-it">{{ label }}</button> <a href="/certificates/{{ c.id | urlencode }}">cancel</a></p></form>
{% endblock %}"""

_RESULT = """{% extends "base" %}{% block body %}
<div class="box" id="result"><p>{{ 'Done' if ok else 'Refused' }}: the API answered <strong id="status">{{ status }}</strong>{% if not ok %} <strong>{{ body.code }}</strong> {{ body.message }}{% endif %}.</p>
{% if ok and summary %}<p id="outcome">{{ summary }}</p>{% endif %}
<details><summary>The API's answer</summary><pre class="mono">{{ answer }}</pre></details>
<p><a class="button" href="/certificates/{{ certificate_id | urlencode }}">Back to the certificate</a></p></div>
{% endblock %}"""

_MESSAGE = (
    """{% extends "base" %}{% block body %}<div class="box"><p id="message">{{ message }}</p></div>{% endblock %}"""
)

TEMPLATES = {
    "base": _BASE,
    "macros": _MACROS,
    "certificates": _CERTIFICATES,
    "certificate": _CERTIFICATE,
    "authorities": _AUTHORITIES,
    "bundles": _BUNDLES,
    "associations": _ASSOCIATIONS,
    "timeline": _TIMELINE,
    "revocations": _REVOCATIONS,
    "audit": _AUDIT,
    "confirm": _CONFIRM,
    "result": _RESULT,
    "message": _MESSAGE,
}

NAV = (
    ("/certificates", "Certificates"),
    ("/cas", "CA hierarchy"),
    ("/ca-bundles", "CA bundles"),
    ("/associations", "Association map"),
    ("/timeline", "Expiry timeline"),
    ("/revocations", "Revocations & CRLs"),
    ("/audit", "Audit trail"),
)


def _when(value: Any) -> str:
    """An API time (ISO 8601 text or a datetime) as `YYYY-MM-DD HH:MM UTC`; anything else as given."""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "-" if value is None else str(value)


_RDN = {
    "commonName": "CN",
    "organization": "O",
    "organizationalUnit": "OU",
    "country": "C",
    "state": "ST",
    "locality": "L",
}


def _subject(subject: Any) -> str:
    """{"commonName": "a", "organization": "b"} as `CN=a, O=b`."""
    if not isinstance(subject, dict):
        return "" if subject is None else str(subject)
    return ", ".join(f"{_RDN.get(str(k), k)}={v}" for k, v in subject.items())


_ENV = Environment(
    loader=DictLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=ChainableUndefined,  # a field an older API lacks renders empty
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=lambda value: "" if value is None else value,  # an absent field shows as nothing, not "None"
)
_ENV.filters["when"] = _when
_ENV.filters["subject"] = _subject


def render(template: str, **context: Any) -> str:
    context.setdefault("error", None)
    context.setdefault("nav", NAV)
    context.setdefault("section", "")
    context.setdefault("api_url", "")
    return str(_ENV.get_template(template).render(**context))
