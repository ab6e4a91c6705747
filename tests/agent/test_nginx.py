"""The agent with a real nginx on 127.0.0.1 against the contract's fake API (real certificates): nginx serves what
the agent writes; a renewal is installed, nginx reloaded and verified by a TLS handshake; the API down changes
nothing; a mismatched key is never installed and FAILED is reported; a failed verification is rolled back;
a certbot deploy hook runs with certbot's environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import AgentRunner
from tests.agent.fake_api import Association, FakeApi
from tests.agent.nginx import Nginx, nginx, settled_serial
from tests.agent.pki import Authority, Leaf, issue


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Nginx]:
    with nginx(tmp_path / "nginx") as running:
        yield running


def serving(server: Nginx, expected: int | None = None) -> int:
    return settled_serial(server.port, "www.agent.example", expected)


def setup(agent: AgentRunner, server: Nginx, extra_entry: str = "") -> None:
    server.write_config(agent.live)
    agent.write(entry=f'reload = "{server.reload_command}"\nverify = "{server.address}"\n{extra_entry}')


def test_nginx_serves_v1_then_the_renewal_after_a_reload_verified_and_reported(
    agent: AgentRunner, api: FakeApi, association: Association, v1: Leaf, ca: Authority, server: Nginx
) -> None:
    server.write_config(agent.live)
    assert agent().code == 0  # the first install, before nginx runs (no reload, no verify configured yet)
    server.start()
    assert serving(server, v1.certificate.serial_number) == v1.certificate.serial_number
    setup(agent, server)

    v2 = issue(ca, 2)
    api.renew("assoc-1", v2)
    result = agent()
    assert result.code == 0, result.err
    assert serving(server, v2.certificate.serial_number) == v2.certificate.serial_number, (
        "nginx was reloaded and serves version 2"
    )
    assert association.deployment["state"] == "DEPLOYED" and association.deployment["deployedVersion"] == 2
    assert association.deployment["verifiedAt"] is not None
    assert api.reports[-1] == {"versionNumber": 2, "state": "DEPLOYED", "verified": True}
    assert f"verified: {server.address} serves serial {v2.serial_hex}" in result.err

    # Nothing changed: a 304, no bundle read, nothing rewritten, nothing reported again.
    reads, reports = len(api.paths("GET")), len(api.reports)
    result = agent()
    assert result.code == 0 and "not modified" in result.err
    assert (len(api.paths("GET")), len(api.reports)) == (reads, reports)


def test_api_down_keeps_v1_served_and_nothing_rewritten(
    agent: AgentRunner, api: FakeApi, association: Association, v1: Leaf, ca: Authority, server: Nginx
) -> None:
    server.write_config(agent.live)
    assert agent().code == 0
    server.start()
    setup(agent, server)
    api.renew("assoc-1", issue(ca, 2))
    files = sorted(agent.output.rglob("*"))
    stamps = {p: p.lstat().st_mtime_ns for p in files}
    api.stop()
    result = agent()
    assert result.code == 4, result.err
    assert "ApiUnreachable" in result.err and "installed files unchanged" in result.err
    assert sorted(agent.output.rglob("*")) == files
    assert {p: p.lstat().st_mtime_ns for p in files} == stamps
    assert serving(server, v1.certificate.serial_number) == v1.certificate.serial_number


def test_a_mismatched_key_at_the_api_is_not_installed_nginx_keeps_v1_and_failed_is_reported(
    agent: AgentRunner, api: FakeApi, association: Association, v1: Leaf, ca: Authority, server: Nginx
) -> None:
    server.write_config(agent.live)
    assert agent().code == 0
    server.start()
    setup(agent, server)
    api.renew("assoc-1", issue(ca, 2))
    api.key_override = issue(ca, 3).key_pem
    result = agent()
    assert result.code == 5, result.err
    assert serving(server, v1.certificate.serial_number) == v1.certificate.serial_number
    assert association.deployment["state"] == "FAILED" and association.deployment["deployedVersion"] == 1
    assert association.deployment["lastError"] == "not installed: the private key does not match the certificate"
    assert "reload" not in result.err, "nothing was installed, so nothing was reloaded"


def test_a_failed_verification_restores_the_previous_set_reloads_and_reports_failed(
    agent: AgentRunner, api: FakeApi, association: Association, v1: Leaf, ca: Authority, server: Nginx
) -> None:
    server.write_config(agent.live)
    assert agent().code == 0
    server.start()
    # The reload command "succeeds" without reloading for v2 only: nginx keeps serving v1, so verification fails.
    flag = agent.output / "skip-reload"
    agent.write(
        entry=f'reload = "test -e {flag} && rm {flag} || {server.reload_command}"\n'
        f'verify = "{server.address}"\nverify_timeout = 1'
    )
    flag.touch()
    api.renew("assoc-1", issue(ca, 2))
    result = agent()
    assert result.code == 5, result.err
    assert os.readlink(agent.live).startswith("../archive/web/v1-"), "the previous set is live again"
    assert serving(server, v1.certificate.serial_number) == v1.certificate.serial_number
    assert association.deployment["state"] == "FAILED"
    assert (
        "serves serial" in association.deployment["lastError"] and "restored v1-" in association.deployment["lastError"]
    )


def test_an_existing_certbot_deploy_hook_runs_unchanged_with_certbots_environment(
    agent: AgentRunner, api: FakeApi, association: Association, ca: Authority, server: Nginx, tmp_path: Path
) -> None:
    """A hook written for certbot (renewal-hooks/deploy/): it reloads nginx and copies the files it is told of."""
    hooks = tmp_path / "renewal-hooks" / "deploy"
    hooks.mkdir(parents=True)
    seen = tmp_path / "hook-saw"
    hook = hooks / "50-reload-nginx.sh"
    hook.write_text(
        "#!/bin/sh\nset -e\n"
        f'echo "$RENEWED_LINEAGE|$RENEWED_DOMAINS" >> {seen}\n'
        'test -r "$RENEWED_LINEAGE/fullchain.pem" && test -r "$RENEWED_LINEAGE/privkey.pem"\n'
        f"[ -e {server.prefix / 'nginx.pid'} ] && {server.reload_command} || true\n"
    )
    hook.chmod(0o755)
    (hooks / "disabled.sh~").write_text("#!/bin/sh\nexit 1\n")
    server.write_config(agent.live)
    agent.write(entry=f'deploy_hook_dir = "{hooks}"\nverify_timeout = 5')
    assert agent().code == 0
    server.start()
    agent.write(entry=f'deploy_hook_dir = "{hooks}"\nverify = "{server.address}"')
    v2 = issue(ca, 2)
    api.renew("assoc-1", v2)
    result = agent()
    assert result.code == 0, result.err
    lines = seen.read_text().splitlines()
    assert lines == [f"{agent.live}|www.agent.example agent.example"] * 2
    assert serving(server, v2.certificate.serial_number) == v2.certificate.serial_number, (
        "the hook's reload made nginx serve version 2"
    )
