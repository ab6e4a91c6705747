"""The local API Gateway: HTTP on 127.0.0.1 -> API Gateway REST proxy events -> the Api function the template names.

The caller's identity comes from the `X-Certwright-Caller` header (default: the local admin); API Gateway fills
it from IAM in AWS, where the header means nothing. A request no Api event matches gets API Gateway's 403
"Missing Authentication Token"; a handler that raises gets 502, as behind API Gateway. Every method reaches the
API (which answers 405 or 404 itself), and each connection is served on its own thread (backlog 128).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra import template_model as tm
from infra.api_events import LOCAL_ADMIN, api_event
from infra.router import Handlers, HandlerUnavailable

log = logging.getLogger("infra.local")

CALLER_HEADER = "X-Certwright-Caller"
# API Gateway's payload limit; the API itself answers 413 far below it (CERTWRIGHT_MAX_BODY_BYTES).
MAX_REQUEST_BYTES = 10 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"}


@dataclass(frozen=True)
class Route:
    function: tm.Function
    event: tm.ApiEvent
    pattern: re.Pattern[str]
    stage: str

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        if self.event.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}


def _path_pattern(template_path: str) -> re.Pattern[str]:
    parts: list[str] = []
    for segment in template_path.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        single = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy.group(1)}>.+)")
        elif single:
            parts.append(f"(?P<{single.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


def routes(handlers: Handlers) -> list[Route]:
    """Every Api event of the template, most specific path first."""
    found: list[Route] = []
    deployment = handlers.deployment
    for function in deployment.template.functions:
        for event in function.events_of(tm.ApiEvent):
            stage = "prod"
            api_id = tm.referenced_resource(event.rest_api)
            api = deployment.template.resources.get(api_id or "")
            if api is not None and api.properties.get("StageName") is not None:
                stage = deployment.resolve_str(api.properties["StageName"])
            found.append(Route(function, event, _path_pattern(event.path), stage))
    return sorted(found, key=lambda r: ("+" in r.event.path, -r.event.path.count("/"), r.event.method == "ANY"))


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    """The REST proxy event for one HTTP request (built on infra.api_events, completed with what HTTP carried)."""
    parts = urlsplit(raw_path)
    caller = next((v for k, v in headers if k.lower() == CALLER_HEADER.lower()), "") or LOCAL_ADMIN
    passed = [(k, v) for k, v in headers if k.lower() != CALLER_HEADER.lower() and k.lower() not in _HOP_BY_HOP]
    if not any(k.lower() == "x-forwarded-proto" for k, _ in passed):
        passed.append(("X-Forwarded-Proto", "http"))  # API Gateway always tells the scheme; locally it is HTTP
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in passed:
        single[key] = value
        multi.setdefault(key, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    event = api_event(method, raw_path, text, caller=caller, headers=single)
    event["headers"] = single or None  # exactly what the request sent (api_event adds a default Content-Type)
    event["multiValueHeaders"] = multi or None
    query = parse_qsl(parts.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    event["multiValueQueryStringParameters"] = multi_query or None
    event["isBase64Encoded"] = encoded
    event["resource"] = route.event.path
    event["pathParameters"] = path_parameters or None
    context = event["requestContext"]
    context["resourcePath"] = route.event.path
    context["stage"] = route.stage
    context["path"] = f"/{route.stage}{parts.path}"
    context["requestTimeEpoch"] = int(time.time() * 1000)
    return event


class _RequestHandler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per request is written by _answer instead

    def _answer(self) -> None:
        started = time.monotonic()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send_json(411, {"message": "Length Required"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send_json(400, {"message": "Bad Content-Length"})
            return
        if length > MAX_REQUEST_BYTES or length < 0:
            self.close_connection = True
            self._send_json(413, {"message": "Request Too Long"})
            return
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path or "/"
        for route in self.server.routes:
            parameters = route.matches(self.command, path)
            if parameters is not None:
                break
        else:
            self._send_json(403, {"message": "Missing Authentication Token"})
            self._log(path, 403, started)
            return
        event = proxy_event(route, self.command, self.path, list(self.headers.items()), body, parameters)
        try:
            result = self.server.handlers.invoke(route.function, event)
        except HandlerUnavailable as err:
            self._send_json(502, {"message": f"Internal server error ({err})"})
            self._log(path, 502, started, route)
            return
        except Exception as err:  # noqa: BLE001 - API Gateway answers 502 when the function fails
            log.warning(
                "%-26s %s %s raised %s\n%s", route.function.logical_id, self.command, path, err, traceback.format_exc()
            )
            self._send_json(502, {"message": "Internal server error"})
            self._log(path, 502, started, route)
            return
        status = self._send_result(result)
        self._log(path, status, started, route)

    def _send_result(self, result: Any) -> int:
        if not isinstance(result, dict) or "statusCode" not in result:
            self._send_json(502, {"message": "Internal server error (malformed Lambda proxy response)"})
            return 502
        status = int(result["statusCode"])
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
        for key, values in (result.get("multiValueHeaders") or {}).items():
            if not any(k.lower() == key.lower() for k, _ in headers):
                headers.extend((key, str(v)) for v in values)
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", *_HOP_BY_HOP):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        return status

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _log(self, path: str, status: int, started: float, route: Route | None = None) -> None:
        name = route.function.logical_id if route else "gateway"
        elapsed = (time.monotonic() - started) * 1000
        summary = f"{self.command} {path}"
        log.info("%-26s %-48s %d (%.0f ms)", name, summary, status, elapsed)

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 for any method without a do_<METHOD>; like API Gateway's ANY, every method
        # (TRACE, QUERY, PROPFIND, ...) goes to the API, which answers 405 with Allow or 404 itself.
        if name.startswith("do_") and name[3:].isupper():
            return self._answer
        raise AttributeError(name)


class _GatewayServer(ThreadingHTTPServer):
    """One daemon thread per connection; a listen backlog that holds a burst of clients instead of refusing it."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handlers: Handlers) -> None:
        self.handlers = handlers
        self.routes = routes(handlers)
        super().__init__(address, _RequestHandler)


class Gateway:
    """The HTTP server on its own thread; `url` is where it listens."""

    def __init__(self, handlers: Handlers, host: str = "127.0.0.1", port: int = 8080) -> None:
        self._server = _GatewayServer((host, port), handlers)
        self._thread: threading.Thread | None = None
        for route in self._server.routes:
            handlers.available(route.function)  # load now: a missing API is logged at start, not at first request

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def routes(self) -> list[Route]:
        return list(self._server.routes)

    def start(self) -> None:
        # serve_forever checks for shutdown every poll_interval (0.5 s by default): each stop waited that long.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="certwright-gateway", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
