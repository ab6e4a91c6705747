"""The agent's side of the wire contract: batch poll, confirm, bundle with key, report-deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certwright_client.cli import EXIT_UNREACHABLE, Client, CliError, api_error


class ApiDown(Exception):
    """No usable answer: unreachable, a 5xx, or an answer that is not the contract's. The files stay as they are."""

    def __init__(self, code: str, message: str, *, unreachable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.unreachable = unreachable


class ApiRefused(Exception):
    """A 4xx: the API said no (not confirmable, key read refused, stale report)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PollItem:
    association_id: str
    certificate_id: str
    certificate_name: str
    hostnames: tuple[str, ...]
    consent_state: str  # CONFIRMED or PENDING_CONFIRMATION
    version: int
    serial: str  # hex, as the API writes it
    not_after: str
    etag: str
    deployment: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "associationId": self.association_id,
            "certificateId": self.certificate_id,
            "certificateName": self.certificate_name,
            "hostnames": list(self.hostnames),
            "consentState": self.consent_state,
            "versionNumber": self.version,
            "serialNumber": self.serial,
            "notAfter": self.not_after,
            "etag": self.etag,
            "deployment": self.deployment,
        }

    @classmethod
    def from_json(cls, raw: Any) -> PollItem:
        if not isinstance(raw, dict):
            raise ValueError("an item is not an object")
        version = raw.get("versionNumber")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("versionNumber is not an integer")
        serial = str(raw.get("serialNumber") or "")
        int(serial, 16)  # raises ValueError for a serial that is not hex
        return cls(
            association_id=_text(raw, "associationId"),
            certificate_id=_text(raw, "certificateId"),
            certificate_name=str(raw.get("certificateName") or ""),
            hostnames=tuple(str(h) for h in raw.get("hostnames") or []),
            consent_state=str(raw.get("consentState") or "CONFIRMED"),
            version=version,
            serial=serial,
            not_after=str(raw.get("notAfter") or ""),
            etag=str(raw.get("etag") or ""),
            deployment=dict(raw["deployment"]) if isinstance(raw.get("deployment"), dict) else {},
        )


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is missing")
    return value


@dataclass(frozen=True)
class Poll:
    changed: bool  # False: 304, nothing changed since the etag sent
    etag: str | None
    items: tuple[PollItem, ...]


class AgentApi:
    def __init__(self, client: Client) -> None:
        self.client = client

    def poll(self, etag: str | None, certificate_ids: list[str] | None = None) -> Poll:
        """The host's associations (a full poll), or only those of `certificate_ids` (a narrowed one)."""
        headers = {"If-None-Match": etag} if etag else {}
        request = {"certificateIds": certificate_ids} if certificate_ids else {}
        status, answer_headers, body = self._exchange("POST", "/bundles/poll", request, None, headers)
        new_etag = answer_headers.get("etag") or (body.get("etag") if isinstance(body, dict) else None)
        if status == 304:
            return Poll(False, new_etag or etag, ())
        self._check(status, body)
        try:
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise ValueError("no items list")
            items = tuple(PollItem.from_json(item) for item in body["items"])
        except ValueError as err:
            raise ApiDown(
                "InvalidPollAnswer", f"POST /bundles/poll answered something else: {err}", unreachable=False
            ) from None
        return Poll(True, new_etag, items)

    def confirm(self, association_id: str) -> Any:
        return self._json("POST", f"/associations/{association_id}/actions/confirm", {})

    def bundle(self, certificate_id: str, version: int) -> Any:
        """The bundle with its private key; the body as sent (the caller checks it before anything is written)."""
        query = {"versionNumber": version, "includePrivateKey": "true"}
        status, _, body = self._exchange("GET", f"/certificates/{certificate_id}/bundle", None, query, {})
        self._check(status, body)
        return body

    def report(self, association_id: str, version: int, state: str, verified: bool, reason: str | None) -> Any:
        body: dict[str, Any] = {"versionNumber": version, "state": state, "verified": verified}
        if reason is not None:
            body["reason"] = reason[:1000]
        return self._json("POST", f"/associations/{association_id}/actions/report-deployment", body)

    def _json(self, method: str, path: str, body: dict[str, Any]) -> Any:
        status, _, answer = self._exchange(method, path, body, None, {})
        self._check(status, answer)
        return answer

    def _exchange(
        self, method: str, path: str, body: dict[str, Any] | None, query: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        try:
            return self.client.exchange(method, path, body, query, headers)
        except CliError as err:
            raise ApiDown(err.code, err.message, unreachable=err.exit_code == EXIT_UNREACHABLE) from None

    @staticmethod
    def _check(status: int, body: Any) -> None:
        if status < 400:
            return
        error = api_error(status, body)
        if status >= 500:
            raise ApiDown(error.code, error.message, unreachable=False)
        raise ApiRefused(status, error.code, error.message)
