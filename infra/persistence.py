"""The local runtime's memory across restarts: snapshots of the embedded AWS (moto's backends) in a state folder.

What is kept: every moto backend this process used (DynamoDB tables with all items and their streams, KMS keys
with their key material, S3 objects, ACM certificates, ELBv2 load balancers and listeners, EC2 networks,
EventBridge buses and rules, SQS queues and messages, SNS topics, IAM roles), the port moto served on, the
deployed resources' physical ids, and where the router stood in each table stream.

How: one file, `aws-state.bin` (a JSON header line, then the backends pickled with key material as DER), written
atomically (temporary file, fsync, rename) in a 0700 folder, mode 0600. A snapshot is taken with the router
paused between batches and every moto request finished (the Gate), so stream position and data agree.
It is written at startup, within `save_seconds` of any change (default 2 s: a kill -9 loses at most that much;
longer when a capture itself takes long, see Snapshotter) and once more on a clean stop.

Stream position: on restart a table stream resumes at the first record the router had not yet delivered when the
snapshot was taken: what was delivered is not replayed, what was not is delivered (the records before it are
trimmed from the restored shard, so the template's TRIM_HORIZON starts there; a LATEST source would skip the
undelivered ones, as a new Lambda mapping does). After a kill -9 the data and the position go back together.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import io
import json
import logging
import os
import pickle
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import moto
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from moto.core.base_backend import BackendDict

from infra.embedded_aws import DEFAULT_PORT, Gate, StartupError
from infra.resources import ACCOUNT, REGION, Physical

log = logging.getLogger("infra.local")

STATE_FILE = "aws-state.bin"
LOCK_FILE = "lock"
FORMAT = 1
MAGIC = b"certwright-local-state\n"
DEFAULT_SAVE_SECONDS = 2.0

_LOCK_TYPE = type(threading.Lock())
_RLOCK_TYPE = type(threading.RLock())
_BACKEND_DICT_FIELDS = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}
_DER = serialization.Encoding.DER
_PRIVATE_KEYS = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    dsa.DSAPrivateKey,
    x25519.X25519PrivateKey,
    x448.X448PrivateKey,
)
_PUBLIC_KEYS = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    dsa.DSAPublicKey,
    x25519.X25519PublicKey,
    x448.X448PublicKey,
)


class StateError(StartupError):
    """The state folder cannot be used as asked (in use, unreadable, or recorded on another port)."""


@dataclass(frozen=True)
class SavedState:
    """What the last snapshot in a state folder holds."""

    port: int
    saved_at: str
    resources: dict[str, Physical]
    streams: dict[str, int]  # table name -> first sequence number the router had not delivered
    backends: bytes = field(repr=False)


# ------------------------------------------------------------------------------------------ the folder


class StateDir:
    """A state folder, locked for this process (one local runtime per folder)."""

    def __init__(self, path: Path, lock: io.BufferedRandom) -> None:
        self.path = path
        self._lock = lock

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path | str) -> Iterator[StateDir]:
        folder = Path(path).resolve()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)  # it holds the local CAs' private keys
        descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        lock = os.fdopen(descriptor, "r+b")
        try:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = lock.read().decode(errors="replace").strip() or "?"
                raise StateError(
                    f"the state folder {folder} is in use by another local runtime (pid {holder}); stop it first, "
                    "or use another folder (CERTWRIGHT_STATE_DIR) or an ephemeral run (make up EPHEMERAL=1)"
                ) from None
            lock.seek(0)
            lock.truncate()
            lock.write(str(os.getpid()).encode())
            lock.flush()
            for stale in folder.glob(f".{STATE_FILE}.*.tmp"):  # a run killed while writing; ours alone now
                stale.unlink(missing_ok=True)
            yield cls(folder, lock)
        finally:
            lock.close()  # releases the lock

    @property
    def file(self) -> Path:
        return self.path / STATE_FILE

    def load(self) -> SavedState | None:
        """The last snapshot, or None for an empty folder."""
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return None
        header, _, backends = raw[len(MAGIC) :].partition(b"\n")
        try:
            if not raw.startswith(MAGIC):
                raise ValueError("not a Certwright state file")
            meta = json.loads(header)
        except ValueError as err:
            raise StateError(f"{self.file} is unreadable ({err}); {_START_OVER.format(folder=self.path)}") from err
        if meta.get("format") != FORMAT or meta.get("moto") != moto.__version__:
            raise StateError(
                f"{self.file} was written by another version (state format {meta.get('format')}, moto "
                f"{meta.get('moto')}; this is format {FORMAT}, moto {moto.__version__}) and cannot be restored; "
                + _START_OVER.format(folder=self.path)
            )
        resources = {k: Physical(v["ref"], dict(v["attributes"])) for k, v in meta["resources"].items()}
        return SavedState(int(meta["port"]), str(meta["savedAt"]), resources, dict(meta["streams"]), backends)

    def save(self, meta: Mapping[str, Any], backends: bytes) -> None:
        """Replace the snapshot atomically: a reader (or a crash) sees the old file or the new one, never a mix."""
        temporary = self.path / f".{STATE_FILE}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(MAGIC + json.dumps(meta, sort_keys=True).encode() + b"\n")
                out.write(backends)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.file)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


_START_OVER = (
    "move the folder away to start empty (`mv {folder} {folder}.old`), or run without it (make up EPHEMERAL=1)"
)


def choose_port(requested: int | None, saved: SavedState | None, folder: Path | str | None) -> int:
    """The embedded AWS port: the saved one (its certificates' CRL and caIssuers URLs name it), else as asked.

    `requested`: None when nobody asked (DEFAULT_PORT for a new folder), 0 for any free port.
    """
    if saved is None:
        return DEFAULT_PORT if requested is None else requested
    if requested in (None, 0, saved.port):
        return saved.port
    raise StateError(
        f"the state in {folder} was recorded with the embedded AWS on port {saved.port}, and the certificates it "
        f"holds name http://127.0.0.1:{saved.port}/ in their CRL and caIssuers URLs; refusing to start on port "
        f"{requested}. Start on port {saved.port} (unset CERTWRIGHT_AWS_PORT), or use another folder "
        "(CERTWRIGHT_STATE_DIR) or an ephemeral run (make up EPHEMERAL=1)."
    )


# ------------------------------------------------------------------------------------------ moto's backends


def _load_private_key(der: bytes) -> PrivateKeyTypes:
    return serialization.load_der_private_key(der, password=None)


def _load_public_key(der: bytes) -> PublicKeyTypes:
    return serialization.load_der_public_key(der)


def _load_certificate(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _load_csr(der: bytes) -> x509.CertificateSigningRequest:
    return x509.load_der_x509_csr(der)


class _Pickler(pickle.Pickler):
    """Pickles moto's models; cryptography's keys and certificates travel as DER, locks are made anew."""

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is _LOCK_TYPE:
            return threading.Lock, ()
        if kind is _RLOCK_TYPE:
            return threading.RLock, ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if not kind.__module__.startswith("cryptography."):
            return NotImplemented
        if isinstance(obj, x509.Certificate):
            return _load_certificate, (obj.public_bytes(_DER),)
        if isinstance(obj, x509.CertificateSigningRequest):
            return _load_csr, (obj.public_bytes(_DER),)
        if isinstance(obj, _PRIVATE_KEYS):
            der = obj.private_bytes(_DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            return _load_private_key, (der,)
        if isinstance(obj, _PUBLIC_KEYS):
            return _load_public_key, (obj.public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo),)
        return NotImplemented


def _where(backends: BackendDict[Any]) -> tuple[str, str]:
    """The module attribute that holds this BackendDict (where the restore finds the live one)."""
    home = sys.modules.get(backends.backend.__module__)
    candidates = [home] if home is not None else []
    candidates += [m for name, m in list(sys.modules.items()) if name.startswith("moto.") and m is not home]
    for module in candidates:
        for attribute, value in vars(module).items():
            if value is backends:
                return module.__name__, attribute
    raise RuntimeError(f"cannot locate moto's {backends.service_name} backends")


def capture_backends() -> bytes:
    """Pickle every moto backend in use. Hold the Gate exclusively: no request may change them meanwhile."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    streams = []
    for backends in list(BackendDict._instances):  # type: ignore[misc]
        accounts = {account: dict(regions.items()) for account, regions in backends.items()}
        for regions in accounts.values():
            for backend in regions.values():
                if hasattr(backend, "shard_iterators"):
                    streams.append(backend)
        extras = {k: v for k, v in vars(backends).items() if k not in _BACKEND_DICT_FIELDS}
        state[_where(backends)] = {"extras": extras, "accounts": accounts}
    # Shard iterators are per-reader cursors (one more per poll); the router makes new ones after a restart.
    iterators = [(backend, backend.shard_iterators) for backend in streams]
    try:
        for backend in streams:
            backend.shard_iterators = {}
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
        return buffer.getvalue()
    finally:
        for backend, saved in iterators:
            backend.shard_iterators = saved


def _capture_with_retries(attempts: int = 3) -> bytes:
    """capture_backends(), again if an ungated request (an SQS receive) changed a collection while it was pickled."""
    for _ in range(attempts - 1):
        with contextlib.suppress(RuntimeError):  # "dictionary changed size during iteration"
            return capture_backends()
    return capture_backends()


def restore_backends(blob: bytes) -> None:
    """Put pickled backends in place of the live (freshly reset) ones. Call before anything uses moto."""
    state: dict[tuple[str, str], dict[str, Any]] = pickle.loads(blob)  # noqa: S301 - our own 0600 state file
    for (module_name, attribute), entry in state.items():
        live = getattr(importlib.import_module(module_name), attribute)
        vars(live).update(entry["extras"])
        for account, regions in entry["accounts"].items():
            holder = live[account]
            for region, backend in regions.items():
                dict.__setitem__(holder, region, backend)


# ------------------------------------------------------------------------------------------ stream position


def stream_positions(router: Any) -> dict[str, int]:
    """Per table: the first sequence number the router has not delivered yet (call with the router paused).

    Reads the router's stream sources (`Router.stream_iterators()`, each source's current shard iterator) and
    moto's cursor behind each iterator; a table read by several functions keeps the lowest.
    """
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    cursors = dynamodbstreams_backends[ACCOUNT][REGION].shard_iterators
    positions: dict[str, int] = {}
    for iterator in router.stream_iterators():
        cursor = cursors.get(iterator)
        if cursor is None:
            continue
        table = cursor.stream_shard.table.name
        positions[table] = min(int(cursor.sequence_number), positions.get(table, int(cursor.sequence_number)))
    return positions


def trim_streams(positions: Mapping[str, int]) -> None:
    """Drop the restored stream records before each position, so a TRIM_HORIZON reader starts there."""
    from moto.dynamodb.models import dynamodb_backends

    tables = dynamodb_backends[ACCOUNT][REGION].tables
    for name, position in positions.items():
        shard = getattr(tables.get(name), "stream_shard", None)
        if shard is None:
            continue
        delivered = max(0, min(position - shard.starting_sequence_number, len(shard.items)))
        shard.items = shard.items[delivered:]
        shard.starting_sequence_number += delivered


def restore(saved: SavedState) -> None:
    restore_backends(saved.backends)
    trim_streams(saved.streams)


# ------------------------------------------------------------------------------------------ snapshots


class Snapshotter:
    """Writes snapshots: now, within `save_seconds` of a change (a background thread), and on stop."""

    def __init__(
        self,
        state: StateDir,
        gate: Gate,
        port: int,
        resources: Mapping[str, Physical],
        router: Any = None,
        save_seconds: float = DEFAULT_SAVE_SECONDS,
    ) -> None:
        self.state = state
        self.gate = gate
        self.port = port
        self.resources = dict(resources)
        self.router = router
        self.save_seconds = save_seconds
        self.saved_changes: int | None = None
        self.last_capture_seconds = 0.0
        self._save_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def save(self, force: bool = False) -> bool:
        """Write a snapshot if anything changed since the last one (or `force`); True if one was written."""
        with self._save_lock:
            if not force and self.gate.changes == self.saved_changes:
                return False
            with self._router_paused(), self.gate.exclusive():
                started = time.monotonic()
                changes = self.gate.changes
                backends = _capture_with_retries()
                streams = stream_positions(self.router) if self.router is not None else {}
                self.last_capture_seconds = time.monotonic() - started
            meta = {
                "format": FORMAT,
                "moto": moto.__version__,
                "port": self.port,
                "savedAt": datetime.now(UTC).isoformat(),
                "resources": {k: {"ref": v.ref, "attributes": v.attributes} for k, v in self.resources.items()},
                "streams": streams,
            }
            self.state.save(meta, backends)
            self.saved_changes = changes
            return True

    def _router_paused(self) -> Any:
        """The router's lock: held, it is between passes (no batch half-delivered)."""
        lock = getattr(self.router, "_lock", None)
        return lock if lock is not None else contextlib.nullcontext()

    def start(self) -> None:
        self.save(force=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="certwright-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write the last snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        self.save()

    def _loop(self) -> None:
        # A capture stops every moto request: with a large state, space them so they take at most ~20% of the time.
        while not self._stop.wait(max(self.save_seconds, 4 * self.last_capture_seconds)):
            try:
                self.save()
            except Exception as err:  # noqa: BLE001 - keep trying; the previous snapshot is still whole
                log.warning("saving the local state failed: %s: %s", type(err).__name__, err)


def save_seconds_from_env(env: Mapping[str, str] | None = None) -> float:
    raw = (os.environ if env is None else env).get("CERTWRIGHT_STATE_SAVE_SECONDS", "").strip()
    return max(0.1, float(raw)) if raw else DEFAULT_SAVE_SECONDS
