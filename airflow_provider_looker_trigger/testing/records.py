"""Records the Looker emulator keeps: API calls, deliveries and scheduled jobs."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REDACTED = "***"

# Keys whose values are secrets wherever they appear in a recorded body or query string.
SECRET_KEYS = frozenset({"client_secret", "secret_parameters", "access_token"})


def redact(value: Any) -> Any:
    """Return a copy of a JSON-like value with the values of secret keys replaced by ``***``."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if key in SECRET_KEYS and item not in (None, "") else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _isoformat(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass
class Call:
    """One HTTP request the emulator received and the status it returned.

    ``operation`` is the Looker API operation id (for example ``scheduled_plan_run_once``) or
    ``"unknown"``, and ``call_number`` counts calls of that operation from 1. ``headers`` has the
    ``Authorization`` value reduced to its scheme followed by ``***``. ``warnings`` lists client
    behaviour a real Looker would accept but a careful client avoids, such as credentials in a URL.
    """

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any
    status: int
    time: datetime.datetime
    operation: str = "unknown"
    call_number: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": redact(self.query),
            "headers": self.headers,
            "body": redact(self.body),
            "status": self.status,
            "time": _isoformat(self.time),
            "operation": self.operation,
            "call_number": self.call_number,
            "warnings": list(self.warnings),
        }


@dataclass
class Delivery:
    """Record of the content one destination of one plan run received, or would have received.

    ``plan`` is the plan body as the client sent it (for a run by id, the stored plan with the
    overrides applied). ``rows`` are keyed by Looker field name. They are the rows of the query for a
    Look or a query, and of the first tile for a dashboard. ``tiles`` maps every tile title to its rows.
    ``files`` are the rendered attachments in the outbox and ``manifest`` is the JSON file that
    describes the request that would have been sent. Both are empty when ``status`` is "failure".
    """

    plan_id: str
    plan: dict[str, Any]
    source: str
    content_id: str
    filters: dict[str, str]
    ignored_filters: list[str]
    destination: dict[str, Any]
    files: list[Path]
    rows: list[dict[str, Any]]
    status: str
    job_id: str = ""
    status_detail: str | None = None
    manifest: Path | None = None
    tiles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    time: datetime.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "job_id": self.job_id,
            "plan": redact(self.plan),
            "source": self.source,
            "content_id": self.content_id,
            "filters": self.filters,
            "ignored_filters": self.ignored_filters,
            "destination": redact(self.destination),
            "files": [str(path) for path in self.files],
            "manifest": str(self.manifest) if self.manifest else None,
            "row_count": len(self.rows),
            "status": self.status,
            "status_detail": self.status_detail,
            "time": _isoformat(self.time),
        }


@dataclass
class Job:
    """A scheduled job: one execution of a plan, as System Activity's ``scheduled_job`` view shows it."""

    id: str
    plan_id: str
    status: str
    created_time: datetime.datetime
    status_detail: str | None = None
    finalized_time: datetime.datetime | None = None

    @property
    def finished(self) -> bool:
        return self.finalized_time is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "plan_id": self.plan_id,
            "status": self.status,
            "status_detail": self.status_detail,
            "created_time": _isoformat(self.created_time),
            "finalized_time": _isoformat(self.finalized_time),
        }
