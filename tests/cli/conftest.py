"""The CLI against the local runtime (embedded AWS, HTTP API, router) on free ports, and a way to run it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from certwright_client.cli import main

from infra.runtime import LocalRuntime, local_runtime


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Replaces the root conftest's per-test AWS environment, which would unset the module runtime's endpoint."""


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    """One runtime per test module (schedules off: nothing renews behind the tests' back)."""
    with pytest.MonkeyPatch.context() as patch:
        # The root conftest's credentials are per test; the module's runtime needs them for its whole life.
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            patch.setenv(name, value)
        with local_runtime(sweep_seconds=0) as rt:
            yield rt


@dataclass
class Run:
    code: int
    out: str
    err: str


class Cli:
    """Runs `certwright` (its main()) against one API and captures what a terminal would show."""

    def __init__(self, api_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.api_url = api_url
        self.capsys = capsys

    def __call__(self, *argv: str) -> Run:
        self.capsys.readouterr()
        code = main(["--api", self.api_url, *argv])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def ok(self, *argv: str) -> str:
        """stdout of a command that must succeed."""
        result = self(*argv)
        assert (result.code, result.err) == (0, ""), result
        return result.out.strip()


@pytest.fixture
def cli(runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(runtime.api_url, capsys)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


Reply = tuple[int, str, bytes]  # status, content type, body


@contextmanager
def stub_api(answer: Callable[[str], Reply]) -> Iterator[tuple[str, list[str]]]:
    """A stand-in server on a free port (answers that are not the API's: 5xx pages, odd paging); yields URL and paths."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            status, content_type, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
