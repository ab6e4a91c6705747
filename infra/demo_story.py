"""The demo's harness: a story of checked steps against the local runtime (API calls, waits, files, openssl verify)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from certwright_client.cli import Client

from infra import demo_output as output
from infra.api_events import LOCAL_ADMIN


class Story:
    """The demo's steps share this: the API client, the embedded AWS session, a work folder, and the tally."""

    def __init__(self, workdir: Path, api_url: str, session: Any) -> None:
        self.workdir = workdir
        self.api_url = api_url
        self.session = session
        self.failures: list[str] = []
        self.summary: list[tuple[str, str]] = []

    def chapter(self, title: str) -> None:
        output.chapter(title)

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        output.step(what, ok, detail)
        if not ok:
            self.failures.append(what)
        return ok

    def call(self, method: str, path: str, body: Any = None, caller: str = LOCAL_ADMIN) -> tuple[int, Any]:
        """One HTTP request to the local API, through the same client the certwright CLI uses."""
        return Client(self.api_url, caller, sign=False).call(method, path, body)

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float) -> Any:
        """Poll `probe` until it returns something truthy or `timeout` seconds pass (then the step fails).

        The first polls come 0.1 s apart (most waits are for one router delivery), then further apart up to
        1 s (a long wait, such as for the sweep, costs no more polls than it did)."""
        output.waiting(what, timeout)
        deadline = time.monotonic() + timeout
        pause = 0.1
        while time.monotonic() < deadline:
            result = probe()
            if result:
                return result
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(1.0, pause * 1.5)
        self.check(what, False, f"not within {timeout:.0f} s")
        return None

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def openssl_verify(self, what: str, root: Path, leaf: Path, *extra: str, untrusted: Path | None = None) -> bool:
        command = ["openssl", "verify", "-x509_strict", *extra, "-CAfile", str(root)]
        if untrusted is not None:
            command += ["-untrusted", str(untrusted)]
        result = subprocess.run([*command, str(leaf)], capture_output=True, text=True, check=False)
        return self.check(what, result.returncode == 0, (result.stdout + result.stderr).strip().splitlines()[-1])
