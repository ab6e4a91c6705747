"""openssl playing an outside CA: a root made with `openssl req -x509`, kept in a temporary directory."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class SettableClock(Protocol):
    now: datetime


def catch_up(clock: SettableClock) -> None:
    """Move a test clock to the wall clock (never back): what openssl signed so far is then within validity."""
    clock.now = max(clock.now, datetime.now(UTC).replace(microsecond=0))


CA_EXTENSIONS = ("basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign")


def openssl(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        ["openssl", *(str(a) for a in args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass(frozen=True)
class OpensslRoot:
    directory: Path
    key: Path
    certificate: Path

    @property
    def pem(self) -> str:
        return self.certificate.read_text()

    def reissue(self, name: str, *, days: int = 3650, subject: str | None = None) -> str:
        """A new self-signed certificate of the same key (a renewed root)."""
        out = self.directory / f"{name}.pem"
        args: list[str | Path] = ["req", "-x509", "-key", self.key, "-out", out, "-days", str(days)]
        args += ["-subj", subject or "/CN=Corp Offline Root/O=Corp/C=US"]
        for extension in CA_EXTENSIONS:
            args += ["-addext", extension]
        openssl(*args, cwd=self.directory)
        return out.read_text()


def make_root(
    directory: Path,
    name: str = "root",
    *,
    extensions: tuple[str, ...] = CA_EXTENSIONS,
    key: tuple[str, ...] = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"),
    days: int = 3650,
    subject: str = "/CN=Corp Offline Root/O=Corp/C=US",
) -> OpensslRoot:
    """`openssl req -x509` root with `extensions` (-addext each; none given: openssl's default v3_ca section)."""
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.pem"
    args: list[str | Path] = ["req", "-x509", *key, "-nodes", "-keyout", key_file, "-out", cert_file]
    args += ["-days", str(days), "-subj", subject]
    if extensions:
        args += ["-config", _config(directory, name)]
        for extension in extensions:
            args += ["-addext", extension]
    openssl(*args, cwd=directory)
    return OpensslRoot(directory, key_file, cert_file)


def _config(directory: Path, name: str) -> Path:
    # A config without openssl's default x509_extensions, so only what -addext says ends up in the certificate.
    path = directory / f"{name}.cnf"
    path.write_text("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n")
    return path


def sub_ca_extensions(directory: Path, name: str, *lines: str) -> Path:
    """A v3 extfile for `openssl x509 -req -extfile ... -extensions v3` (default: a CA with pathlen 0)."""
    body = lines or (
        "basicConstraints = critical, CA:TRUE, pathlen:0",
        "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
    )
    path = directory / f"{name}.ext"
    extra = ("subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid:always")
    path.write_text("[v3]\n" + "\n".join((*body, *extra)) + "\n")
    return path


def sign_csr(root: OpensslRoot, csr_pem: str, name: str, *, days: int = 1825, extensions: tuple[str, ...] = ()) -> str:
    """The outside root signs Certwright's CSR: `openssl x509 -req` with a v3 extfile."""
    csr, out = root.directory / f"{name}.csr", root.directory / f"{name}.pem"
    csr.write_text(csr_pem)
    ext = sub_ca_extensions(root.directory, name, *extensions)
    openssl(
        "x509", "-req", "-in", csr, "-CA", root.certificate, "-CAkey", root.key, "-set_serial",
        str(int.from_bytes(name.encode()[:8], "big") + days), "-days", str(days), "-sha384",
        "-extfile", ext, "-extensions", "v3", "-out", out,
        cwd=root.directory,
    )  # fmt: skip
    return out.read_text()
