"""ACME tests on the fakes: the real ACME services, issuance and authorization over tests/fakes.py, reached
through the ACME edge (certwright.api.acme_edge) exactly as the Lambda function reaches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from certwright import bootstrap
from certwright.api.acme_edge import handle

from infra.api_events import LOCAL_ADMIN, api_event
from tests.acme.client import AcmeClient, Reply
from tests.conftest import ApiClient, Clock, root_ca_body, sub_ca_body
from tests.fakes import World, build_fake, fake_settings, runtime

HOST = "acme.test"
BASE = f"http://{HOST}"


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def container(clock: Clock, world: World) -> Iterator[bootstrap.Container]:
    instance, _ = build_fake(fake_settings(), runtime(clock), world)
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)


def edge_send(container: bootstrap.Container) -> Any:
    def send(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        parts = urlsplit(url)
        event = api_event(
            method,
            parts.path,
            body.decode() if body else None,
            headers={"Host": HOST, "X-Forwarded-Proto": "http", **headers},
        )
        if "Content-Type" not in headers:
            event["headers"].pop("Content-Type", None)
        result = handle(event, container)
        got: dict[str, list[str]] = {k.lower(): [str(v)] for k, v in result["headers"].items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            got.setdefault(k.lower(), []).extend(values)
        return Reply(result["statusCode"], got, str(result["body"]).encode())

    return send


@dataclass
class Acme:
    container: bootstrap.Container
    world: World
    ca_id: str
    root_pem: str

    @property
    def directory_url(self) -> str:
        return f"{BASE}/acme/{self.ca_id}/directory"

    def client(self, **kw: Any) -> AcmeClient:
        return AcmeClient(self.directory_url, edge_send(self.container), **kw)

    def eab(self, principal: str = LOCAL_ADMIN, ca_id: str | None = None) -> tuple[str, str]:
        created = self.container.eab_keys.create(principal, ca_id)
        return created.key.key_id, created.hmac_key

    def registered(self, **kw: Any) -> AcmeClient:
        client = self.client(**kw)
        reply = client.new_account(self.eab())
        assert reply.status == 201, reply.body
        return client

    def validate_all(self) -> None:
        """What the bus does on the real wiring: every challenge asked for is validated."""
        for z in list(self.world.acme.authorizations.values()):
            for c in z.challenges:
                if c.status.value == "processing":
                    self.container.acme_validator.validate(z.id, c.type.value)


@pytest.fixture
def acme(container: bootstrap.Container, world: World) -> Acme:
    api = ApiClient()
    root = api.post("/certificate-authorities", root_ca_body())
    assert root.status == 201, root.body
    issuing = api.post(
        "/certificate-authorities",
        sub_ca_body(root.body["id"], rules={"nameConstraint": {"permittedDnsSubtrees": ["example.com"]}}),
    )
    assert issuing.status == 201, issuing.body
    root_pem = container.authorities.get(root.body["id"]).current_version.certificate_pem  # type: ignore[union-attr]
    return Acme(container, world, issuing.body["id"], root_pem)


def problem(reply: Reply) -> str:
    body = json.loads(reply.body)
    assert reply.header("Content-Type") == "application/problem+json", reply.headers
    assert reply.header("Replay-Nonce"), "every answer carries a fresh nonce"
    return str(body["type"]).removeprefix("urn:ietf:params:acme:error:")
