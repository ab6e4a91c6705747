"""README.md's tours, as written: the CLI tour run by bash against a fresh local runtime, the HTTP tour's requests."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import certwright_client
import pytest
from certwright_client.cli import Client
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.runtime import LocalRuntime

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(kind: str) -> list[str]:
    return [body for info, body in FENCE.findall(README.read_text()) if info == kind]


def commands(block: str) -> list[str]:
    """The block's commands, continuation lines joined (comments and blank lines dropped)."""
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_has_a_cli_tour() -> None:
    tour = [c for block in blocks("sh") for c in commands(block)]
    assert len(tour) >= 6 and all("certwright" in c for c in tour), tour
    assert not any("…" in c for c in tour), "a person cannot type an ellipsis: every value must be real"


def test_the_cli_tour_runs_as_written(runtime: LocalRuntime, tmp_path: Path) -> None:
    """Each command of every ```sh block succeeds, in order, in one shell, with `certwright` as installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "certwright"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m certwright_client.cli "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    tour = [c for block in blocks("sh") for c in commands(block)]
    # After each command a marker, so the test knows exactly which ones ran and which failed.
    script = "set -eu -o pipefail\n" + "".join(f"{c}\necho 'tour-ok {n}' >&3\n" for n, c in enumerate(tour))
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(Path(certwright_client.__file__).parents[1]),
        "CERTWRIGHT_API_URL": runtime.api_url,
    }
    env.pop("CERTWRIGHT_CALLER", None)
    marks = tmp_path / "marks"
    done = subprocess.run(
        ["bash", "-c", f"exec 3>{shlex.quote(str(marks))}\n{script}"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    ran = marks.read_text().split("\n")[:-1]
    failed = tour[len(ran)] if len(ran) < len(tour) else None
    assert done.returncode == 0 and failed is None, f"failed: {failed}\n{done.stderr[-3000:]}"
    assert ran == [f"tour-ok {n}" for n in range(len(tour))]
    assert "Traceback" not in done.stderr

    # What the tour promises: a key that matches its certificate, 0600 files, and a subordinate that fits.
    tls = work / "tls"
    certificate = x509.load_pem_x509_certificate((tls / "cert.pem").read_bytes())
    key = serialization.load_pem_private_key((tls / "key.pem").read_bytes(), None)
    assert certificate.public_key() == key.public_key()
    assert {(tls / n).stat().st_mode & 0o777 for n in ("cert.pem", "chain.pem", "fullchain.pem", "key.pem")} == {0o600}
    assert "note: no --validity given" in done.stderr


def http_requests(block: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The tour's full requests: a `METHOD /path` line followed by a JSON body over the next lines."""
    found = []
    lines = block.splitlines()
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) >= 2 and words[0] in ("POST", "PUT") and i + 1 < len(lines) and lines[i + 1].startswith("{"):
            body_lines = []
            for following in lines[i + 1 :]:
                if not following.strip():
                    break
                body_lines.append(following)
            found.append((words[0], words[1], json.loads("\n".join(body_lines))))
    return found


def test_the_http_tours_requests_are_accepted(runtime: LocalRuntime) -> None:
    """Each full request of the ```http tour is sent as shown, `ca-…` standing for the CA created just before."""
    requests = [r for block in blocks("http") for r in http_requests(block)]
    assert len(requests) >= 3
    client = Client(runtime.api_url, None, sign=False)
    last_ca: str | None = None
    for method, path, body in requests:
        text = json.dumps(body, ensure_ascii=False)
        if "ca-…" in text:
            assert last_ca is not None, f"{path} names a CA before the tour created one"
            text = text.replace("ca-…", last_ca)
        status, answer = client.call(method, path, json.loads(text))
        assert status == 201, (path, answer)
        if path == "/certificate-authorities":
            last_ca = answer["id"]


@pytest.fixture(autouse=True)
def _no_ambient_cli_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CERTWRIGHT_CALLER", raising=False)
