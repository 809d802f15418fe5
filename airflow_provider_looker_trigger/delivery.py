"""Delivery status of scheduled plans, read from Looker's System Activity.

A run_once answer only means that Looker accepted the plan; the render and the delivery happen in a
scheduled job afterwards. Looker API 4.0 has no endpoint for scheduled jobs, so their state is read
with an inline query on the ``system__activity`` model, Explore ``scheduled_plan``, which needs the
``see_system_activity`` permission.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

SYSTEM_ACTIVITY_MODEL = "system__activity"
SYSTEM_ACTIVITY_EXPLORE = "scheduled_plan"
SYSTEM_ACTIVITY_PERMISSION = "see_system_activity"

JOB_FIELDS = (
    "scheduled_plan.id",
    "scheduled_plan.name",
    "scheduled_job.id",
    "scheduled_job.status",
    "scheduled_job.status_detail",
    "scheduled_job.created_time",
    "scheduled_job.finalized_time",
)

# System Activity answers times as "YYYY-MM-DD HH:MM:SS" in the query's time zone, which the query sets to UTC.
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class JobStatus(str, enum.Enum):
    """State of the scheduled job that renders and delivers a plan."""

    PENDING = "pending"
    """No job exists yet for the plan (or System Activity does not show it yet)."""
    RUNNING = "running"
    """The job exists and has not finished."""
    SUCCESS = "success"
    """The job finished and Looker delivered the content."""
    FAILURE = "failure"
    """The job finished without delivering; ``status_detail`` says why."""

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.FAILURE)

    @property
    def is_success(self) -> bool:
        return self is JobStatus.SUCCESS


@dataclass(frozen=True)
class JobState:
    """One scheduled job of a plan, as System Activity reports it."""

    plan_id: str
    status: JobStatus
    plan_name: str | None = None
    job_id: str | None = None
    looker_status: str | None = None
    detail: str | None = None
    created_time: str | None = None
    finalized_time: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict, as pushed to XCom and sent in trigger events."""
        state = asdict(self)
        state["status"] = self.status.value
        return state

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobState:
        return cls(**{**data, "status": JobStatus(data["status"])})

    @property
    def created_at(self) -> datetime.datetime | None:
        return parse_time(self.created_time)

    def describe(self) -> str:
        job = f"job {self.job_id}" if self.job_id else "no job yet"
        text = f"plan {self.plan_id} ({job}): {self.status.value}"
        if self.detail:
            text += f" ({self.detail})"
        return text


def parse_time(value: str | None) -> datetime.datetime | None:
    """Return a System Activity time as an aware UTC datetime, or ``None``."""
    if not value:
        return None
    text = str(value).replace("T", " ").rstrip("Z")[:19]
    try:
        return datetime.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def jobs_query(
    *,
    plan_id: str | None = None,
    plan_name_contains: str | None = None,
    created_after: datetime.datetime | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Return the inline query body for the jobs of one plan, or of plans whose name contains a text.

    ``created_after`` narrows by date on Looker's side; the exact time is compared by the caller.
    """
    from airflow_provider_looker_trigger.plan import filter_literal

    filters: dict[str, str] = {}
    if plan_id is not None:
        filters["scheduled_plan.id"] = str(plan_id)
    if plan_name_contains:
        filters["scheduled_plan.name"] = "%" + filter_literal(plan_name_contains) + "%"
    if created_after is not None:
        filters["scheduled_job.created_time"] = "after " + created_after.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d")
    if not filters:
        raise ValueError("jobs_query needs plan_id or plan_name_contains, or it would read every plan's jobs.")
    return {
        "model": SYSTEM_ACTIVITY_MODEL,
        "view": SYSTEM_ACTIVITY_EXPLORE,
        "fields": list(JOB_FIELDS),
        "filters": filters,
        "sorts": ["scheduled_job.created_time desc"],
        "limit": str(limit),
        "query_timezone": "UTC",
    }


def job_state_from_row(row: Mapping[str, Any]) -> JobState:
    """Turn one System Activity row into a :class:`JobState`.

    A finished job (``finalized_time`` set) whose status is not ``success`` counts as a failure, with
    Looker's own status kept in ``looker_status``.
    """
    plan_id = _text(row.get("scheduled_plan.id")) or "?"
    job_id = _text(row.get("scheduled_job.id"))
    looker_status = _text(row.get("scheduled_job.status"))
    finalized = _text(row.get("scheduled_job.finalized_time"))
    if job_id is None:
        status = JobStatus.PENDING
    elif finalized is None:
        status = JobStatus.RUNNING
    elif (looker_status or "").lower() == "success":
        status = JobStatus.SUCCESS
    else:
        status = JobStatus.FAILURE
    return JobState(
        plan_id=plan_id,
        status=status,
        plan_name=_text(row.get("scheduled_plan.name")),
        job_id=job_id,
        looker_status=looker_status,
        detail=_text(row.get("scheduled_job.status_detail")),
        created_time=_text(row.get("scheduled_job.created_time")),
        finalized_time=finalized,
    )


def job_states(rows: Iterable[Mapping[str, Any]]) -> list[JobState]:
    """Return the job states in ``rows``, newest first."""
    states = [job_state_from_row(row) for row in rows if isinstance(row, Mapping)]
    epoch = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return sorted(states, key=lambda state: state.created_at or epoch, reverse=True)


def latest_job(states: list[JobState], plan_id: str) -> JobState:
    """Return the newest job of ``plan_id``, or a pending state when System Activity shows none yet."""
    for state in states:
        if state.plan_id == str(plan_id) and state.job_id is not None:
            return state
    return JobState(plan_id=str(plan_id), status=JobStatus.PENDING)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def plan_key_marker(key: str) -> str:
    """Return the text that plan names carry for ``key``, e.g. ``[airflow:0123456789ab]``."""
    return f"[airflow:{key}]"


@dataclass(frozen=True)
class EarlierAttempt:
    """What an earlier try of the same task left in Looker, and whether to send again."""

    send: bool
    reason: str
    state: JobState | None = None


def judge_earlier_attempts(states: list[JobState]) -> EarlierAttempt:
    """Decide from the jobs of plans with this task's key whether a retry may send again.

    A delivered job means the report went out, and a running or not yet started one means it is on
    its way: either way sending again would deliver twice. Only when every earlier job failed (or
    there is none) is the plan sent again.
    """
    delivered = [state for state in states if state.status is JobStatus.SUCCESS]
    if delivered:
        return EarlierAttempt(False, f"an earlier try already delivered it ({delivered[0].describe()})", delivered[0])
    in_flight = [state for state in states if not state.status.is_terminal]
    if in_flight:
        return EarlierAttempt(False, f"an earlier try's plan is still running ({in_flight[0].describe()})", in_flight[0])
    if states:
        return EarlierAttempt(True, f"every earlier try failed to deliver (latest: {states[0].describe()})", states[0])
    return EarlierAttempt(True, "no earlier try reached Looker")
