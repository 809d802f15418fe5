"""Fault injection for the Looker emulator: errors, dropped connections and slow responses on chosen calls.

A :class:`Fault` matches calls by Looker operation id and by the call's number within that operation,
counted from 1 since the emulator started or was last reset. ``LookerEmulator.add_fault`` registers one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .server import Response

if TYPE_CHECKING:
    from .emulator import LookerEmulator
    from .routes import ApiCall

_HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>"
    "<body><h1>{status} {reason}</h1><p>The upstream server did not answer.</p></body></html>\n"
)

_REASONS = {
    401: "Unauthorized",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """One injected fault.

    ``operation`` is a Looker operation id such as ``scheduled_plan_run_once`` or ``login``, or "*" for
    every operation. ``calls`` lists the call numbers (from 1, per operation) to affect; None affects
    every matching call, up to ``times`` calls when that is set.

    What happens, checked in this order:

    * ``expire_token``: every token is revoked before the call is handled, so it gets 401.
    * ``drop="before"``: the connection closes without a response and the call is not handled.
    * ``status`` (``after_handling`` False): the response has that status and the call is not handled.
    * The call is handled, and then these apply to its response:

      * ``status`` with ``after_handling`` True replaces the response. The request took effect but the
        client receives an error.
      * ``malformed_json`` cuts the JSON body in half.
      * ``drop="after"`` closes the connection without a response once ``stall`` seconds have passed,
        so a client whose read timeout is shorter than ``stall`` gets a read timeout.
      * ``delay`` seconds pass before the response is written.

    An error status gets a Looker-style JSON body, or an HTML page when ``html`` is True, and a
    ``Retry-After`` header when ``retry_after`` is set.
    """

    operation: str = "*"
    calls: tuple[int, ...] | None = None
    times: int | None = None
    status: int | None = None
    retry_after: str | None = None
    html: bool = False
    after_handling: bool = False
    drop: str | None = None
    stall: float = 0.0
    delay: float = 0.0
    expire_token: bool = False
    malformed_json: bool = False
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.drop not in (None, "before", "after"):
            raise ValueError(f"drop must be None, 'before' or 'after', got {self.drop!r}")
        if self.calls is not None:
            self.calls = tuple(self.calls)

    def matches(self, call: ApiCall) -> bool:
        if self.operation != "*" and self.operation != call.operation:
            return False
        if self.calls is not None and call.call_number not in self.calls:
            return False
        return self.times is None or self.hits < self.times


def _status_response(fault: Fault, emulator: LookerEmulator) -> Response:
    status = fault.status or 500
    reason = _REASONS.get(status, "Error")
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.html:
        page = _HTML_ERROR_PAGE.format(status=status, reason=reason)
        response = Response.text(status, page, content_type="text/html; charset=utf-8")
        response.headers.update(headers)
        return response
    message = f"{reason} (injected by the Looker emulator)"
    return Response.json(
        status, {"message": message, "documentation_url": emulator.documentation_url("faults")}, headers
    )


class FaultSet:
    """The registered faults; each call is matched against them in registration order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        # Fault picked for a call in before_handle, applied again in after_handle.
        self._active: dict[int, Fault] = {}

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._active.clear()

    def __iter__(self):
        with self._lock:
            return iter(list(self._faults))

    def before_handle(self, call: ApiCall, emulator: LookerEmulator) -> Response | None:
        with self._lock:
            fault = next((candidate for candidate in self._faults if candidate.matches(call)), None)
            if fault is None:
                return None
            fault.hits += 1
            self._active[id(call)] = fault
        if fault.expire_token:
            emulator.expire_tokens()
        if fault.drop == "before":
            return Response(0, disconnect="before")
        if fault.status is not None and not fault.after_handling:
            return _status_response(fault, emulator)
        return None

    def after_handle(self, call: ApiCall, response: Response, emulator: LookerEmulator) -> Response:
        with self._lock:
            fault = self._active.pop(id(call), None)
        if fault is None or response.disconnect == "before":
            return response
        if fault.status is not None and fault.after_handling:
            response = _status_response(fault, emulator)
        if fault.malformed_json:
            text = response.body or json.dumps({"message": "ok"}).encode()
            response.body = text[: max(1, len(text) // 2)]
        if fault.drop == "after":
            response.disconnect = "after"
            response.stall = fault.stall
        response.delay = fault.delay
        return response
