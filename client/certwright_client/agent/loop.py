"""One agent pass (poll, confirm, fetch, check, install, reload, verify, report) and the loop that repeats it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certwright_client.agent import hooks
from certwright_client.agent.api import AgentApi, ApiDown, ApiRefused, PollItem
from certwright_client.agent.config import AgentConfig, CertificateConfig
from certwright_client.agent.installer import Installer, InstallError, Journal, LiveSet, set_name, write_file
from certwright_client.agent.verify import BundleRejected, Material, check_bundle, verify_served

log = logging.getLogger("certwright.agent")

# Exit codes of `certwright agent` (a pass's worst outcome).
EXIT_OK = 0  # every configured certificate is installed at its CURRENT version
EXIT_REFUSED = 1  # the API refused (4xx), or a configured certificate has no association to this host
EXIT_USAGE = 2  # bad flags or configuration
EXIT_API_FAILED = 3  # the API failed (5xx) or answered outside the contract; files unchanged
EXIT_UNREACHABLE = 4  # the API could not be reached; files unchanged
EXIT_DEPLOY_FAILED = 5  # a version was not installed (bundle rejected) or failed verification (rolled back)
EXIT_BUSY = 75  # another agent holds the state directory's lock (EX_TEMPFAIL)
EXIT_INTERNAL = 70

BACKOFF_BASE = 5.0


@dataclass
class Pass:
    """What one pass did, per configured lineage, and its exit code."""

    outcomes: dict[str, str]
    exit_code: int


def now_utc() -> datetime:
    return datetime.now(UTC)


class Agent:
    def __init__(self, config: AgentConfig, api: AgentApi, clock: Callable[[], datetime] = now_utc) -> None:
        self.config = config
        self.api = api
        self.clock = clock
        self.poll_state = config.state_dir / "poll.json"

    # -- one pass -----------------------------------------------------------------------------------------------

    def run_once(self) -> Pass:
        outcomes: dict[str, str] = {}
        codes: list[int] = []
        saved = self._saved_poll()
        try:
            poll = self.api.poll(saved.get("etag"))
        except ApiDown as err:
            code = EXIT_UNREACHABLE if err.unreachable else EXIT_API_FAILED
            log.warning("poll failed: %s: %s; installed files unchanged", err.code, err.message)
            return Pass({c.name: "api-down" for c in self.config.certificates}, code)
        except ApiRefused as err:
            log.error("poll refused: %s: %s", err.code, err.message)
            return Pass({c.name: "refused" for c in self.config.certificates}, EXIT_REFUSED)
        if poll.changed:
            items = list(poll.items)
            log.info("polled: %d association(s), etag %s", len(items), poll.etag)
            try:
                self._save_poll(poll.etag, items)
            except OSError as err:  # without the cache the next pass simply asks in full again
                log.error("cannot write %s: %s", self.poll_state, err.strerror or err)
                with contextlib.suppress(OSError):
                    self.poll_state.unlink()
        else:
            try:
                items = [PollItem.from_json(i) for i in saved.get("items", [])]
            except ValueError:  # a damaged cache: ask again in full next time
                items = []
                with contextlib.suppress(OSError):
                    self.poll_state.unlink()
            log.info("polled: not modified (etag %s)", poll.etag)
        items = items + self._narrowed(items)
        for entry in self.config.certificates:
            outcomes[entry.name], code = self._entry(entry, items)
            codes.append(code)
        return Pass(outcomes, max(codes, default=EXIT_OK))

    def _narrowed(self, items: list[PollItem]) -> list[PollItem]:
        """Ask again, naming them, for configured certificates a full poll did not list: a full answer carries at
        most 100 unconfirmed associations (others can create those for this host), so a new one may be left out."""
        seen = {i.certificate_id for i in items} | {i.certificate_name for i in items}
        missing = [c.certificate for c in self.config.certificates if c.certificate not in seen][:100]
        if not missing:
            return []
        try:
            found = self.api.poll(None, certificate_ids=missing)
        except (ApiDown, ApiRefused) as err:
            log.warning("narrowed poll for %s failed: %s: %s", ", ".join(missing), err.code, err.message)
            return []
        known = {i.association_id for i in items}
        return [i for i in found.items if i.association_id not in known]

    def _entry(self, entry: CertificateConfig, items: list[PollItem]) -> tuple[str, int]:
        """The poll item a configured certificate stands for, then its lineage's pass.

        A certificate id names one certificate; a name may be taken by anyone who can create a certificate, so a
        name only selects an association this host already confirmed, and only when exactly one matches: the
        agent confirms (consents to) an association only for a certificate its configuration names by id."""
        by_id = [i for i in items if i.certificate_id == entry.certificate]
        candidates = by_id or [i for i in items if i.certificate_name == entry.certificate]
        if not candidates:
            log.error("%s: no association of certificate %s to this host", entry.name, entry.certificate)
            return "not-associated", EXIT_REFUSED
        if len(candidates) > 1:
            ids = ", ".join(sorted(i.certificate_id for i in candidates))
            log.error(
                "%s: %d certificates are named %s (%s): name one by id",
                entry.name,
                len(candidates),
                entry.certificate,
                ids,
            )
            return "ambiguous", EXIT_REFUSED
        item = candidates[0]
        if not by_id and item.consent_state == "PENDING_CONFIRMATION":
            log.error(
                "%s: association %s of certificate %s (named %s) waits for this host's confirmation; the agent "
                "confirms only certificates its configuration names by id",
                entry.name,
                item.association_id,
                item.certificate_id,
                entry.certificate,
            )
            return "not-confirmed", EXIT_REFUSED
        return self._lineage(entry, item)

    def _lineage(self, entry: CertificateConfig, item: PollItem) -> tuple[str, int]:
        installer = Installer(self.config.output_dir, entry, self.config.keep)
        journal = Journal(self.config.state_dir, entry.name)
        try:
            if item.consent_state == "PENDING_CONFIRMATION":
                self.api.confirm(item.association_id)
                log.info("%s: confirmed association %s (this host's consent)", entry.name, item.association_id)
            wanted = set_name(item.version, int(item.serial, 16))
            live, record = installer.current(), journal.read()
            if (
                record.get("phase") == "failed"
                and record.get("set") == wanted
                and self._since(record.get("attemptedAt")) < self.config.retry_failed_after
            ):
                log.info("%s: v%d failed before (%s); next try later", entry.name, item.version, record.get("reason"))
                return "failed-earlier", EXIT_DEPLOY_FAILED
            if live is not None and live.name == wanted:
                if record.get("set") == wanted and record.get("phase") == "deployed":
                    if record.get("reported"):
                        log.info("%s: v%d is installed; nothing to do", entry.name, item.version)
                        return "unchanged", EXIT_OK
                    return self._report_deployed(entry, item, journal, record)
                # Switched by a run that stopped before verifying and reporting: finish what it started.
                log.info("%s: v%d is live from an unfinished run; finishing it", entry.name, item.version)
                previous = record.get("previous") if record.get("set") == wanted else None
                return self._after_switch(entry, item, installer, journal, previous)
            return self._deploy(entry, item, installer, journal, live)
        except ApiDown as err:
            log.warning("%s: API failed: %s: %s; installed files unchanged", entry.name, err.code, err.message)
            return "api-down", EXIT_UNREACHABLE if err.unreachable else EXIT_API_FAILED
        except ApiRefused as err:
            log.error("%s: refused: %s: %s", entry.name, err.code, err.message)
            return "refused", EXIT_REFUSED
        except OSError as err:  # the state directory or the files (disk full, permissions)
            wanted = set_name(item.version, int(item.serial, 16))
            return self._failed(entry, item, journal, wanted, f"local files: {err.strerror or err}")

    def _deploy(
        self, entry: CertificateConfig, item: PollItem, installer: Installer, journal: Journal, live: LiveSet | None
    ) -> tuple[str, int]:
        wanted = set_name(item.version, int(item.serial, 16))
        try:
            bundle = self.api.bundle(item.certificate_id, item.version)
        except ApiRefused as err:
            return self._failed(entry, item, journal, wanted, f"bundle refused: {err.code}: {err.message}")
        except ApiDown as err:
            # A partial download or a dropped connection: nothing written; say so if the API still listens.
            self._failed(entry, item, journal, wanted, f"bundle download failed: {err.code}: {err.message}")
            journal.write(**{**journal.read(), "attemptedAt": None})  # not a verdict on the version: retry next pass
            return "api-down", EXIT_UNREACHABLE if err.unreachable else EXIT_API_FAILED
        log.info("%s: fetched v%d (serial %s) with its key", entry.name, item.version, item.serial)
        try:
            material = check_bundle(bundle, version=item.version, serial_hex=item.serial, now=self.clock())
        except BundleRejected as err:
            return self._failed(entry, item, journal, wanted, f"not installed: {err}")
        del bundle
        try:
            target = installer.stage(material)
            log.info("%s: wrote v%d to %s", entry.name, item.version, target)
            journal.write(
                phase="switching",
                set=wanted,
                version=item.version,
                previous=live.name if live else None,
                attemptedAt=self.clock().isoformat(),
            )
            previous = installer.switch(target)
        except (InstallError, OSError) as err:  # OSError: the journal could not be written; nothing switched
            return self._failed(entry, item, journal, wanted, str(err))
        previous_name = previous.name if previous else None
        journal.write(
            phase="switched",
            set=wanted,
            version=item.version,
            previous=previous_name,
            attemptedAt=self.clock().isoformat(),
        )
        log.info("%s: live/%s -> %s (was %s)", entry.name, entry.name, wanted, previous_name or "nothing")
        return self._after_switch(entry, item, installer, journal, previous_name, material)

    def _after_switch(
        self,
        entry: CertificateConfig,
        item: PollItem,
        installer: Installer,
        journal: Journal,
        previous: str | None,
        material: Material | None = None,
    ) -> tuple[str, int]:
        wanted = set_name(item.version, int(item.serial, 16))
        domains = material.domains if material else tuple(item.hostnames)
        problem = self._reload_and_hooks(entry, installer, domains)
        verified = False
        if problem is None and entry.verify is not None:
            host, port = entry.verify
            server_name = entry.server_name or (domains[0] if domains else None)
            problem = verify_served(host, port, server_name, int(item.serial, 16), entry.verify_timeout)
            if problem is None:
                verified = True
                log.info("%s: verified: %s:%d serves serial %s", entry.name, host, port, item.serial)
        if problem is not None:
            log.error("%s: v%d failed after install: %s", entry.name, item.version, problem)
            if previous and installer.set_path(previous).is_dir():
                try:
                    installer.switch(installer.set_path(previous))
                except InstallError as err:
                    return self._failed(entry, item, journal, wanted, f"{problem}; restoring {previous} failed: {err}")
                log.info("%s: restored live/%s -> %s", entry.name, entry.name, previous)
                again = self._reload_and_hooks(entry, installer, domains)
                if again:
                    log.error("%s: reload after restoring failed too: %s", entry.name, again)
                problem += f"; restored {previous}"
            return self._failed(entry, item, journal, wanted, problem)
        record = journal.write(
            phase="deployed",
            set=wanted,
            version=item.version,
            previous=previous,
            verified=verified,
            reported=False,
            attemptedAt=self.clock().isoformat(),
        )
        for removed in installer.prune():
            log.info("%s: removed old set %s", entry.name, removed)
        return self._report_deployed(entry, item, journal, record)

    def _reload_and_hooks(self, entry: CertificateConfig, installer: Installer, domains: tuple[str, ...]) -> str | None:
        if entry.reload:
            result = hooks.run(entry.reload, None, entry.hook_timeout)
            log.info("%s: reload `%s`: %s", entry.name, entry.reload, result.detail)
            if not result.ok:
                return f"reload `{entry.reload}` failed: {result.detail}"
        env = hooks.deploy_environment(installer.live, domains)
        for command in hooks.hook_commands(entry.deploy_hooks, entry.deploy_hook_dir):
            result = hooks.run(command, env, entry.hook_timeout)
            log.info("%s: deploy hook `%s`: %s", entry.name, command, result.detail)
            if not result.ok:
                return f"deploy hook `{command}` failed: {result.detail}"
        return None

    def _report_deployed(
        self, entry: CertificateConfig, item: PollItem, journal: Journal, record: dict[str, Any]
    ) -> tuple[str, int]:
        verified = bool(record.get("verified"))
        try:
            self.api.report(item.association_id, item.version, "DEPLOYED", verified, None)
        except ApiRefused as err:
            # The version moved on meanwhile (StaleDeploymentReport): the next pass installs the new one.
            log.error("%s: report DEPLOYED v%d refused: %s: %s", entry.name, item.version, err.code, err.message)
            journal.write(**{**record, "reported": True, "reportError": err.code})
            return "deployed-unreported", EXIT_REFUSED
        journal.write(**{**record, "reported": True})
        log.info("%s: reported DEPLOYED v%d (verified=%s)", entry.name, item.version, str(verified).lower())
        return "deployed", EXIT_OK

    def _failed(
        self, entry: CertificateConfig, item: PollItem, journal: Journal, wanted: str, reason: str
    ) -> tuple[str, int]:
        log.error("%s: v%d %s", entry.name, item.version, reason)
        record = journal.read()
        try:
            journal.write(
                phase="failed",
                set=wanted,
                version=item.version,
                reason=reason,
                previous=record.get("previous"),
                attemptedAt=self.clock().isoformat(),
            )
        except OSError as err:  # a full disk: the report below still says what happened
            log.error("%s: cannot write the journal: %s", entry.name, err.strerror or err)
        try:
            self.api.report(item.association_id, item.version, "FAILED", False, reason)
            log.info("%s: reported FAILED v%d", entry.name, item.version)
        except (ApiDown, ApiRefused) as err:
            log.error(
                "%s: report FAILED v%d did not go through: %s: %s", entry.name, item.version, err.code, err.message
            )
        return "failed", EXIT_DEPLOY_FAILED

    def _since(self, stamp: Any) -> float:
        try:
            return (self.clock() - datetime.fromisoformat(str(stamp))).total_seconds()
        except ValueError:
            return float("inf")

    def _saved_poll(self) -> dict[str, Any]:
        try:
            data = json.loads(self.poll_state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_poll(self, etag: str | None, items: list[PollItem]) -> None:
        self.poll_state.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {"etag": etag, "items": [i.to_json() for i in items]}
        write_file(self.poll_state, json.dumps(body, sort_keys=True) + "\n", 0o600)

    # -- the loop -------------------------------------------------------------------------------------------------

    def run_forever(self, interval: float, stop: threading.Event, jitter: random.Random | None = None) -> None:
        """Passes until `stop` is set; after a failed poll, exponential backoff with full jitter (capped at interval)."""
        rng = jitter or random.Random()  # noqa: S311 - jitter, not secrecy
        failures = 0
        while not stop.is_set():
            result = self.run_once()
            if result.exit_code in (EXIT_UNREACHABLE, EXIT_API_FAILED):
                failures += 1
                delay = backoff(failures, interval, rng)
            else:
                failures = 0
                delay = interval * rng.uniform(0.9, 1.1)
            log.info("next poll in %.0fs", delay)
            stop.wait(delay)


def backoff(failures: int, cap: float, rng: random.Random) -> float:
    """Seconds to wait after `failures` failed polls in a row: between half and all of min(cap, 5 s * 2^(n-1))."""
    ceiling = min(cap, BACKOFF_BASE * 2 ** min(failures - 1, 30))
    return rng.uniform(ceiling / 2, ceiling)


@contextlib.contextmanager
def exclusive(state_dir: Path) -> Iterator[bool]:
    """One agent per state directory (cron and a service must not install at once): False if another holds it."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(state_dir / "agent.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
