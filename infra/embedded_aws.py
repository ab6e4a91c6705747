"""The embedded AWS: a moto server on 127.0.0.1 in this process, with the KMS shims, and Certwright wired to it."""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session
from certwright import bootstrap
from certwright.config import Settings
from certwright.services.context import Runtime
from moto.core.botocore_stubber import MockRawResponse
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from urllib3 import HTTPHeaderDict
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import EnvironBuilder

from infra import moto_shims
from infra.resources import REGION, Deployment, deploy

log = logging.getLogger("infra.local")

DEFAULT_PORT = 5000
LISTEN_BACKLOG = 128

# What every process talking to the embedded AWS needs: fake credentials, the region, and no
# account-id endpoints, which moto's DynamoDB Streams does not understand.
AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}

# Operations that change nothing worth saving (a snapshot is written only after something else happened).
_READ_ONLY_PREFIXES = ("Get", "Describe", "List", "Scan", "Query", "BatchGet", "Head", "Receive")


class StartupError(RuntimeError):
    """The local runtime cannot start as asked; the message says why and what to do."""


class PortInUseError(StartupError):
    def __init__(self, port: int, note: str = "") -> None:
        self.port = port
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use by another program, and the embedded AWS needs it "
            f"(CERTWRIGHT_AWS_PORT, default {DEFAULT_PORT}). Stop that program (`ss -ltnp 'sport = :{port}'` "
            f"names it) or choose another port.{(' ' + note) if note else ''}"
        )


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint: str
    session: boto3.Session
    settings: Settings
    container: bootstrap.Container
    deployment: Deployment


class Gate:
    """Every moto request holds it shared; a snapshot holds it alone, so it never sees a request half-applied.

    It also counts the requests that may have changed something, so a snapshot is written only when needed.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._exclusive = False
        self._changes = 0

    @property
    def changes(self) -> int:
        with self._condition:
            return self._changes

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            while self._exclusive:
                self._condition.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            while self._exclusive:
                self._condition.wait()
            self._exclusive = True  # new requests wait from here on; the running ones finish
            while self._active:
                self._condition.wait()
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()

    def changed(self) -> None:
        with self._condition:
            self._changes += 1


def _changes_nothing(environ: Mapping[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return True
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    return bool(target) and target.rsplit(".", 1)[-1].startswith(_READ_ONLY_PREFIXES)


def _gated(app: Any, gate: Gate) -> Any:
    """The moto WSGI app, each request under the gate (the body is produced inside it, too).

    SQS ReceiveMessage is let through: a long poll may wait 20 s, and holding the gate that long would stop every
    other request while a snapshot waits. It changes only in-flight bookkeeping (a capture it disturbs is retried).
    """

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
            return app(environ, start_response)  # type: ignore[no-any-return]
        with gate.shared():
            result = app(environ, start_response)
            try:
                body = list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not _changes_nothing(environ):
                gate.changed()
        return body

    return application


class InProcessTransport:
    """This process's own requests to the embedded AWS, handed to the server's WSGI app without the socket.

    The server answers other processes (the CLI, `make up`'s clients) over HTTP; a request made in this process
    (the handlers, the router, the tests) would otherwise cross a socket to a thread of the same process: botocore's
    urllib3 and http.client, then werkzeug's HTTP parsing, for each call. Here the same app (the same gate, the
    same moto backends, the same request normalization) answers it: the request's method, path, query, headers and
    body become the WSGI environ werkzeug's server would build, and the answer becomes botocore's response.

    It takes the place of the socket, nothing above it: every botocore hook (`before-send` fault injection
    included) runs as over HTTP, and the client's read timeout holds (the app runs on a pool thread, as the server
    runs each request on its own; a call that outlasts the timeout raises ReadTimeoutError and goes on, as a server
    keeps working on a request whose client gave up). Other endpoints go out over HTTP as before.
    """

    def __init__(self) -> None:
        self._apps: dict[str, Any] = {}  # endpoint (scheme://host:port) -> its WSGI app
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def serve(self, endpoint: str, app: Any) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="embedded-aws-in-process")
                _replace_socket(self)
            self._apps[endpoint] = app

    def stop(self, endpoint: str) -> None:
        with self._lock:
            self._apps.pop(endpoint, None)

    def app_for(self, url: str) -> Any | None:
        parts = urlsplit(url)
        return self._apps.get(f"{parts.scheme}://{parts.netloc}")

    def answer(self, app: Any, request: AWSPreparedRequest, read_timeout: float | None) -> AWSResponse:
        assert self._pool is not None
        pending = self._pool.submit(_answer, app, request)
        try:
            return pending.result(timeout=read_timeout)
        except FutureTimeout as err:
            raise ReadTimeoutError(endpoint_url=request.url, error=err) from err


def _replace_socket(transport: InProcessTransport) -> None:
    """Route botocore's HTTP send through `transport` for the endpoints it serves (once per process).

    botocore takes no HTTP session of the caller's choosing, so its send method is wrapped: the one place where
    the socket would be; the read timeout is read from the session as urllib3 would get it (`_read_timeout`)."""
    original = URLLib3Session.send

    def send(session: URLLib3Session, request: AWSPreparedRequest) -> AWSResponse:
        app = transport.app_for(request.url or "")
        if app is None:
            return original(session, request)
        return transport.answer(app, request, _read_timeout(session, request))

    URLLib3Session.send = send  # type: ignore[method-assign]


def _read_timeout(session: URLLib3Session, request: AWSPreparedRequest) -> float | None:
    """The read timeout urllib3 would apply: the request's own override, else the session's (connect, read).

    Read from the session's private `_get_request_timeout` and `_timeout`: botocore keeps them nowhere public, and
    this is the one function that reaches them."""
    override = session._get_request_timeout(request)
    configured: Any = override if override is not None else session._timeout
    if isinstance(configured, tuple):
        configured = configured[1]
    read = getattr(configured, "read_timeout", configured)
    return float(read) if isinstance(read, int | float) else None


def _environ(request: AWSPreparedRequest) -> dict[str, Any]:
    """The WSGI environ werkzeug's server builds for `request`, with moto's own additions (MotoRequestHandler)."""
    url = urlsplit(request.url)
    body = request.body
    if body is not None and hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    environ = EnvironBuilder(
        method=request.method,
        base_url=f"{url.scheme}://{url.netloc}",
        path=url.path or "/",
        query_string=url.query,
        data=bytes(body or b""),
    ).get_environ()
    headers = [
        (str(name), value.decode() if isinstance(value, bytes) else str(value))
        for name, value in request.headers.items()
    ]
    # werkzeug's server drops a header with "_" in its name and joins repeated ones with ","; moto then keeps
    # S3 metadata names as sent ("x-amz-meta-my_key"), unless a dashed header of the same key came too.
    sent: set[str] = set()
    for name, value in headers:
        if "_" in name:
            continue
        key = environ_key_for_header(name)
        value = value.replace("\r\n", "")
        environ[key] = f"{environ[key]},{value}" if key in sent and key.startswith("HTTP_") else value
        sent.add(key)
    dashed = {environ_key_for_header(name) for name, _ in headers if "_" not in name}
    names: dict[str, str] = {}
    for name, value in headers:
        key = environ_key_for_header(name)
        if should_preserve_original_header_name(name) and key not in dashed:
            names.setdefault(key, name)
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
    return environ


def _answer(app: Any, request: AWSPreparedRequest) -> AWSResponse:
    """`request` answered by the WSGI `app`; the app's failure is a 500, as werkzeug's server answers it."""
    answered: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered[:] = [int(status.split(" ", 1)[0]), response_headers]
        return lambda _data: None

    try:
        result = app(_environ(request), start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:  # as werkzeug's server does: the app's failure is the caller's 500, logged here
        log.exception("embedded AWS failed to answer %s %s", request.method, urlsplit(request.url).path)
        return AWSResponse(request.url, 500, HTTPHeaderDict(), MockRawResponse(b"Internal Server Error"))
    status, response_headers = answered
    headers = HTTPHeaderDict()
    for name, value in response_headers:
        headers.add(name, value)  # a repeated header reads "a, b", as urllib3 gives it
    return AWSResponse(request.url, status, headers, MockRawResponse(content))


IN_PROCESS = InProcessTransport()


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: a free one), with address reuse so TIME-WAIT does not block it.

    Raises PortInUseError when a program really holds the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(port) from err
        raise
    return sock


def requested_port(port: int | None) -> int | None:
    """`port` as given, or (None) CERTWRIGHT_AWS_PORT when set; None means no port was asked for."""
    if port is not None:
        return port
    raw = os.environ.get("CERTWRIGHT_AWS_PORT", "").strip()
    return int(raw) if raw else None


@dataclass(frozen=True)
class MotoServer:
    endpoint: str
    port: int
    gate: Gate


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set process environment variables for the duration; restore the previous values after."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def embedded_moto(port: int = 0) -> Iterator[MotoServer]:
    """Start a fresh moto server on 127.0.0.1:`port` (0: a free port) and point this process's AWS SDK at it.

    The port never moves: a port another program listens on raises PortInUseError before anything starts.
    """
    moto_shims.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    gate = Gate()
    listening = bind(port)
    app = _gated(DomainDispatcherApplication(create_backend_app), gate)
    try:
        server: BaseWSGIServer = make_server(
            "127.0.0.1",
            port,
            app,
            threaded=True,
            request_handler=MotoRequestHandler,
            fd=listening.fileno(),
        )
    finally:
        listening.close()  # the server serves a duplicate of the descriptor
    # serve_forever checks for shutdown every poll_interval (0.5 s by default): each stop waited that long.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="certwright-embedded-aws", daemon=True)
    thread.start()
    bound = int(server.server_address[1])
    endpoint = f"http://127.0.0.1:{bound}"
    try:
        # moto keeps its accounts in module state: start from an empty one even if this process ran moto before.
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our own local server
        with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 - our own local server
            pass
        IN_PROCESS.serve(endpoint, app)
        with environment({**AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}):
            yield MotoServer(endpoint, bound, gate)
    finally:
        IN_PROCESS.stop(endpoint)
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Start a fresh moto server on 127.0.0.1 and point this process's AWS SDK at it; yield its endpoint.

    `port`: None reads CERTWRIGHT_AWS_PORT (default 5000); 0 picks a free port. A port in use raises
    PortInUseError: the port the certificates' CRL and caIssuers URLs name must not move silently.
    """
    wanted = requested_port(port)
    with embedded_moto(DEFAULT_PORT if wanted is None else wanted) as server:
        yield server.endpoint


@contextmanager
def embedded_aws(port: int | None = None, runtime: Runtime | None = None) -> Iterator[EmbeddedAws]:
    """Start moto on 127.0.0.1 (CERTWRIGHT_AWS_PORT, default 5000; 0 a free port), create the resources."""
    with moto_server(port) as endpoint:
        session = boto3.Session(region_name=REGION)
        deployment = deploy(session)
        settings = deployment.settings()
        container = bootstrap.build(settings, session=session, runtime=runtime)
        bootstrap.install(container)
        try:
            yield EmbeddedAws(endpoint, session, settings, container, deployment)
        finally:
            bootstrap.install(None)
