"""`cert bundle --out` and `ca-bundle bundle --out` write every file 0600, atomically, on every write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from certwright_client import cli as cli_module
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.cli.conftest import Cli

HOST = "arn:aws:iam::123456789012:role/files-host"
FILES = ("cert.pem", "chain.pem", "fullchain.pem", "key.pem")


@pytest.fixture
def issued(cli: Cli) -> str:
    root = cli.ok("--field", "id", "ca", "create", "--name", "files-root", "--cn", "Files Root")
    cert = cli.ok("--field", "id", "cert", "create", "--name", "files", "--issuer", root, "--cn", "files.example")
    association = cli.ok("--field", "id", "assoc", "create", "--cert", cert, "--resource", HOST)
    cli.ok("--caller", HOST, "assoc", "confirm", association)  # the host's consent: it confirms with its identity
    return cert


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in FILES)


def test_an_existing_world_readable_key_becomes_0600(cli: Cli, issued: str, tmp_path: Path) -> None:
    out = tmp_path / "tls"
    out.mkdir()
    for name in FILES:
        (out / name).write_text("old\n")
        os.chmod(out / name, 0o644)
    previous = os.umask(0)  # a careless umask cannot widen what the CLI writes
    try:
        cli.ok("--caller", HOST, "cert", "bundle", issued, "--private-key", "--out", str(out))
    finally:
        os.umask(previous)
    assert {name: mode(out / name) for name in FILES} == dict.fromkeys(FILES, 0o600)
    assert leftovers(out) == []
    certificate = x509.load_pem_x509_certificate((out / "cert.pem").read_bytes())
    key = serialization.load_pem_private_key((out / "key.pem").read_bytes(), None)
    assert certificate.public_key() == key.public_key()
    assert (out / "fullchain.pem").read_text() == (out / "cert.pem").read_text() + (out / "chain.pem").read_text()

    # Every write, not just the first: rewriting over 0600 files, and into a fresh folder (made 0700).
    os.chmod(out / "key.pem", 0o666)  # noqa: S103 - the loose mode under test
    cli.ok("--caller", HOST, "cert", "bundle", issued, "--private-key", "--out", str(out))
    assert mode(out / "key.pem") == 0o600
    fresh = tmp_path / "new" / "tls"
    cli.ok("--caller", HOST, "cert", "bundle", issued, "--private-key", "--out", str(fresh))
    assert mode(fresh) == 0o700 and {mode(fresh / n) for n in FILES} == {0o600}


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    cli: Cli, issued: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "tls"
    out.mkdir()
    (out / "key.pem").write_text("the old key\n")

    def disk_full(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli_module.os, "replace", disk_full)
    result = cli("--caller", HOST, "cert", "bundle", issued, "--private-key", "--out", str(out))
    assert result.code == cli_module.EXIT_USAGE
    assert result.err.startswith("error: OutputNotWritable: ") and "No space left" in result.err
    assert (out / "key.pem").read_text() == "the old key\n", "readers never see a half-written key"
    assert leftovers(out) == []


def test_a_ca_bundle_pem_is_written_0600(cli: Cli, tmp_path: Path) -> None:
    root = cli.ok("--field", "id", "ca", "create", "--name", "bundle-root", "--cn", "Bundle Root")
    bundle = cli.ok("--field", "id", "ca-bundle", "create", "--name", "trust", "--ca", root)
    target = tmp_path / "trust.pem"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    cli.ok("ca-bundle", "bundle", bundle, "--out", str(target))
    assert mode(target) == 0o600
    assert target.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trust.pem"]
