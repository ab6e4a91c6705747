"""The embedded AWS: a moto server on 127.0.0.1 in this process, with the KMS shims, and Certwright wired to it."""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from certwright import bootstrap
from certwright.config import Settings
from certwright.services.context import Runtime
from moto.server import ThreadedMotoServer

from infra import moto_shims
from infra.resources import REGION, Deployment, deploy

DEFAULT_PORT = 5000

# What every process talking to the embedded AWS needs: fake credentials, the region, and (DESIGN.md) no
# account-id endpoints, which moto's DynamoDB Streams does not understand.
AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint: str
    session: boto3.Session
    settings: Settings
    container: bootstrap.Container
    deployment: Deployment


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


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
def moto_server(port: int | None = None) -> Iterator[str]:
    """Start a fresh moto server on 127.0.0.1 and point this process's AWS SDK at it; yield its endpoint.

    `port`: None reads CERTWRIGHT_AWS_PORT (default 5000; a free port if that one is taken); 0 picks a free port.
    """
    moto_shims.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    wanted = port if port is not None else int(os.environ.get("CERTWRIGHT_AWS_PORT", DEFAULT_PORT))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(wanted) if wanted else 0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    try:
        # moto keeps its accounts in module state: start from an empty one even if this process ran moto before.
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our own local server
        with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 - our own local server
            pass
        with environment({**AWS_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}):
            yield endpoint
    finally:
        server.stop()


@contextmanager
def embedded_aws(port: int | None = None, runtime: Runtime | None = None) -> Iterator[EmbeddedAws]:
    """Start moto on 127.0.0.1 (CERTWRIGHT_AWS_PORT, default 5000, or a free port if taken), create resources."""
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
