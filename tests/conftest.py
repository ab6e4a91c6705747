"""Shared fixtures: an embedded AWS (moto, with the KMS shims), the service wired to it, and an API client."""

from __future__ import annotations

import base64
import functools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import pytest
from certwright import bootstrap
from certwright.api.app import handle
from certwright.config import Settings
from moto import mock_aws

from infra import moto_shims, persistence
from infra.api_events import LOCAL_ADMIN, api_event
from infra.resources import create_resources

moto_shims.install()


AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_DEV": "false",
    # moto's EC2 loads ~500 default AMIs into every fresh backend; no test launches an instance.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def set_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CERTWRIGHT_STATE_DIR", raising=False)  # tests never touch `make up`'s state


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_aws_environment(monkeypatch)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CallCounter:
    """Counts AWS API calls made through a boto3 session (service.Operation → count)."""

    def __init__(self, session: boto3.Session) -> None:
        self.calls: Counter[str] = Counter()
        session.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def __getitem__(self, name: str) -> int:
        return self.calls[name]


@dataclass
class Aws:
    session: boto3.Session
    settings: Settings
    calls: CallCounter
    # On a staged module (tests/staging.py) the container's clients exist before the test: a `before-send` hook
    # goes here, as (botocore service ids, handler), and the stage's forwarder on those clients calls it.
    hooks: list[tuple[tuple[str, ...], Any]] | None = None

    @functools.cached_property
    def dynamodb(self) -> Any:
        """One DynamoDB client for the test's own reads (made on first use, after the fixtures' session hooks)."""
        return self.session.client("dynamodb")

    def table_items(self, table_name: str | None = None) -> list[dict[str, Any]]:
        """Every item of the table (the service's by default), as a paginated Scan through a client returns them.

        Read from the embedded AWS's memory: a Scan deep-copies, serializes and parses every item, and tests that
        compare the whole table after each request (the authorization matrix, the crash suite) spent most of
        their time there, quadratically as the table grew."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.settings.region]
        with moto_shims.DYNAMODB_LOCK:
            items = backend.get_table(table_name or self.settings.table_name).all_items()
            return [{name: _as_client_reads(value.to_json()) for name, value in item.attrs.items()} for item in items]


def _as_client_reads(value: dict[str, Any]) -> dict[str, Any]:
    """A moto attribute value ({"S": ...}, {"B": base64 text or bytes}, nested M/L) as boto3's client returns it."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": inner if isinstance(inner, bytes) else base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v) for v in inner]}
    if kind == "M":
        return {"M": {k: _as_client_reads(_typed(v)) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_as_client_reads(_typed(v)) for v in inner]}
    return {kind: inner}


def _typed(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.to_json()  # a nested DynamoType or its JSON form


def _staged(request: pytest.FixtureRequest) -> bool:
    """Whether the test's module shares one Stage (tests/staging.py): every test on this file's `aws` is staged
    unless its module says `pytestmark = pytest.mark.fresh(reason=...)` (see pytest_collection_modifyitems)."""
    return request.node.get_closest_marker("staged") is not None


@pytest.fixture(scope="module")
def stage() -> Iterator[Any]:
    from tests.staging import staged

    with staged() as built:
        yield built


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    if _staged(request):
        request.getfixturevalue("aws")  # rewound first: the clock is back at the stage's start
        return request.getfixturevalue("stage").clock  # type: ignore[no-any-return]
    return Clock()


@functools.cache
def _service_models() -> Any:
    return botocore.session.get_session().get_component("data_loader")


def aws_session() -> boto3.Session:
    """A boto3 session for one test. Its botocore loader is shared by the process: every new session would parse
    each service's model JSON again on its first client (half of what a client costs); the models are read-only."""
    core = botocore.session.get_session()
    loader = _service_models()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, region_name="us-east-1")
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))  # boto3 appends its data folder each time
    return session


@dataclass
class _Deployed:
    settings: Settings
    backends: bytes  # moto's backends right after create_resources (infra.persistence's format)


_deployed: _Deployed | None = None


def _deploy_once() -> _Deployed:
    """Create the template's resources once per process; every `aws` fixture starts from a copy of that account."""
    global _deployed
    if _deployed is None:
        with mock_aws():
            settings = create_resources(boto3.Session(region_name="us-east-1"))
            _deployed = _Deployed(settings, persistence.capture_backends())
    return _deployed


@pytest.fixture
def aws(request: pytest.FixtureRequest) -> Iterator[Aws]:
    if _staged(request):
        stage = request.getfixturevalue("stage")
        stage.rewind()
        stage.aws.hooks.clear()  # a test's hooks are its own
        yield stage.aws
        return
    deployed = _deploy_once()
    with mock_aws():
        # The same account create_resources would make (same names, key ids and ARNs), restored instead of rebuilt.
        persistence.restore_backends(deployed.backends)
        session = aws_session()
        yield Aws(session, deployed.settings, CallCounter(session))


@pytest.fixture
def container(aws: Aws, clock: Clock, request: pytest.FixtureRequest) -> Iterator[bootstrap.Container]:
    from certwright.services.context import Runtime

    if _staged(request):
        yield request.getfixturevalue("stage").container
        return

    instance = bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


class ApiClient:
    """Calls the issuance API handler with API Gateway-shaped events, as Lambda would."""

    def __init__(self) -> None:
        self.caller = LOCAL_ADMIN

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        caller: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        result = handle(api_event(method, path, body, caller=caller or self.caller, headers=headers), None)
        text = result.get("body") or ""
        return Answer(result["statusCode"], json.loads(text) if text else None, result.get("headers") or {})

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, body if body is not None else {}, **kw)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.call("GET", path, **kw)


@pytest.fixture
def api(container: bootstrap.Container) -> ApiClient:
    return ApiClient()


def root_ca_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "root",
        "configType": "ROOT_CA_GENERATED_INTERNALLY",
        "subject": {"commonName": "Certwright Test Root", "organization": "Certwright", "country": "US"},
        "keyAlgorithm": "ECDSA_P384",
        "validityDuration": "P10Y",
        "rules": {"pathLengthConstraint": 2},
    }
    body.update(overrides)
    return body


def sub_ca_body(issuer_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "issuing",
        "configType": "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": issuer_id,
        "subject": {"commonName": "Certwright Test Issuing CA", "organization": "Certwright", "country": "US"},
        "keyAlgorithm": "ECDSA_P256",
        "validityDuration": "P5Y",
    }
    body.update(overrides)
    return body


def leaf_body(issuer_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "web",
        "configType": "ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": issuer_id,
        "profile": "TLS_SERVER",
        "subject": {"commonName": "www.example.com", "organization": "Certwright"},
        "subjectAlternativeNames": [
            {"type": "DNS", "value": "www.example.com"},
            {"type": "DNS", "value": "api.example.com"},
        ],
        "keyAlgorithm": "ECDSA_P256",
        "validityDuration": "P30D",
    }
    body.update(overrides)
    return body


@dataclass
class Hierarchy:
    root: dict[str, Any]
    issuing: dict[str, Any]


def build_hierarchy(api: ApiClient) -> Hierarchy:
    root = api.post("/certificate-authorities", root_ca_body())
    assert root.status == 201, root.body
    issuing = api.post("/certificate-authorities", sub_ca_body(root.body["id"]))
    assert issuing.status == 201, issuing.body
    return Hierarchy(root.body, issuing.body)


@pytest.fixture
def hierarchy(api: ApiClient, container: bootstrap.Container, request: pytest.FixtureRequest) -> Hierarchy:
    if _staged(request) and container is request.getfixturevalue("stage").container:  # not a module's own container
        return request.getfixturevalue("stage").hierarchy()  # type: ignore[no-any-return]
    return build_hierarchy(api)


# The slowest files (measured: `pytest --durations=0`), run first: a long file handed out last would leave the
# other worker idle until it ends. (Not `--dist loadfile`: with it, xdist runs 2 of schemathesis' 45 cases.)
SLOWEST_FIRST = (
    "tests/crash/test_crash_at_every_call.py",
    "tests/scenarios/test_demo.py",
    "tests/api_contract/test_schemathesis.py",
    "tests/acme_clients/test_certwright.py",
    "tests/console/test_browser.py",
    "tests/wiring/test_outbox_events.py",
    "tests/lifecycle/test_deployment_faults.py",
    "tests/acme_clients/test_reference_pebble.py",
    "tests/runtime/test_persistence.py",
    "tests/runtime/test_gateway.py",
    "tests/functions/test_bad_input.py",
    "tests/conformance/test_pkilint.py",
    "tests/authz/test_matrix.py",
    "tests/conformance/test_openssl.py",
    "tests/probes/test_probe_wiring.py",
    "tests/conformance/test_tls_handshake.py",
)


def _on_the_embedded_aws(item: pytest.Item) -> bool:
    """Whether the test's `aws` is this file's fixture (tests/services/ and tests/acme/ bring fakes of their own)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("aws") if info is not None else None
    return bool(defs) and getattr(defs[-1].func, "__module__", None) == __name__


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Staged by default: one Stage per module, rewound before every test (tests/staging.py). A module with one such
    # test would pay the stage's checkpoint and rewind on top of the build it saves nothing on: it stays fresh.
    on_aws = [item for item in items if item.get_closest_marker("fresh") is None and _on_the_embedded_aws(item)]
    per_module = Counter(item.nodeid.split("::", 1)[0] for item in on_aws)
    for item in on_aws:
        if per_module[item.nodeid.split("::", 1)[0]] > 1:
            item.add_marker(pytest.mark.staged)
    rank = {path: n for n, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: the rest keep order
