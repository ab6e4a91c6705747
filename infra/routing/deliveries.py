"""What the router did: one Delivery per handler call, kept (the last 2000) and logged as one readable line."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra import template_model as tm

log = logging.getLogger("infra.local")


@dataclass(frozen=True)
class Delivery:
    """One call of a handler by the router, as logged."""

    at: datetime
    function: str
    kind: str  # "stream", "event" or "schedule"
    summary: str
    result: str
    ok: bool
    payload: dict[str, Any] = field(repr=False)


class DeliveryLog:
    """The deliveries so far (`entries`, newest last) and the log line of each."""

    def __init__(self, maxlen: int = 2000) -> None:
        self.entries: deque[Delivery] = deque(maxlen=maxlen)

    def record(
        self, function: tm.Function, kind: str, summary: str, result: str, ok: bool, payload: dict[str, Any]
    ) -> None:
        delivery = Delivery(datetime.now(UTC), function.logical_id, kind, summary, result, ok, payload)
        self.entries.append(delivery)
        log.log(logging.INFO if ok else logging.WARNING, "%-26s %-48s %s", function.logical_id, summary, result)


def describe_error(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def event_summary(event: dict[str, Any]) -> str:
    raw = event.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    subject = next(
        (
            str(detail[k])
            for k in ("resource_id", "resourceId", "certificate_id", "certificateId", "id")
            if detail.get(k) not in (None, "")
        ),
        "",
    )
    return f"{event.get('detail-type', 'event')} {subject}".strip()


def result_text(result: Any) -> str:
    if isinstance(result, dict) and result:
        shown = ", ".join(f"{k}={v}" for k, v in list(result.items())[:4] if isinstance(v, int | str | bool))
        return f"ok ({shown})" if shown else "ok"
    return "ok"
