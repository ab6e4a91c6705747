"""A real nginx on 127.0.0.1 (a non-daemon master with its config, pid and logs in a temp dir) serving the files
the agent writes; `reload_command` is what the agent's config runs. Tests skip only when not root and nginx is
absent (`make tools` installs it; CI runs as root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from certwright_client.agent.verify import served_serial


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    if os.geteuid() != 0:
        pytest.skip("nginx is not installed and this is not root (`make tools` installs it)")
    subprocess.run(["make", "-s", "tools"], cwd=Path(__file__).resolve().parents[2], check=True)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Nginx:
    binary: str
    prefix: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def reload_command(self) -> str:
        return f"{self.binary} -p {self.prefix} -c {self.conf} -e {self.prefix / 'error.log'} -s reload"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def write_config(self, live: Path) -> None:
        temp = self.prefix / "temp"
        temp.mkdir(exist_ok=True)
        paths = "\n".join(
            f"    {kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf.write_text(
            f"""daemon off;
worker_processes 1;
pid {self.prefix / "nginx.pid"};
error_log {self.prefix / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    access_log off;
{paths}
    server {{
        listen 127.0.0.1:{self.port} ssl;
        server_name www.agent.example;
        ssl_certificate {live / "fullchain.pem"};
        ssl_certificate_key {live / "privkey.pem"};
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def nginx(prefix: Path) -> Iterator[Nginx]:
    prefix.mkdir(parents=True, exist_ok=True)
    server = Nginx(nginx_binary(), prefix, free_port())
    try:
        yield server
    finally:
        server.stop()


def settled_serial(port: int, server_name: str, expected: int | None = None) -> int:
    """The serial served on 127.0.0.1:`port`; with `expected`, once it has been served on three handshakes in a row
    (within 5 s): after a reload, nginx's old workers finish their connections, and may accept a few, before exiting."""
    deadline, streak = time.monotonic() + 5, 0
    while True:
        seen = served_serial("127.0.0.1", port, server_name)
        streak = streak + 1 if seen == expected else 0
        if expected is None or streak == 3 or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)
