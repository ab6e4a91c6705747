"""`python -m infra.runtime` (make up) starts, prints its endpoints, serves the API and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_up_starts_serves_and_stops_cleanly() -> None:
    env = {**os.environ, "CERTWRIGHT_API_PORT": "0", "CERTWRIGHT_AWS_PORT": "0", "CERTWRIGHT_SWEEP_SECONDS": "off"}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.runtime"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(90), "the runtime did not start within 90 s"
        printed = "".join(lines)
        found = re.search(r"API\s+(http://127\.0\.0\.1:\d+)", printed)
        assert found, printed
        assert re.search(r"embedded AWS\s+http://127\.0\.0\.1:\d+", printed)
        assert "StreamPublisherFunction" in printed and "<- Stream" in printed
        with urllib.request.urlopen(found.group(1) + "/openapi.json", timeout=30) as answer:  # noqa: S310
            assert answer.status == 200
            assert json.loads(answer.read())["info"]["title"] == "Certwright"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
    assert "stopping" in "".join(lines)
