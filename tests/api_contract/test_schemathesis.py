"""The OpenAPI document is true: schemathesis drives every operation of the local API and checks each answer.

Gate: no 5xx, every status code declared for its operation, every body matching its declared schema and
content type. Bounded and deterministic: MAX_EXAMPLES per operation, derandomized, no example database, no
shrinking. Half of the generated ids are swapped for real ones (a CA, a certificate, an association, a CA
bundle) so answers with resources are checked too, not only 404s.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from certwright.api.app import openapi_document
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.runtime import LocalRuntime, local_runtime

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@dataclass(frozen=True)
class Known:
    """Ids of real resources, by the name of the path parameter or body field that takes them."""

    ids: dict[str, str]


def _post(rt: LocalRuntime, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a resource; a 503 (the embedded AWS briefly overloaded) is retried as its Retry-After says."""
    for attempt in range(5):
        request = urllib.request.Request(  # noqa: S310 - the local gateway
            rt.api_url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - the local gateway
                created: dict[str, Any] = json.loads(answer.read())
                return created
        except urllib.error.HTTPError as err:
            if err.code != 503 or attempt == 4:
                raise AssertionError(f"POST {path}: {err.code} {err.read()!r}") from err
            time.sleep(float(err.headers.get("Retry-After") or 1))
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield rt


@pytest.fixture(autouse=True)
def _runtime_environment(_aws_environment: None, runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime outlives each test; give back the endpoint the per-test AWS environment takes away."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", runtime.endpoint)


@pytest.fixture(scope="module")
def known(runtime: LocalRuntime) -> Known:
    root = {
        "name": "contract-root",
        "configType": "ROOT_CA_GENERATED_INTERNALLY",
        "subject": {"commonName": "Contract Root"},
        "keyAlgorithm": "ECDSA_P256",
        "validityDuration": "P10Y",
    }
    ca = _post(runtime, "/certificate-authorities", root)
    leaf = {
        "name": "contract-web",
        "configType": "ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": ca["id"],
        "profile": "TLS_SERVER",
        "subject": {"commonName": "www.contract.example"},
        "keyAlgorithm": "ECDSA_P256",
        "validityDuration": "P30D",
    }
    cert = _post(runtime, "/certificates", leaf)
    host = "arn:aws:iam::123456789012:role/contract-host"
    association = _post(runtime, "/associations", {"certificateId": cert["id"], "associatedResourceId": host})
    bundle = _post(runtime, "/ca-bundles", {"name": "contract-trust", "certificateAuthorityIds": [ca["id"]]})
    return Known(
        {
            "ca_id": ca["id"],
            "issuerCertificateAuthorityId": ca["id"],
            "certificate_id": cert["id"],
            "certificateId": cert["id"],
            "association_id": association["id"],
            "bundle_id": bundle["id"],
            "caBundleId": bundle["id"],
            "resourceId": cert["id"],
            "number": "1",
        }
    )


# The document the API serves at /openapi.json (built without AWS, so the operations are known at collection).
schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))


def test_the_served_document_is_the_one_tested(runtime: LocalRuntime) -> None:
    with urllib.request.urlopen(runtime.api_url + "/openapi.json", timeout=60) as answer:  # noqa: S310 - local
        assert json.loads(answer.read()) == json.loads(openapi_document())


def _with_real_ids(case: Any, known: Known) -> None:
    """Swap about half of the generated ids (decided by the example itself, so runs repeat) for real ones."""
    for where in ("path_parameters", "query"):
        values = getattr(case, where)
        for name in list(values or {}):
            if name in known.ids and zlib.crc32(repr(values[name]).encode()) % 2 == 0:
                values[name] = int(known.ids[name]) if name == "number" else known.ids[name]
    body = case.body
    if isinstance(body, dict):
        for name in list(body):
            if name in known.ids and zlib.crc32(repr(body[name]).encode()) % 2 == 0:
                body[name] = known.ids[name]


@pytest.fixture(scope="module")
def sent() -> set[str]:
    """The requests sent so far (method, path, query, headers, body and media type of each)."""
    return set()


def _first_time(case: Any, sent: set[str]) -> bool:
    """Is this the first case to send exactly this request? Generated cases repeat one another (the same minimal
    example, or a coverage case equal to a fuzzed one); checking the same read twice proves nothing more. Only
    reads are skipped: a repeated write (an Idempotency-Key replay, a second DELETE) meets another state."""
    if str(case.method).upper() != "GET":
        return True
    body = case.body.hex() if isinstance(case.body, bytes) else case.body
    request = [case.method, case.formatted_path, case.query, case.headers, body, str(case.media_type)]
    key = json.dumps(request, sort_keys=True, default=repr)
    if key in sent:
        return False
    sent.add(key)
    return True


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_the_documented_one(case: Any, runtime: LocalRuntime, known: Known, sent: set[str]) -> None:
    _with_real_ids(case, known)
    if not _first_time(case, sent):
        return  # the same read was sent and checked already
    case.call_and_validate(base_url=runtime.api_url, checks=CHECKS, timeout=60)
