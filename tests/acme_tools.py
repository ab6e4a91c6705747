"""Debian's ACME test servers for the ACME tests, on 127.0.0.1 free ports: pebble-challtestsrv (a DNS server whose
records a management API sets) and pebble (a reference ACME server), plus the certbot venv and lego binaries.

They skip only when a tool is missing and this is not root (`make tools` installs them; CI runs as root)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CERTBOT = ROOT / ".venv-acme" / "bin" / "certbot"


def tool(name: str) -> str:
    """The path of a tool `make tools` installs (pebble, pebble-challtestsrv, lego, .venv-acme's certbot)."""
    candidates = {"certbot": [str(CERTBOT)]}.get(name) or [shutil.which(name) or f"/usr/bin/{name}"]
    found = next((c for c in candidates if os.access(c, os.X_OK)), None)
    if found:
        return found
    if os.geteuid() != 0 and name != "certbot":
        pytest.skip(f"{name} is not installed and this is not root (`make tools` installs it)")
    subprocess.run(["make", "-s", "tools" if name != "certbot" else "acme-venv"], cwd=ROOT, check=True)
    return next(c for c in candidates if os.access(c, os.X_OK))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g}s")


@dataclass
class ChallTestSrv:
    """A running pebble-challtestsrv: its DNS server (every name's A is 127.0.0.1 unless set) and management API."""

    dns_port: int
    management_port: int

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    def post(self, path: str, payload: dict[str, object]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.management_port}{path}", data=json.dumps(payload).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (a 127.0.0.1 URL we built)
            assert response.status == 200, f"challtestsrv {path} answered {response.status}"

    def set_txt(self, host: str, value: str) -> None:
        self.post("/set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host: str) -> None:
        self.post("/clear-txt", {"host": _fqdn(host)})

    def add_a(self, host: str, *addresses: str) -> None:
        self.post("/add-a", {"host": _fqdn(host), "addresses": list(addresses)})

    def add_aaaa(self, host: str, *addresses: str) -> None:
        self.post("/add-aaaa", {"host": _fqdn(host), "addresses": list(addresses)})

    def set_cname(self, host: str, target: str) -> None:
        self.post("/set-cname", {"host": _fqdn(host), "target": _fqdn(target)})


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


@contextmanager
def challtestsrv(log_dir: Path) -> Iterator[ChallTestSrv]:
    """pebble-challtestsrv with only its DNS server (UDP and TCP) and management API, on free 127.0.0.1 ports;
    A queries answer 127.0.0.1 by default and AAAA queries nothing (the tests' servers listen on IPv4)."""
    binary = tool("pebble-challtestsrv")
    server = ChallTestSrv(free_port(), free_port())
    log = (log_dir / "challtestsrv.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "-dns01",
            f"127.0.0.1:{server.dns_port}",
            "-management",
            f"127.0.0.1:{server.management_port}",
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(server.management_port, process, "pebble-challtestsrv")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
