"""Installs a checked bundle as one set of files that replaces the live set in a single rename.

Layout (certbot's names): `<output>/live/<name>` is a symlink to `../archive/<name>/v<N>-<serial>/`, a directory
holding cert.pem, chain.pem, fullchain.pem and privkey.pem. certbot links each live file to its own archive file
and so switches four links one by one; here the one `live/<name>` link switches the whole set at once, so a
reader (nginx reloading, a crash, a second look) sees the old set or the new set, never a mix. Each file is
written as a temporary file in its own directory, fsynced, renamed; the key is created with its final mode
(0600 by default) by os.open, before a byte of it is written. The previous sets stay for rollback.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certwright_client.agent.config import CertificateConfig
from certwright_client.agent.verify import Material


class InstallError(Exception):
    """The files could not be written (disk full, permissions): the live set is unchanged."""


@dataclass(frozen=True)
class LiveSet:
    name: str  # v<N>-<serial> (or adopted-<time> for files that were there before the agent)
    path: Path
    version: int | None
    serial: int | None


def set_name(version: int, serial: int) -> str:
    return f"v{version}-{serial:x}"


def parse_set_name(name: str) -> tuple[int | None, int | None]:
    head, _, serial = name.partition("-")
    if head.startswith("v") and head[1:].isdigit() and serial:
        with contextlib.suppress(ValueError):
            return int(head[1:]), int(serial, 16)
    return None, None


class Installer:
    def __init__(self, output_dir: Path, entry: CertificateConfig, keep: int = 3) -> None:
        self.entry = entry
        self.keep = keep
        self.live = output_dir / "live" / entry.name
        self.archive = output_dir / "archive" / entry.name

    # -- what is there --------------------------------------------------------------------------------------

    def current(self) -> LiveSet | None:
        """The set live/<name> points at, None when there is none (first install, or files not the agent's)."""
        try:
            target = os.readlink(self.live)
        except (FileNotFoundError, OSError):
            return None
        path = (self.live.parent / target).resolve()
        if path.parent != self.archive.resolve() or not path.is_dir():
            return None
        version, serial = parse_set_name(path.name)
        return LiveSet(path.name, path, version, serial)

    def set_path(self, name: str) -> Path:
        return self.archive / name

    def file(self, role: str) -> Path:
        """The path readers use: live/<name>/<file>."""
        return self.live / self.entry.files[role]

    # -- writing ----------------------------------------------------------------------------------------------

    def stage(self, material: Material) -> Path:
        """Write the complete set in its own directory (nothing points at it yet); return the directory."""
        name = set_name(material.version, material.serial)
        final = self.archive / name
        current = self.current()
        if current is not None and current.name == name:
            return final  # already live (a re-run after the switch): never rewrite what readers use
        staging = self.archive / f".staging-{name}-{secrets.token_hex(4)}"
        try:
            self._mkdirs()
            os.mkdir(staging, 0o700)
            contents = {
                "cert": material.certificate_pem,
                "chain": material.chain_pem,
                "fullchain": material.certificate_pem + material.chain_pem,
                "privkey": material.private_key_pem,
            }
            for role in ("cert", "chain", "fullchain", "privkey"):
                mode = self.entry.key_mode if role == "privkey" else self.entry.mode
                write_file(staging / self.entry.files[role], contents[role], mode, self.entry.uid, self.entry.gid)
            self._own(staging, self.entry.dir_mode)
            _fsync_dir(staging)
            if final.exists():  # a set staged by a run that crashed before switching; not live (checked above)
                shutil.rmtree(final)
            os.replace(staging, final)
            _fsync_dir(self.archive)
        except OSError as err:
            shutil.rmtree(staging, ignore_errors=True)
            raise InstallError(f"cannot write {final}: {err.strerror or err}") from None
        return final

    def switch(self, target: Path) -> LiveSet | None:
        """Point live/<name> at `target` in one rename; return the set it pointed at before."""
        previous = self.current()
        try:
            self._mkdirs()
            if self.live.is_dir() and not self.live.is_symlink():
                previous = self._adopt()
            link = self.live.parent / f".{self.entry.name}.link-{secrets.token_hex(4)}"
            os.symlink(os.path.relpath(target, self.live.parent), link)
            try:
                os.replace(link, self.live)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(link)
                raise
            _fsync_dir(self.live.parent)
        except OSError as err:
            raise InstallError(f"cannot switch {self.live} to {target.name}: {err.strerror or err}") from None
        return previous

    def prune(self) -> list[str]:
        """Remove sets beyond `keep` (never the live one) and staging leftovers of crashed runs."""
        removed: list[str] = []
        if not self.archive.is_dir():
            return removed
        live = self.current()
        sets = sorted(
            (p for p in self.archive.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        keep = {p.name for p in sets[: self.keep]} | ({live.name} if live else set())
        for path in self.archive.iterdir():
            if path.is_dir() and (path.name.startswith(".staging-") or path.name not in keep):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        for path in self.live.parent.glob(f".{self.entry.name}.link-*"):
            with contextlib.suppress(OSError):
                path.unlink()
        return removed

    def _adopt(self) -> LiveSet:
        """live/<name> is a directory (certbot's, or copied by hand): keep its files as a set to roll back to."""
        name = f"adopted-{int(time.time())}"
        adopted = self.archive / name
        adopted.mkdir(mode=0o700, exist_ok=True)
        for role, file_name in self.entry.files.items():
            source = self.live / file_name
            if source.exists():
                mode = self.entry.key_mode if role == "privkey" else self.entry.mode
                write_file(adopted / file_name, source.read_text(), mode, self.entry.uid, self.entry.gid)
        self._own(adopted, self.entry.dir_mode)
        _fsync_dir(adopted)
        # The old directory leaves live/ in one rename (kept beside the sets); the link takes its place next.
        os.replace(self.live, self.archive / f".replaced-{name}")
        return LiveSet(name, adopted, None, None)

    def _mkdirs(self) -> None:
        for folder in (self.live.parent, self.archive):
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)

    def _own(self, path: Path, mode: int) -> None:
        if self.entry.uid != -1 or self.entry.gid != -1:
            os.chown(path, self.entry.uid, self.entry.gid)
        os.chmod(path, mode)


def write_file(path: Path, text: str, mode: int, uid: int = -1, gid: int = -1) -> None:
    """A temporary file beside `path`, created with `mode` (never wider, whatever the umask), fsynced, renamed."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode & 0o600)
    try:
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)  # the exact mode (the umask may have narrowed it; it never widened it)
        with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    os.close(fd)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """What the agent did for one lineage, written before and after each step (never any key material).

    phase: `switching` (the new set is complete, the link is being switched), `switched` (live is the new set;
    reload, verify, report still due), `deployed` (verified or not, report `reported`), `failed`.
    """

    def __init__(self, state_dir: Path, name: str) -> None:
        self.path = state_dir / f"{name}.json"

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, **record: Any) -> dict[str, Any]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_file(self.path, json.dumps(record, sort_keys=True) + "\n", 0o600)
        return record
