"""Scheduled endpoint probes: every association with an endpoint is checked and its `probe` recorded.

The checks are certwright.x509.endpoint_checks (the same as `certwright diagnose`); the handshake is the
TlsEndpointPort. Only a change of health becomes an event (the outbox turns the recorded probe into
EndpointUnhealthy / EndpointHealthy), so recording every probe is safe: the alert goes out once per change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from cryptography import x509

from certwright.domain.association import Association, AssociationState, DeploymentState, Probe, ProbeFinding
from certwright.errors import CertwrightError, ConflictError
from certwright.ports import Store, TlsEndpointPort
from certwright.services.context import Runtime
from certwright.x509.endpoint_checks import ProbeExpectation, Severity, healthy, probe_findings

logger = Logger(child=True)
PAGE_SIZE = 50
MAX_FINDINGS = 20  # recorded on the association (the row stays small); errors come first
# A finding's text can quote the served certificate (every SAN of a name mismatch): bounded, so the row and the
# EndpointUnhealthy event stay small whatever an endpoint serves.
MAX_FINDING_TEXT = 500


class ProbeService:
    def __init__(self, store: Store, tls: TlsEndpointPort, runtime: Runtime, page_size: int = PAGE_SIZE) -> None:
        self._store = store
        self._tls = tls
        self._rt = runtime
        self._page_size = page_size

    def run(self, has_time: Callable[[], bool] = lambda: True) -> dict[str, Any]:
        """Probe every association with an endpoint, page by page, while there is time; a report of counts."""
        report = {
            "probed": 0,
            "healthy": 0,
            "unhealthy": 0,
            "skipped": 0,
            "conflicts": 0,
            "failed": 0,
            "complete": True,
        }
        # Each run starts at another point of the id order and wraps around: a run that runs out of time (dead
        # endpoints cost a connect and a handshake timeout each) leaves a different part for later, so no endpoint
        # is starved by the ones before it.
        pivot = rotation_point(self._rt.clock())
        for from_id, stop_at in ((pivot, None), ("", pivot)):
            token: str | None = None
            while True:
                page = self._store.probed_associations(self._page_size, token, from_id=from_id)
                for association_id in page.items:
                    if stop_at is not None and association_id >= stop_at:
                        return report
                    if not has_time():
                        report["complete"] = False
                        return report
                    self._probe_counted(association_id, report)
                token = page.next_token
                if not token:
                    break
        return report

    def _probe_counted(self, association_id: str, report: dict[str, Any]) -> None:
        try:
            probed = self.probe(association_id)
        except ConflictError:
            report["conflicts"] += 1  # it changed meanwhile: the next run probes it again
            return
        except CertwrightError as err:
            # One association's failure (a throttled read, a corrupt row) does not end the run: counted and
            # logged; the next run tries it again.
            report["failed"] += 1
            logger.error("probe failed", extra={"associationId": association_id, "code": err.code})
            return
        if probed is None or probed.probe is None:
            report["skipped"] += 1
            return
        report["probed"] += 1
        report["healthy" if probed.probe.healthy else "unhealthy"] += 1

    def probe(self, association_id: str) -> Association | None:
        """Probe one association's endpoint and record the result; None when there is nothing to probe."""
        association = self._store.get_association(association_id)
        if association is None or association.endpoint is None or not association.certificate_id:
            return None
        if association.state is not AssociationState.ACTIVE:
            return None  # no consent: nothing is deployed there on Certwright's behalf, nothing to judge
        expected = self._expectation(association)
        if expected is None:
            return None
        endpoint = association.endpoint
        seen = self._tls.observe(endpoint.host, endpoint.port, endpoint.name)
        observation, failure = (None, seen) if isinstance(seen, str) else (seen, None)
        now = self._rt.clock()
        findings = probe_findings(observation, failure, expected, now)
        served = f"{observation.with_sni.chain[0].serial_number:x}" if observation is not None else None
        current_serial = next((s for s, n in expected.versions.items() if n == expected.current_version), None)
        probe = Probe(
            checked_at=now,
            served_serial=served,
            healthy=healthy(findings),
            findings=tuple(
                ProbeFinding(f.code, f.severity.value, _bounded(f.summary))
                for f in findings
                if f.severity is not Severity.INFO
            )[:MAX_FINDINGS],
            expected_serial=current_serial,
        )
        logger.info(
            "endpoint probed",
            extra={
                "associationId": association.id,
                "endpoint": endpoint.address,
                "healthy": probe.healthy,
                "codes": [f.code for f in probe.findings],
            },
        )
        return self._store.record_probe(replace(association, probe=probe))

    def _expectation(self, association: Association) -> ProbeExpectation | None:
        certificate = self._store.get_certificate(association.certificate_id)
        if certificate is None or not certificate.current_version_number:
            return None
        versions = [v for v in self._store.list_versions(certificate.id) if v.serial_number]
        current = next((v for v in versions if v.version_number == certificate.current_version_number), None)
        chain = tuple(x509.load_pem_x509_certificate(pem.encode()) for pem in current.chain_pems) if current else ()
        deployment = association.deployment
        verified = (
            deployment.state is DeploymentState.DEPLOYED
            and deployment.verified_at is not None
            and deployment.deployed_version == certificate.current_version_number
        )
        return ProbeExpectation(
            certificate.id,
            certificate.name,
            certificate.current_version_number,
            {v.serial_number: v.version_number for v in versions},
            verified,
            chain,
        )


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_FINDING_TEXT else text[: MAX_FINDING_TEXT - 1] + "…"


def rotation_point(now: datetime) -> str:
    """Where a run starts in the id order of associations (`assoc-<hex>`): a different point each minute."""
    return "assoc-" + hashlib.sha256(now.strftime("%Y-%m-%dT%H:%M").encode()).hexdigest()[:4]
