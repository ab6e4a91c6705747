"""The agent through the real wiring: the local runtime (embedded AWS, the template's resources, the HTTP API and
the router), a CA and a certificate made over HTTP, a host association, the agent as that host's principal, and a
real nginx. Needs the server side of the wire contract (POST /bundles/poll, report-deployment); skipped, saying
so, on a checkout whose API does not serve it yet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certwright_client.cli import Client, main

from infra.api_events import LOCAL_ADMIN
from infra.runtime import LocalRuntime, local_runtime
from tests.agent.nginx import nginx, settled_serial
from tests.conftest import leaf_body, root_ca_body, sub_ca_body

HOST = "arn:aws:iam::123456789012:role/web-host"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(sweep_seconds=0) as rt:
        yield rt


def call(rt: LocalRuntime, method: str, path: str, body: Any = None, caller: str = LOCAL_ADMIN) -> tuple[int, Any]:
    status, answer = Client(rt.api_url, caller, sign=False).call(method, path, body)
    rt.router.drain(timeout=90)
    return status, answer


def test_the_agent_installs_v1_nginx_serves_it_a_renewal_is_installed_verified_and_shown_deployed(
    runtime: LocalRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = runtime
    status, answer = call(rt, "POST", "/bundles/poll", {}, caller=HOST)
    if (status, answer.get("message")) == (404, "no such route"):
        pytest.skip("this API does not serve POST /bundles/poll yet (the server side of the agent's contract)")
    _, root = call(rt, "POST", "/certificate-authorities", root_ca_body())
    _, issuing = call(rt, "POST", "/certificate-authorities", sub_ca_body(root["id"]))
    status, cert = call(rt, "POST", "/certificates", leaf_body(issuing["id"]))
    assert status == 201, cert
    status, association = call(rt, "POST", "/associations", {"certificateId": cert["id"], "associatedResourceId": HOST})
    assert (status, association["state"]) == (201, "PENDING_CONFIRMATION"), association

    output = tmp_path / "etc"
    live = output / "live" / "web"
    config = tmp_path / "agent.toml"

    def agent(entry: str = "") -> int:
        config.write_text(
            f'output_dir = "{output}"\n[[certificate]]\nname = "web"\ncertificate = "{cert["id"]}"\n{entry}\n'
        )
        capsys.readouterr()
        code = main(["--api", rt.api_url, "--caller", HOST, "agent", "--once", "--config", str(config)])
        rt.router.drain(timeout=90)
        return code

    with nginx(tmp_path / "nginx") as server:
        server.write_config(live)
        assert agent() == 0, capsys.readouterr().err
        server.start()
        v1 = int(cert["currentVersion"]["serialNumber"], 16)
        assert settled_serial(server.port, "www.example.com", v1) == v1
        _, shown = call(rt, "GET", f"/associations/{association['id']}")
        assert shown["state"] == "ACTIVE", "the agent confirmed its own association"
        assert (shown["deployment"]["state"], shown["deployment"]["deployedVersion"]) == ("DEPLOYED", 1)

        status, renewed = call(rt, "POST", f"/certificates/{cert['id']}/versions", {})
        assert status in (200, 201), renewed
        _, now = call(rt, "GET", f"/certificates/{cert['id']}")
        v2 = int(now["currentVersion"]["serialNumber"], 16)
        assert now["currentVersion"]["versionNumber"] == 2 and v2 != v1

        code = agent(f'reload = "{server.reload_command}"\nverify = "{server.address}"')
        assert code == 0, capsys.readouterr().err
        assert settled_serial(server.port, "www.example.com", v2) == v2
        _, shown = call(rt, "GET", f"/associations/{association['id']}")
        deployment = shown["deployment"]
        assert (deployment["state"], deployment["deployedVersion"]) == ("DEPLOYED", 2)
        assert deployment["verifiedAt"] is not None
