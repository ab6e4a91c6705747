"""`make up` (`python -m infra.runtime`): Certwright whole on one machine, wired by template.yaml.

One process runs the embedded AWS (moto server, 127.0.0.1:CERTWRIGHT_AWS_PORT, default 5000) with the
template's resources, the HTTP API (127.0.0.1:CERTWRIGHT_API_PORT, default 8080) and the event router
(stream records, bus events, schedules every CERTWRIGHT_SWEEP_SECONDS, default 10). Handlers run in this process
and build their services from the environment the template gives them, pointed at the embedded AWS. With
CERTWRIGHT_STATE_DIR (`make up`: .local-state) the embedded AWS's state survives restarts (infra/persistence.py).

Tests and demos use `local_runtime()` (free ports by default):

    with local_runtime() as rt:
        urllib.request.urlopen(rt.api_url + "/openapi.json")
        rt.router.drain()
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import boto3
from certwright import bootstrap
from certwright.config import Settings

from infra import persistence
from infra import template_model as tm
from infra.api_events import LOCAL_ADMIN
from infra.embedded_aws import PortInUseError, StartupError, embedded_moto, environment, requested_port
from infra.gateway import CALLER_HEADER, Gateway
from infra.resources import REGION, Deployment, deploy
from infra.router import Handlers, Router

DEFAULT_API_PORT = 8080
DEFAULT_SWEEP_SECONDS = 10.0


class _FromEnvironment:
    """Sentinel: read CERTWRIGHT_SWEEP_SECONDS (default 10 s)."""


FROM_ENVIRONMENT = _FromEnvironment()


@dataclass(frozen=True)
class LocalRuntime:
    endpoint: str  # the embedded AWS (AWS_ENDPOINT_URL)
    api_url: str
    session: boto3.Session
    deployment: Deployment
    handlers: Handlers
    router: Router
    gateway: Gateway
    state_dir: Path | None = None  # where the embedded AWS's state is kept (None: an ephemeral run)
    restored_from: str | None = None  # when the restored snapshot was taken
    snapshots: persistence.Snapshotter | None = None  # writes the state_dir's snapshots

    @property
    def settings(self) -> Settings:
        """The API function's Settings (raises for a template whose functions have no CERTWRIGHT_* variables)."""
        return self.deployment.settings()


def sweep_seconds_from_env(env: Mapping[str, str] | None = None) -> float | None:
    """CERTWRIGHT_SWEEP_SECONDS: a number of seconds, 0/off to disable schedules, `template` for the template's rate."""
    raw = (os.environ if env is None else env).get("CERTWRIGHT_SWEEP_SECONDS", "").strip().lower()
    if not raw:
        return DEFAULT_SWEEP_SECONDS
    if raw in ("off", "never", "false"):
        return 0.0
    if raw == "template":
        return None
    return max(0.0, float(raw))


@contextmanager
def local_runtime(
    aws_port: int | None = 0,
    api_port: int | None = 0,
    sweep_seconds: float | _FromEnvironment | None = FROM_ENVIRONMENT,
    *,
    template: tm.Template | Path | str | None = None,
    parameters: Mapping[str, str] | None = None,
    start_router: bool = True,
    state_dir: Path | str | None = None,
    save_seconds: float = persistence.DEFAULT_SAVE_SECONDS,
) -> Iterator[LocalRuntime]:
    """Start the embedded AWS, the template's resources, the gateway and (unless told not to) the router thread.

    Ports: 0 picks a free port, None reads CERTWRIGHT_AWS_PORT / CERTWRIGHT_API_PORT (defaults 5000 / 8080); a
    port in use raises PortInUseError (it never moves silently).
    `sweep_seconds`: every Schedule event runs this often; None uses the template's rate; 0 turns schedules off.
    `state_dir`: keep the embedded AWS's state there (infra/persistence.py): restored before the resources are
    deployed (existing ones are adopted), saved within `save_seconds` of a change and on exit. The port recorded
    there is used (0 or None) or insisted on (another port raises StateError). None: an ephemeral run.
    The process environment (functions' variables, AWS endpoint and credentials) is restored on exit.
    """
    model = template if isinstance(template, tm.Template) else tm.load(template or tm.DEFAULT_TEMPLATE)
    interval = sweep_seconds_from_env() if isinstance(sweep_seconds, _FromEnvironment) else sweep_seconds
    if api_port is None:
        api_port = int(os.environ.get("CERTWRIGHT_API_PORT", DEFAULT_API_PORT))
    with ExitStack() as stack:
        state = stack.enter_context(persistence.StateDir.open(state_dir)) if state_dir is not None else None
        saved = state.load() if state is not None else None
        port = persistence.choose_port(requested_port(aws_port), saved, state_dir)
        try:
            moto = stack.enter_context(embedded_moto(port))
        except PortInUseError as err:
            if saved is None:
                raise
            note = f"The state in {state_dir} was recorded on this port (its certificates' URLs name it)."
            raise PortInUseError(err.port, note) from err
        if saved is not None:
            persistence.restore(saved)
        session = boto3.Session(region_name=REGION)
        deployment = deploy(session, model, parameters, adopt=saved.resources if saved is not None else None)
        handlers = Handlers(deployment)
        stack.callback(handlers.close)
        stack.enter_context(environment(handlers.base_environment))
        bootstrap.install(None)  # handlers build their services from this environment, as in Lambda
        stack.callback(bootstrap.install, None)
        # The router polls every source only after the embedded AWS answered a write (or every quiet_poll_seconds,
        # 2 s by default): idle, it waits.
        router = Router(
            deployment,
            session,
            handlers,
            schedule_seconds=interval,
            poll_interval=0.05,
            changes=lambda: moto.gate.changes,
        )
        gateway = Gateway(handlers, port=api_port)
        snapshots = (
            persistence.Snapshotter(state, moto.gate, moto.port, deployment.resources, router, save_seconds)
            if state is not None
            else None
        )
        try:
            router.wire()
            gateway.start()
            if snapshots is not None:
                snapshots.start()
            if start_router:
                router.start()
            yield LocalRuntime(
                moto.endpoint,
                gateway.url,
                session,
                deployment,
                handlers,
                router,
                gateway,
                state.path if state is not None else None,
                saved.saved_at if saved is not None else None,
                snapshots,
            )
        finally:
            router.stop()
            gateway.stop()
            if snapshots is not None:
                snapshots.stop()


def describe(runtime: LocalRuntime) -> str:
    """What `make up` prints: the endpoints, the resources and the wiring read from the template."""
    lines = [
        "Certwright local runtime (wired by template.yaml)",
        f"  API           {runtime.api_url}   (caller: {CALLER_HEADER} header, default {LOCAL_ADMIN})",
        f"  embedded AWS  {runtime.endpoint}   (AWS_ENDPOINT_URL; any credentials; region {REGION})",
        "  resources",
    ]
    for logical_id, physical in runtime.deployment.resources.items():
        # Not every deployed name is in the template: SAM's generated `<Function>Role`s are only named.
        resource = runtime.deployment.template.resources.get(logical_id)
        if resource is not None and resource.type in tm.CREATED_TYPES:
            lines.append(f"    {resource.type:<24} {logical_id:<24} {physical.ref}")
    lines.append("  functions")
    unavailable = runtime.handlers.unavailable()
    for function in runtime.deployment.template.functions:
        kinds = ", ".join(f"{type(e).__name__.removesuffix('Event')} {e.name}" for e in function.events) or "-"
        state = f"  SKIPPED: {unavailable[function.logical_id]}" if function.logical_id in unavailable else ""
        lines.append(f"    {function.logical_id:<26} <- {kinds}{state}")
    interval = runtime.router.schedule_seconds
    shown = "the template's rate" if interval is None else ("off" if interval == 0 else f"every {interval:g}s")
    lines.append(f"  schedules     {shown} (CERTWRIGHT_SWEEP_SECONDS)")
    if runtime.state_dir is None:
        lines.append("  state         ephemeral: forgotten on exit (CERTWRIGHT_STATE_DIR unset or empty)")
    else:
        since = f"restored from the snapshot of {runtime.restored_from}" if runtime.restored_from else "new"
        lines.append(f"  state         {_shown(runtime.state_dir)} ({since}; saved within seconds of a change)")
    lines.append("Ctrl-C stops it.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    del argv
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("infra.local").setLevel(logging.INFO)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state_dir = os.environ.get("CERTWRIGHT_STATE_DIR", "").strip() or None
    try:
        with local_runtime(
            aws_port=None, api_port=None, state_dir=state_dir, save_seconds=persistence.save_seconds_from_env()
        ) as runtime:
            print(describe(runtime), flush=True)
            while not stop.wait(1.0):
                pass
            print("stopping" + (f" (saving the state in {state_dir})" if state_dir else ""), flush=True)
    except (StartupError, OSError) as err:
        print(f"cannot start: {err}", file=sys.stderr)
        return 1
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    raise SystemExit(main())
