"""The embedded AWS port never moves silently: TIME-WAIT does not move it, a port really in use is a clear error,
and a state folder recorded on one port refuses another (its certificates' CRL and caIssuers URLs name it)."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import persistence
from infra.embedded_aws import PortInUseError, moto_server
from infra.runtime import local_runtime, main
from tests.runtime.conftest import TEST_TEMPLATE


def free_port() -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_time_wait() -> int:
    """A port with a connection in TIME-WAIT and nothing listening: what a busy run leaves behind."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = int(server.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection, _ = server.accept()
        connection.close()  # the side that closes first keeps the TIME-WAIT, on the server's port
        assert client.recv(1) == b""
        client.close()
    return port


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield int(other.getsockname()[1])


def test_a_connection_in_time_wait_does_not_move_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    port = port_in_time_wait()
    with socket.socket() as probe, pytest.raises(OSError):
        probe.bind(("127.0.0.1", port))  # a probe without address reuse is refused: the old code moved away here
    monkeypatch.setenv("CERTWRIGHT_AWS_PORT", str(port))
    with moto_server(None) as endpoint:
        assert endpoint == f"http://127.0.0.1:{port}"


def test_a_port_another_program_listens_on_is_a_clear_error(
    held_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CERTWRIGHT_AWS_PORT", str(held_port))
    with (
        pytest.raises(PortInUseError, match=f"port {held_port} on 127.0.0.1 is already in use") as refused,
        moto_server(None),
    ):
        pass
    assert "CERTWRIGHT_AWS_PORT" in str(refused.value)
    with pytest.raises(PortInUseError), local_runtime(aws_port=None, template=TEST_TEMPLATE, start_router=False):
        pass

    # `make up`: one line on stderr and exit status 1, nothing started.
    monkeypatch.setenv("CERTWRIGHT_API_PORT", "0")
    monkeypatch.delenv("CERTWRIGHT_STATE_DIR", raising=False)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert main([]) == 1
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert f"cannot start: port {held_port} on 127.0.0.1 is already in use" in capsys.readouterr().err


def test_free_ports_are_still_picked_with_zero() -> None:
    with moto_server(0) as first, moto_server(0) as second:
        assert first != second


def test_a_state_folder_recorded_on_another_port_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local_runtime(template=TEST_TEMPLATE, state_dir=tmp_path, sweep_seconds=0, start_router=False) as rt:
        recorded = int(rt.endpoint.rsplit(":", 1)[1])
    other = free_port()
    assert other != recorded
    with (
        pytest.raises(persistence.StateError, match=f"recorded with the embedded AWS on port {recorded}"),
        local_runtime(aws_port=other, template=TEST_TEMPLATE, state_dir=tmp_path, start_router=False),
    ):
        pass
    monkeypatch.setenv("CERTWRIGHT_AWS_PORT", str(other))
    with (
        pytest.raises(persistence.StateError, match=f"refusing to start on port {other}"),
        local_runtime(aws_port=None, template=TEST_TEMPLATE, state_dir=tmp_path, start_router=False),
    ):
        pass
    # Port 0 (any) and no port at all both mean the recorded one.
    monkeypatch.delenv("CERTWRIGHT_AWS_PORT")
    for asked in (0, None):
        with local_runtime(aws_port=asked, template=TEST_TEMPLATE, state_dir=tmp_path, start_router=False) as rt:
            assert rt.endpoint == f"http://127.0.0.1:{recorded}"


def test_a_recorded_port_held_by_another_program_says_so(tmp_path: Path) -> None:
    with local_runtime(template=TEST_TEMPLATE, state_dir=tmp_path, sweep_seconds=0, start_router=False) as rt:
        recorded = int(rt.endpoint.rsplit(":", 1)[1])
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", recorded))
        other.listen(1)
        with (
            pytest.raises(PortInUseError, match="recorded on this port"),
            local_runtime(template=TEST_TEMPLATE, state_dir=tmp_path, start_router=False),
        ):
            pass
