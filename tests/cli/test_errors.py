"""Every CLI failure is one line `error: <Code>: <message>` on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import certwright_client
import pytest
from certwright_client.cli import EXIT_API_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE, main

from tests.cli.conftest import Cli, Run, closed_port, stub_api


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def assert_one_line(result: Run, exit_code: int, code: str) -> str:
    assert result.code == exit_code, result
    assert result.out == "", "nothing on stdout when a command fails"
    assert result.err.startswith(f"error: {code}: ") and result.err.endswith("\n"), result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    return result.err.removeprefix(f"error: {code}: ").strip()


def test_an_unreachable_api(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    message = assert_one_line(run(capsys, "--api", url, "cert", "list"), EXIT_UNREACHABLE, "ApiUnreachable")
    assert url in message and "refused" in message.lower()


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "localhost", "ftp://127.0.0.1/", "http://", "http://host:port/"])
def test_an_api_url_that_is_not_http(capsys: pytest.CaptureFixture[str], url: str) -> None:
    message = assert_one_line(run(capsys, "--api", url, "cert", "list"), EXIT_USAGE, "InvalidApiUrl")
    assert repr(url) in message


def test_a_missing_or_unreadable_input_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # A closed port: the file is checked before anything is sent.
    api = ["--api", f"http://127.0.0.1:{closed_port()}"]
    missing = tmp_path / "csr.pem"
    result = run(capsys, *api, "cert", "create", "--name", "x", "--issuer", "ca-1", "--csr", str(missing))
    assert str(missing) in assert_one_line(result, EXIT_USAGE, "FileNotFound")
    binary = tmp_path / "key.der"
    binary.write_bytes(b"\x30\x82\xff\xfe")
    result = run(capsys, *api, "cert", "create", "--name", "x", "--import-cert", str(binary))
    assert_one_line(result, EXIT_USAGE, "FileUnreadable")
    result = run(capsys, *api, "ca-bundle", "create", "--name", "b", "--pem", str(tmp_path))
    assert_one_line(result, EXIT_USAGE, "FileUnreadable")


def test_usage_mistakes_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    api = ["--api", f"http://127.0.0.1:{closed_port()}"]
    assert "invalid choice" in assert_one_line(run(capsys, *api, "cert", "frob"), EXIT_USAGE, "InvalidArguments")
    assert_one_line(run(capsys, *api, "ca", "create", "--cn", "x"), EXIT_USAGE, "InvalidArguments")
    result = run(capsys, *api, "cert", "create", "--name", "x", "--issuer", "c", "--san", "www.example.com")
    assert "DNS:name" in assert_one_line(result, EXIT_USAGE, "InvalidArguments")
    assert_one_line(run(capsys, *api, "cert", "list", "--page-size", "101"), EXIT_USAGE, "InvalidArguments")
    assert run(capsys, "--help").code == 0


def test_api_refusals_carry_the_apis_code_and_message(cli: Cli) -> None:
    assert "not found" in assert_one_line(cli("cert", "get", "cert-missing"), EXIT_REFUSED, "NotFound")
    root = cli.ok("--field", "id", "ca", "create", "--name", "root", "--cn", "Errors Root", "--validity", "P1Y")
    result = cli("ca", "create", "--name", "sub", "--issuer", root, "--cn", "Too Long", "--validity", "P2Y")
    assert "after the issuing CA expires" in assert_one_line(result, EXIT_REFUSED, "ValidityExceedsIssuer")
    result = cli("cert", "create", "--name", "web", "--issuer", root, "--cn", "www.example.com", "--validity", "P0D")
    assert_one_line(result, EXIT_REFUSED, "InvalidParameter")


def test_server_failures_and_pages_that_are_not_the_apis(capsys: pytest.CaptureFixture[str]) -> None:
    def answer(path: str) -> tuple[int, str, bytes]:
        if path.startswith("/certificates/json"):
            body = {"code": "ServiceUnavailable", "message": "KMS is throttling;\nretry in a moment"}
            return 503, "application/json", json.dumps(body).encode()
        if path.startswith("/certificates/html"):
            return 502, "text/html", b"<html>\n<body>\x1b[31mBad Gateway</body>\n</html>\n"
        if path.startswith("/certificates/teapot"):
            return 418, "text/plain", b""
        return 500, "application/octet-stream", b"\xff\xfe\x00 broken"

    with stub_api(answer) as (url, _):
        message = assert_one_line(
            run(capsys, "--api", url, "cert", "get", "json"), EXIT_API_FAILED, "ServiceUnavailable"
        )
        assert message == "KMS is throttling; retry in a moment"
        message = assert_one_line(run(capsys, "--api", url, "cert", "get", "html"), EXIT_API_FAILED, "HTTP502")
        assert "\x1b" not in message and "Bad Gateway" in message
        assert_one_line(run(capsys, "--api", url, "cert", "get", "teapot"), EXIT_REFUSED, "HTTP418")
        assert_one_line(run(capsys, "--api", url, "cert", "get", "other"), EXIT_API_FAILED, "HTTP500")


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """The real process: interpreter exit included, stderr holds exactly one line."""
    env = {**os.environ, "PYTHONPATH": str(Path(certwright_client.__file__).parents[1])}
    url = f"http://127.0.0.1:{closed_port()}"
    for argv, exit_code in (
        (["--api", url, "cert", "list"], EXIT_UNREACHABLE),
        (["--api", "127.0.0.1:1", "cert", "list"], EXIT_USAGE),
        (["--api", url, "cert", "create", "--name", "x", "--csr", str(tmp_path / "no.csr")], EXIT_USAGE),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "certwright_client.cli", *argv], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == exit_code, done
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
