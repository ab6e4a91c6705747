"""The installer on temp dirs: certbot's file names, modes from creation, one-rename switches, and crashes at every
step of an install followed by a re-run that converges (old set or new set, never a mix)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from certwright_client.agent import config as agent_config
from certwright_client.agent import installer as installer_module
from certwright_client.agent.api import AgentApi
from certwright_client.agent.loop import EXIT_OK, Agent
from certwright_client.cli import Client
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.agent.conftest import AgentRunner
from tests.agent.fake_api import HOST, Association, FakeApi
from tests.agent.pki import Authority, Leaf, issue

FILES = ("cert.pem", "chain.pem", "fullchain.pem", "privkey.pem")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def served_set(live: Path) -> tuple[int, bool]:
    """The serial of live/web/cert.pem, and whether the four files form one set (key, fullchain, chain)."""
    cert = x509.load_pem_x509_certificate((live / "cert.pem").read_bytes())
    key = serialization.load_pem_private_key((live / "privkey.pem").read_bytes(), None)
    chain = (live / "chain.pem").read_text()
    whole = (
        key.public_key() == cert.public_key()
        and (live / "fullchain.pem").read_text() == (live / "cert.pem").read_text() + chain
        and cert.issuer == x509.load_pem_x509_certificates(chain.encode())[0].subject
    )
    return cert.serial_number, whole


def make_agent(tmp_path: Path, api: FakeApi, **settings: Any) -> Agent:
    raw = {"output_dir": str(tmp_path / "etc"), "retry_failed_after": 0, **settings}
    raw["certificate"] = [{"name": "web", "certificate": "cert-agent"}]
    config = agent_config.parse(raw, {})
    return Agent(config, AgentApi(Client(api.url, HOST, sign=False)))


def test_first_install_writes_certbots_files_with_their_modes_whatever_the_umask(
    agent: AgentRunner, association: Association, v1: Leaf
) -> None:
    previous = os.umask(0)
    try:
        result = agent()
    finally:
        os.umask(previous)
    assert result.code == EXIT_OK, result.err
    assert sorted(p.name for p in agent.live.iterdir()) == sorted(FILES)
    assert {name: mode(agent.live / name) for name in FILES} == {
        "cert.pem": 0o644,
        "chain.pem": 0o644,
        "fullchain.pem": 0o644,
        "privkey.pem": 0o600,
    }
    assert agent.live.is_symlink() and os.readlink(agent.live) == f"../archive/web/v1-{v1.serial_hex}"
    assert served_set(agent.live) == (v1.certificate.serial_number, True)
    assert association.consent == "CONFIRMED", "the agent confirmed the pending association its config names"
    assert association.deployment["state"] == "DEPLOYED" and association.deployment["deployedVersion"] == 1
    assert "privkey" not in result.err.lower().replace("privkey.pem", "") and "PRIVATE KEY" not in result.err
    assert sum("certwright-agent" in line for line in result.err.splitlines()) == len(result.err.splitlines())


def test_the_key_is_never_wider_than_its_mode_even_for_an_instant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            opened.append(mode)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(installer_module.os, "open", spy)
    installer_module.write_file(tmp_path / "privkey.pem", "secret\n", 0o640)
    assert opened == [0o600] and mode(tmp_path / "privkey.pem") == 0o640


def test_owner_group_and_modes_are_configurable(agent: AgentRunner, association: Association) -> None:
    gid = os.getgid()
    agent.write(entry=f'group = {gid}\nmode = "0640"\nkey_mode = "0640"\ndir_mode = "0750"')
    assert agent().code == EXIT_OK
    assert {mode(agent.live / name) for name in FILES} == {0o640}
    assert mode(agent.live.resolve()) == 0o750 and os.stat(agent.live / "privkey.pem").st_gid == gid


def test_a_mismatched_key_is_never_installed_and_reported_failed(
    agent: AgentRunner, api: FakeApi, association: Association, ca: Authority
) -> None:
    assert agent().code == EXIT_OK
    before = {name: (agent.live / name).read_text() for name in FILES}
    api.renew("assoc-1", issue(ca, 2))
    api.key_override = issue(ca, 9).key_pem  # a real key, just not this certificate's
    result = agent()
    assert result.code == 5, result.err
    assert {name: (agent.live / name).read_text() for name in FILES} == before
    assert not any(p.name.startswith("v2-") for p in (agent.output / "archive" / "web").iterdir())
    assert association.deployment["state"] == "FAILED"
    assert association.deployment["lastError"] == "not installed: the private key does not match the certificate"
    assert api.reports[-1] == {
        "versionNumber": 2,
        "state": "FAILED",
        "verified": False,
        "reason": api.reports[-1]["reason"],
    }


def test_a_partial_download_is_never_installed(
    agent: AgentRunner, api: FakeApi, association: Association, ca: Authority
) -> None:
    assert agent().code == EXIT_OK
    api.renew("assoc-1", issue(ca, 2))
    api.truncate_bundle = True
    result = agent()
    assert result.code == 4, result.err
    assert os.readlink(agent.live).startswith("../archive/web/v1-")
    assert (
        association.deployment["state"] == "FAILED" and "bundle download failed" in association.deployment["lastError"]
    )
    api.truncate_bundle = False
    assert agent().code == EXIT_OK and os.readlink(agent.live).startswith("../archive/web/v2-")


class Crash(BaseException):
    """The process dies here (kill -9, power loss): nothing after this point runs."""


def crashing(monkeypatch: pytest.MonkeyPatch, at: int | None) -> Callable[[], int]:
    """Count every durable step (file rename, fsync, symlink); raise Crash at step `at`."""
    steps = [0]
    for name in ("replace", "fsync", "symlink"):
        real = getattr(os, name)

        def step(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            steps[0] += 1
            if at is not None and steps[0] == at:
                raise Crash
            return _real(*args, **kwargs)

        monkeypatch.setattr(installer_module.os, name, step)
    return lambda: steps[0]


def test_a_crash_at_any_step_then_a_rerun_leaves_the_old_or_the_new_set_never_a_mix(
    tmp_path: Path, api: FakeApi, association: Association, v1: Leaf, ca: Authority
) -> None:
    v2 = issue(ca, 2)
    # How many durable steps a v1 → v2 install takes, measured on a clean run.
    with pytest.MonkeyPatch.context() as patch:
        first = make_agent(tmp_path / "count", api)
        assert first.run_once().exit_code == EXIT_OK
        api.renew("assoc-1", v2)
        count = crashing(patch, None)
        assert first.run_once().exit_code == EXIT_OK
        total = count()
    assert total > 10

    for at in range(1, total + 1):
        api.renew("assoc-1", v1)
        root = tmp_path / f"crash-{at}"
        agent = make_agent(root, api)
        assert agent.run_once().exit_code == EXIT_OK
        api.renew("assoc-1", v2)
        with pytest.MonkeyPatch.context() as patch:
            crashing(patch, at)
            with pytest.raises(Crash):
                agent.run_once()
        live = root / "etc" / "live" / "web"
        serial, whole = served_set(live)
        assert whole, f"crash at step {at}: the live files are not one set"
        assert serial in (v1.certificate.serial_number, v2.certificate.serial_number)

        again = make_agent(root, api).run_once()  # the re-run (a new process: a new Agent)
        assert again.exit_code == EXIT_OK, (at, again)
        assert served_set(live) == (v2.certificate.serial_number, True), f"crash at step {at}: did not converge"
        assert association.deployment["deployedVersion"] == 2
        leftovers = [p.name for p in (root / "etc" / "archive" / "web").iterdir() if p.name.startswith(".")]
        assert leftovers == [], (at, leftovers)


def test_a_certbot_live_directory_is_adopted_as_the_set_to_roll_back_to(
    agent: AgentRunner, association: Association, v1: Leaf, ca: Authority
) -> None:
    """certbot's layout in the same folder: live/web/*.pem link to ../../archive/web/*1.pem."""
    old = issue(ca, 0)
    archive = agent.output / "archive" / "web"
    archive.mkdir(parents=True)
    for role, text in {
        "cert": old.certificate_pem,
        "chain": old.chain_pem,
        "fullchain": old.certificate_pem + old.chain_pem,
        "privkey": old.key_pem,
    }.items():
        (archive / f"{role}1.pem").write_text(text)
    agent.live.mkdir(parents=True)
    for role in ("cert", "chain", "fullchain", "privkey"):
        (agent.live / f"{role}.pem").symlink_to(f"../../archive/web/{role}1.pem")
    assert agent().code == EXIT_OK
    assert agent.live.is_symlink() and served_set(agent.live) == (v1.certificate.serial_number, True)
    adopted = [p for p in archive.iterdir() if p.name.startswith("adopted-")]
    assert len(adopted) == 1 and served_set(adopted[0]) == (old.certificate.serial_number, True)
    assert mode(adopted[0] / "privkey.pem") == 0o600


def test_a_full_disk_while_writing_leaves_the_live_set_and_reports_failed(
    agent: AgentRunner, api: FakeApi, association: Association, v1: Leaf, ca: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agent().code == EXIT_OK
    api.renew("assoc-1", issue(ca, 2))

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(installer_module.os, "fsync", disk_full)
    result = agent()
    monkeypatch.undo()
    assert result.code == 5, result.err
    assert served_set(agent.live) == (v1.certificate.serial_number, True)
    assert association.deployment["state"] == "FAILED" and "No space left" in association.deployment["lastError"]
    assert [p.name for p in (agent.output / "archive" / "web").iterdir() if not p.name.startswith("v1-")] == []


def test_only_associations_the_config_names_are_confirmed_and_a_missing_one_exits_1(
    agent: AgentRunner, api: FakeApi, association: Association, ca: Authority
) -> None:
    other = api.add(Association("assoc-2", "cert-other", "other", HOST, {1: issue(ca, 1)}, 1))
    assert agent().code == EXIT_OK
    assert (association.consent, other.consent) == ("CONFIRMED", "PENDING_CONFIRMATION")
    assert "/certificates/cert-other/bundle" not in api.paths("GET")
    agent.write(entry='[[certificate]]\nname = "gone"\ncertificate = "cert-gone"')
    result = agent()
    assert result.code == 1 and "gone: no association of certificate cert-gone to this host" in result.err


def _by_name(agent: AgentRunner, certificate: str) -> None:
    agent.config.write_text(
        f'output_dir = "{agent.output}"\nretry_failed_after = 0\n[[certificate]]\nname = "web"\ncertificate = "{certificate}"\n'
    )


def test_a_certificate_named_by_name_is_never_confirmed_on_the_hosts_behalf(
    agent: AgentRunner, api: FakeApi, ca: Authority
) -> None:
    """Names are not unique: anyone who can create a certificate can name it `web` and associate it with this host.
    Only a certificate id makes the agent consent; a name selects an association the host already confirmed."""
    planted = api.add(Association("assoc-9", "cert-planted", "web-name", HOST, {1: issue(ca, 1)}, 1))
    _by_name(agent, "web-name")
    result = agent()
    assert result.code == 1 and "confirms only certificates its configuration names by id" in result.err
    assert planted.consent == "PENDING_CONFIRMATION"
    assert "/certificates/cert-planted/bundle" not in api.paths("GET") and not agent.live.exists()
    planted.consent = "CONFIRMED"  # the host's operator confirmed it (certwright assoc confirm): now it installs
    assert agent().code == EXIT_OK and agent.live.is_symlink()


def test_a_name_two_certificates_share_is_refused_as_ambiguous(agent: AgentRunner, api: FakeApi, ca: Authority) -> None:
    for n in (1, 2):
        api.add(Association(f"assoc-{n}", f"cert-{n}", "twin", HOST, {1: issue(ca, 1)}, 1, consent="CONFIRMED"))
    _by_name(agent, "twin")
    result = agent()
    assert result.code == 1 and "2 certificates are named twin (cert-1, cert-2): name one by id" in result.err
    assert not any("/bundle" in p for p in api.paths("GET")) and not agent.live.exists()


def test_its_own_pending_association_is_found_past_planted_unconfirmed_ones(
    agent: AgentRunner, api: FakeApi, ca: Authority
) -> None:
    """A full poll lists at most `max_unconfirmed` unconfirmed associations; the agent asks again by certificate id
    for a configured certificate the full answer left out, and confirms and installs it."""
    api.max_unconfirmed = 3
    for n in range(5):  # older than the host's own: they fill the full answer's unconfirmed slots
        api.add(Association(f"assoc-a{n}", f"cert-planted-{n}", "planted", HOST, {1: issue(ca, 1)}, 1))
    own = api.add(Association("assoc-z", "cert-agent", "web", HOST, {1: issue(ca, 1)}, 1))
    result = agent()
    assert result.code == EXIT_OK, result.err
    assert own.consent == "CONFIRMED" and agent.live.is_symlink()
    polls = [body for method, path, _, body in api.requests if (method, path) == ("POST", "/bundles/poll")]
    assert polls == [{}, {"certificateIds": ["cert-agent"]}]
