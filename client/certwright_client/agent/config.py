"""The agent's configuration: a small TOML file and command-line flags, checked before anything runs."""

from __future__ import annotations

import grp
import pwd
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_FILES = {"cert": "cert.pem", "chain": "chain.pem", "fullchain": "fullchain.pem", "privkey": "privkey.pem"}
DEFAULT_INTERVAL = 300.0
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")

# Keys a [[certificate]] entry takes; the same keys at the top level are defaults for every entry.
_ENTRY_KEYS = {
    "owner",
    "group",
    "mode",
    "key_mode",
    "dir_mode",
    "reload",
    "deploy_hooks",
    "deploy_hook_dir",
    "verify",
    "server_name",
    "verify_timeout",
    "hook_timeout",
    "files",
}
_TOP_KEYS = {
    "api",
    "caller",
    "sigv4",
    "output_dir",
    "state_dir",
    "interval",
    "keep",
    "retry_failed_after",
    "certificate",
}


class ConfigError(Exception):
    """The configuration cannot be used: one line for the operator, exit code 2."""


@dataclass(frozen=True)
class CertificateConfig:
    name: str  # the lineage: live/<name>/
    certificate: str  # the Certwright certificate id (or its name)
    uid: int = -1  # -1: leave the owner as created (the agent's user)
    gid: int = -1
    mode: int = 0o644
    key_mode: int = 0o600
    dir_mode: int = 0o755
    reload: str | None = None
    deploy_hooks: tuple[str, ...] = ()
    deploy_hook_dir: Path | None = None
    verify: tuple[str, int] | None = None
    server_name: str | None = None
    verify_timeout: float = 10.0
    hook_timeout: float = 120.0
    files: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FILES))


@dataclass(frozen=True)
class AgentConfig:
    output_dir: Path
    state_dir: Path
    certificates: tuple[CertificateConfig, ...]
    api: str | None = None
    caller: str | None = None
    sigv4: bool = False
    interval: float = DEFAULT_INTERVAL
    keep: int = 3  # sets kept per lineage: the live one and the ones before it (rollback)
    retry_failed_after: float = 3600.0  # a version that failed is tried again after this long (or when it changes)


def load(path: Path | None, flags: dict[str, Any] | None = None) -> AgentConfig:
    """The file (if any) with the flags on top; a flag `certificates` entry is `name=certificate`."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: unreadable ({err})") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not TOML: {err}") from None
    return parse(raw, flags or {}, str(path) if path else "flags")


def parse(raw: dict[str, Any], flags: dict[str, Any], where: str = "config") -> AgentConfig:
    unknown = sorted(set(raw) - _TOP_KEYS - _ENTRY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    top = {k: v for k, v in raw.items() if k in _ENTRY_KEYS}
    top |= {k: v for k, v in flags.items() if k in _ENTRY_KEYS and v not in (None, [], ())}
    entries = raw.get("certificate", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{where}: [[certificate]] must be a list of tables")
    entries = list(entries)
    for spec in flags.get("certificates") or []:
        name, sep, certificate = str(spec).partition("=")
        if not sep or not certificate:
            raise ConfigError(f"--cert takes NAME=CERTIFICATE (a lineage name and a certificate id), not {spec!r}")
        entries.append({"name": name, "certificate": certificate})
    certificates = tuple(_entry({**top, **entry}, f"{where}: certificate {entry.get('name')!r}") for entry in entries)
    if not certificates:
        raise ConfigError(f"{where}: no certificate to keep installed ([[certificate]] in the file, or --cert)")
    names = [c.name for c in certificates]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: two certificates share the name {_dupe(names)!r}")
    output = flags.get("output_dir") or raw.get("output_dir")
    if not output:
        raise ConfigError(f"{where}: output_dir is required (e.g. /etc/certwright; live/<name>/ is written there)")
    output_dir = Path(str(output))
    state = flags.get("state_dir") or raw.get("state_dir") or output_dir / "agent-state"
    interval = _number(flags.get("interval") or raw.get("interval", DEFAULT_INTERVAL), "interval", where, minimum=1)
    keep = raw.get("keep", 3)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 2:
        raise ConfigError(f"{where}: keep must be an integer >= 2 (the live set and one to roll back to)")
    api = flags.get("api") or raw.get("api")
    caller = flags.get("caller") or raw.get("caller")
    sigv4 = bool(flags.get("sigv4") or raw.get("sigv4", False))
    for key, value in (("api", api), ("caller", caller)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
    return AgentConfig(
        output_dir=output_dir,
        state_dir=Path(str(state)),
        certificates=certificates,
        api=api,
        caller=caller,
        sigv4=sigv4,
        interval=interval,
        keep=keep,
        retry_failed_after=_number(raw.get("retry_failed_after", 3600), "retry_failed_after", where, minimum=0),
    )


def _entry(entry: dict[str, Any], where: str) -> CertificateConfig:
    unknown = sorted(set(entry) - _ENTRY_KEYS - {"name", "certificate"})
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    name, certificate = entry.get("name"), entry.get("certificate")
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise ConfigError(f"{where}: name must be letters, digits, '.', '_' or '-' (it becomes live/<name>/)")
    if not isinstance(certificate, str) or not certificate:
        raise ConfigError(f"{where}: certificate (the Certwright certificate id) is required")
    files = {**DEFAULT_FILES, **_table(entry.get("files", {}), "files", where)}
    if set(files) != set(DEFAULT_FILES):
        raise ConfigError(f"{where}: files takes only {', '.join(DEFAULT_FILES)}")
    if any(not _SAFE_NAME.match(v) for v in files.values()) or len(set(files.values())) != len(files):
        raise ConfigError(f"{where}: files must be four distinct plain file names")
    hooks = entry.get("deploy_hooks", [])
    if isinstance(hooks, str):
        hooks = [hooks]
    if not isinstance(hooks, list) or not all(isinstance(h, str) and h.strip() for h in hooks):
        raise ConfigError(f"{where}: deploy_hooks must be a list of commands")
    reload = entry.get("reload")
    if reload is not None and (not isinstance(reload, str) or not reload.strip()):
        raise ConfigError(f"{where}: reload must be a command")
    hook_dir = entry.get("deploy_hook_dir")
    server_name = entry.get("server_name")
    if server_name is not None and not isinstance(server_name, str):
        raise ConfigError(f"{where}: server_name must be a host name")
    return CertificateConfig(
        name=name,
        certificate=certificate,
        uid=_user(entry.get("owner"), where),
        gid=_group(entry.get("group"), where),
        mode=_mode(entry.get("mode", "0644"), "mode", where),
        key_mode=_mode(entry.get("key_mode", "0600"), "key_mode", where),
        dir_mode=_mode(entry.get("dir_mode", "0755"), "dir_mode", where),
        reload=reload,
        deploy_hooks=tuple(hooks),
        deploy_hook_dir=Path(str(hook_dir)) if hook_dir else None,
        verify=_address(entry.get("verify"), where),
        server_name=server_name,
        verify_timeout=_number(entry.get("verify_timeout", 10), "verify_timeout", where, minimum=0),
        hook_timeout=_number(entry.get("hook_timeout", 120), "hook_timeout", where, minimum=1),
        files=files,
    )


def _table(value: Any, key: str, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: {key} must be a table of strings")
    return dict(value)


def _mode(value: Any, key: str, where: str) -> int:
    text = str(value)
    if not re.fullmatch(r"0?[0-7]{3}", text):
        raise ConfigError(f'{where}: {key} must be an octal mode like "0640", not {value!r}')
    return int(text, 8)


def _user(value: Any, where: str) -> int:
    if value is None:
        return -1
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    try:
        return pwd.getpwnam(str(value)).pw_uid
    except KeyError:
        raise ConfigError(f"{where}: no user {value!r} on this host") from None


def _group(value: Any, where: str) -> int:
    if value is None:
        return -1
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    try:
        return grp.getgrnam(str(value)).gr_gid
    except KeyError:
        raise ConfigError(f"{where}: no group {value!r} on this host") from None


def _address(value: Any, where: str) -> tuple[str, int] | None:
    if value is None:
        return None
    host, sep, port = str(value).rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: verify must be HOST:PORT (e.g. 127.0.0.1:443), not {value!r}")
    return host, int(port)


def _number(value: Any, key: str, where: str, *, minimum: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number of seconds, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{where}: {key} must be at least {minimum:g}")
    return number


def _dupe(names: list[str]) -> str:
    return next(n for n in names if names.count(n) > 1)
