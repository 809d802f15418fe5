"""Delivery status of scheduled plans, read from Looker's System Activity.

A run_once response only means that Looker accepted the plan; the render and the delivery happen in a
scheduled job afterwards. Looker API 4.0 has no endpoint for scheduled jobs, so their state is read
with an inline query on the ``system__activity`` model, Explore ``scheduled_plan``, which needs the
``see_system_activity`` permission.
"""

from __future__ import annotations

import datetime
import enum
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_looker_trigger.exceptions import LookerError

if TYPE_CHECKING:
    import logging

    from airflow_provider_looker_trigger.hooks.looker import LookerHook

SYSTEM_ACTIVITY_MODEL = "system__activity"
SYSTEM_ACTIVITY_EXPLORE = "scheduled_plan"
SYSTEM_ACTIVITY_PERMISSION = "see_system_activity"

DELIVERY_XCOM_KEY = "looker_delivery"
"""XCom key under which a task that waited for a delivery pushes the job's :meth:`JobState.to_dict`."""

JOB_FIELDS = (
    "scheduled_plan.id",
    "scheduled_plan.name",
    "scheduled_job.id",
    "scheduled_job.status",
    "scheduled_job.status_detail",
    "scheduled_job.created_time",
    "scheduled_job.finalized_time",
)

# System Activity returns times as "YYYY-MM-DD HH:MM:SS" in the query's time zone, which the query sets to UTC.
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
    """The job finished without delivering, and ``status_detail`` gives the reason."""

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
    """Verdict on an earlier try of the same task: whether a retry may send again, and why."""

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


# Errors of a delivery that was watched


class LookerDeliveryFailedError(LookerError):
    """Looker finished the plan's scheduled job without delivering it; ``state`` is the failed job."""

    def __init__(self, message: str, *, state: JobState | None = None) -> None:
        super().__init__(message)
        self.state = state


class LookerDeliverySensorFailedError(LookerDeliveryFailedError, AirflowFailException):
    """The job a sensor watches failed.

    The sensor fails without retries, because a retry would read the same failed job; ``soft_fail``
    and ``never_fail`` turn the failure into a skip.
    """


class LookerDeliveryTimeoutError(LookerError):
    """The job did not reach a terminal state in time, so whether Looker delivered is unknown."""

    def __init__(self, message: str, *, state: JobState | None = None) -> None:
        super().__init__(message)
        self.state = state


class LookerDeliveryStatusError(LookerError):
    """The delivery state could not be read, so whether Looker delivered is unknown."""


# What to watch and how to report it


@dataclass(frozen=True)
class DeliveryTarget:
    """The scheduled job to watch: the newest job of one plan, or of the plans whose name contains a text.

    ``plan_name`` is the plan's full name and only appears in messages. ``created_after`` ignores jobs
    created before that moment, and a naive datetime is taken as UTC. It is cut to whole seconds,
    because System Activity reports times to the second and a job created in the same second counts.
    """

    plan_id: str | None = None
    plan_name: str | None = None
    name_contains: str | None = None
    created_after: datetime.datetime | None = None

    def __post_init__(self) -> None:
        if self.plan_id in (None, "") and not self.name_contains:
            raise ValueError("A delivery target needs a plan id or a text that the plan name contains.")
        if self.plan_id is not None:
            object.__setattr__(self, "plan_id", str(self.plan_id))
        if self.created_after is not None:
            moment = self.created_after
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.timezone.utc)
            object.__setattr__(self, "created_after", moment.astimezone(datetime.timezone.utc).replace(microsecond=0))

    def describe(self) -> str:
        """Return e.g. ``plan 1001 ('Business Pulse [airflow:0123456789ab]')`` for messages."""
        if self.plan_id:
            return f"plan {self.plan_id} ({self.plan_name!r})" if self.plan_name else f"plan {self.plan_id}"
        text = f"the plans whose name contains {self.name_contains!r}"
        if self.created_after is not None:
            text += f" (jobs created at or after {self.created_after.isoformat()})"
        return text

    def read_state(self, hook: LookerHook) -> JobState:
        """Read the newest matching job from System Activity; a pending state when there is none yet.

        Raises ``LookerPermissionError`` naming ``see_system_activity`` when the API user lacks it.
        """
        if self.plan_id:
            states = hook.get_scheduled_jobs(plan_id=self.plan_id, created_after=self.created_after)
            return latest_job(states, self.plan_id)
        states = hook.get_scheduled_jobs(plan_name_contains=self.name_contains, created_after=self.created_after)
        for state in states:
            if state.job_id is not None:
                return state
        plan_ids = {state.plan_id for state in states}
        return JobState(plan_id=plan_ids.pop() if len(plan_ids) == 1 else "?", status=JobStatus.PENDING)

    def describe_state(self, state: JobState) -> str:
        """Return e.g. ``plan 1001 ('Daily sales'), job 9001: running`` for a poll's log line."""
        if state.job_id is None:
            return f"{self.describe()}: no job yet"
        plan = f"plan {state.plan_id} ({state.plan_name!r})" if state.plan_name else f"plan {state.plan_id}"
        text = f"{plan}, job {state.job_id}: {state.status.value}"
        if state.detail:
            text += f" ({state.detail})"
        return text

    def failure_message(self, state: JobState) -> str:
        """Return the message of a failed job: the plan, the job, and Looker's ``status_detail``."""
        plan = f"plan {state.plan_id} ({state.plan_name!r})" if state.plan_name else self.describe()
        detail = state.detail or "Looker gave no status detail"
        return (
            f"Looker did not deliver {plan}: job {state.job_id} ended with status {state.looker_status!r}: {detail}. "
            "Admin > Schedules in Looker shows the job's history."
        )

    def timeout_message(self, state: JobState | None, limit: str) -> str:
        """Return the message of a wait that ended before the job did, e.g. with ``limit="within 3600 s"``."""
        last = self.describe_state(state) if state is not None else f"{self.describe()}: not read"
        return (
            f"Looker did not finish the delivery of {self.describe()} {limit}, so whether it was "
            f"delivered is unknown. Last state: {last}. Look for the plan in Looker (Admin > Schedules, or "
            "System Activity > Schedule History) before you run the task again."
        )


def wait_for_job(
    hook: LookerHook,
    target: DeliveryTarget,
    *,
    timeout: float,
    poll_interval: float,
    log: logging.Logger,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> JobState:
    """Poll System Activity every ``poll_interval`` seconds until the target's job finishes.

    Logs each poll at INFO and returns the terminal state, a success or a failure, for the caller to
    judge. Raises :class:`LookerDeliveryTimeoutError` when ``timeout`` seconds pass first, and
    ``LookerPermissionError`` when the API user lacks ``see_system_activity``.
    """
    deadline = clock() + timeout
    while True:
        state = target.read_state(hook)
        log.info("Looker delivery of %s", target.describe_state(state))
        if state.status.is_terminal:
            return state

        remaining = deadline - clock()
        if remaining <= 0:
            raise LookerDeliveryTimeoutError(target.timeout_message(state, f"within {timeout:g} s"), state=state)
        sleep(min(poll_interval, remaining))


# Trigger events

EVENT_SUCCESS = "success"
EVENT_FAILURE = "failure"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"


def delivery_event(status: str, target: DeliveryTarget, state: JobState | None, message: str) -> dict[str, Any]:
    """Return the JSON-friendly payload of a delivery trigger event.

    ``job`` is the job's :meth:`JobState.to_dict`, or None when Looker showed no job. ``plan_id`` is the
    job's plan, or else the watched plan id, which is None when watching by name.
    """
    has_job = state is not None and state.job_id is not None
    return {
        "status": status,
        "plan_id": state.plan_id if has_job else target.plan_id,
        "job": state.to_dict() if has_job else None,
        "message": message,
    }


def state_from_event(
    event: Any, *, failure_error: type[LookerDeliveryFailedError] = LookerDeliveryFailedError
) -> JobState:
    """Return the delivered job of a delivery trigger event, or raise the error that fits the event.

    A failure raises ``failure_error``, a timeout :class:`LookerDeliveryTimeoutError`, and an error event
    (or a payload that is not a delivery event) :class:`LookerDeliveryStatusError`.
    """
    if not isinstance(event, Mapping) or event.get("status") not in (EVENT_SUCCESS, EVENT_FAILURE, EVENT_TIMEOUT, EVENT_ERROR):
        raise LookerDeliveryStatusError(f"The delivery trigger sent an invalid event {event!r}; the delivery state is unknown.")
    status = event["status"]
    message = str(event.get("message") or f"The delivery trigger reported {status} without a message.")
    job = JobState.from_dict(event["job"]) if isinstance(event.get("job"), Mapping) else None

    if status == EVENT_SUCCESS and job is not None:
        return job
    if status == EVENT_FAILURE:
        raise failure_error(message, state=job)
    if status == EVENT_TIMEOUT:
        raise LookerDeliveryTimeoutError(message, state=job)
    raise LookerDeliveryStatusError(message)
