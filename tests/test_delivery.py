"""Tests of delivery.py: job states, the System Activity query, earlier tries, targets, waiting and trigger events."""

from __future__ import annotations

import datetime
import json
import logging
import pickle
from dataclasses import dataclass, field

import pytest

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_looker_trigger.delivery import (
    DELIVERY_XCOM_KEY,
    EVENT_ERROR,
    EVENT_FAILURE,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    DeliveryTarget,
    JobState,
    JobStatus,
    LookerDeliveryFailedError,
    LookerDeliverySensorFailedError,
    LookerDeliveryStatusError,
    LookerDeliveryTimeoutError,
    delivery_event,
    job_state_from_row,
    job_states,
    jobs_query,
    judge_earlier_attempts,
    latest_job,
    parse_time,
    plan_key_marker,
    state_from_event,
    wait_for_job,
)
from airflow_provider_looker_trigger.exceptions import LookerError, LookerPermissionError
from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.testing import DEFAULT_PERMISSIONS, LookerEmulator

UTC = datetime.timezone.utc
EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}


def row(plan_id="1001", job_id="9001", status="success", detail=None, created="2026-01-31 06:00:05", finalized="2026-01-31 06:01:00", name="Pulse [airflow:abc]"):
    return {
        "scheduled_plan.id": plan_id,
        "scheduled_plan.name": name,
        "scheduled_job.id": job_id,
        "scheduled_job.status": status,
        "scheduled_job.status_detail": detail,
        "scheduled_job.created_time": created,
        "scheduled_job.finalized_time": finalized,
    }


def state(status, plan_id="1001", job_id="9001", created="2026-01-31 06:00:05", detail=None):
    return JobState(plan_id=plan_id, status=status, job_id=job_id, created_time=created, detail=detail)


# ---------------------------------------------------------------------------------------------
# JobStatus and JobState
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "terminal", "success"),
    [
        pytest.param(JobStatus.PENDING, False, False, id="pending"),
        pytest.param(JobStatus.RUNNING, False, False, id="running"),
        pytest.param(JobStatus.SUCCESS, True, True, id="success"),
        pytest.param(JobStatus.FAILURE, True, False, id="failure"),
    ],
)
def test_job_status_predicates(status, terminal, success):
    assert status.is_terminal is terminal
    assert status.is_success is success


def test_job_state_dict_round_trip():
    original = JobState(plan_id="1001", status=JobStatus.FAILURE, plan_name="Pulse", job_id="9001", looker_status="failure", detail="SMTP refused")

    data = json.loads(json.dumps(original.to_dict()))

    assert data["status"] == "failure"
    assert JobState.from_dict(data) == original


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-01-31 06:00:05", datetime.datetime(2026, 1, 31, 6, 0, 5, tzinfo=UTC), id="system-activity"),
        pytest.param("2026-01-31T06:00:05Z", datetime.datetime(2026, 1, 31, 6, 0, 5, tzinfo=UTC), id="iso-z"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("yesterday", None, id="not-a-time"),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


# ---------------------------------------------------------------------------------------------
# System Activity query and rows
# ---------------------------------------------------------------------------------------------


def test_jobs_query_by_plan_id():
    query = jobs_query(plan_id="1001")

    assert query["model"] == "system__activity"
    assert query["view"] == "scheduled_plan"
    assert query["filters"] == {"scheduled_plan.id": "1001"}
    assert query["sorts"] == ["scheduled_job.created_time desc"]
    assert query["query_timezone"] == "UTC"


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        pytest.param("[airflow:0123456789ab]", "%[airflow:0123456789ab]%", id="marker"),
        pytest.param("100% sales_daily", "%100^% sales^_daily%", id="wildcards-escaped"),
        pytest.param("Smith, Jones", "%Smith^, Jones%", id="comma-escaped"),
    ],
)
def test_jobs_query_name_filter(text, expression):
    assert jobs_query(plan_name_contains=text)["filters"] == {"scheduled_plan.name": expression}


def test_jobs_query_created_after_by_utc_date():
    moment = datetime.datetime(2026, 2, 1, 1, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))

    query = jobs_query(plan_id="1001", created_after=moment)

    assert query["filters"]["scheduled_job.created_time"] == "after 2026-01-31"


def test_jobs_query_needs_a_filter():
    with pytest.raises(ValueError, match="plan_id or plan_name_contains"):
        jobs_query()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({"job_id": None, "status": None, "finalized": None, "created": None}, JobStatus.PENDING, id="no-job"),
        pytest.param({"status": "running", "finalized": None}, JobStatus.RUNNING, id="running"),
        pytest.param({"status": "success"}, JobStatus.SUCCESS, id="success"),
        pytest.param({"status": "failure", "detail": "SMTP refused"}, JobStatus.FAILURE, id="failure"),
        pytest.param({"status": "skipped"}, JobStatus.FAILURE, id="other-finished-status"),
    ],
)
def test_job_state_from_row(values, expected):
    assert job_state_from_row(row(**values)).status is expected


def test_job_state_from_row_keeps_looker_fields():
    job = job_state_from_row(row(status="failure", detail="SMTP refused", plan_id=1001, job_id=9001))

    assert job.plan_id == "1001"
    assert job.job_id == "9001"
    assert job.looker_status == "failure"
    assert job.detail == "SMTP refused"


def test_job_states_newest_first():
    rows = [row(job_id="1", created="2026-01-30 06:00:00"), row(job_id="2", created="2026-01-31 06:00:00"), "not a row"]

    assert [job.job_id for job in job_states(rows)] == ["2", "1"]


def test_latest_job_of_plan():
    states = [state(JobStatus.RUNNING, plan_id="7", job_id="3"), state(JobStatus.SUCCESS, job_id="2"), state(JobStatus.FAILURE, job_id="1")]

    assert latest_job(states, "1001").job_id == "2"


def test_latest_job_pending_without_job():
    job = latest_job([JobState(plan_id="1001", status=JobStatus.PENDING)], "1001")

    assert job.status is JobStatus.PENDING
    assert job.job_id is None


# ---------------------------------------------------------------------------------------------
# Earlier tries
# ---------------------------------------------------------------------------------------------


def test_plan_key_marker():
    assert plan_key_marker("0123456789ab") == "[airflow:0123456789ab]"


@pytest.mark.parametrize(
    ("statuses", "send", "chosen"),
    [
        pytest.param([], True, None, id="nothing-reached-looker"),
        pytest.param([JobStatus.FAILURE], True, "0", id="failed"),
        pytest.param([JobStatus.FAILURE, JobStatus.FAILURE], True, "0", id="all-failed"),
        pytest.param([JobStatus.SUCCESS], False, "0", id="delivered"),
        pytest.param([JobStatus.RUNNING], False, "0", id="running"),
        pytest.param([JobStatus.PENDING], False, "0", id="pending"),
        pytest.param([JobStatus.RUNNING, JobStatus.SUCCESS], False, "1", id="delivered-wins-over-running"),
        pytest.param([JobStatus.FAILURE, JobStatus.RUNNING], False, "1", id="running-after-failure"),
    ],
)
def test_judge_earlier_attempts(statuses, send, chosen):
    states = [state(status, plan_id=str(index), job_id=str(index)) for index, status in enumerate(statuses)]

    verdict = judge_earlier_attempts(states)

    assert verdict.send is send
    assert (verdict.state.plan_id if verdict.state else None) == chosen
    assert verdict.reason


# ---------------------------------------------------------------------------------------------
# DeliveryTarget
# ---------------------------------------------------------------------------------------------


def test_target_needs_plan_or_name():
    with pytest.raises(ValueError, match="plan id or a text"):
        DeliveryTarget()


def test_target_created_after_whole_utc_seconds():
    moment = datetime.datetime(2026, 1, 31, 7, 0, 5, 900_000, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))

    target = DeliveryTarget(name_contains="Daily", created_after=moment)

    assert target.created_after == datetime.datetime(2026, 1, 31, 6, 0, 5, tzinfo=UTC)


def test_target_naive_created_after_is_utc():
    target = DeliveryTarget(plan_id=1001, created_after=datetime.datetime(2026, 1, 31, 6, 0, 5))

    assert target.plan_id == "1001"
    assert target.created_after.tzinfo == UTC


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param(DeliveryTarget(plan_id="1001"), "plan 1001", id="id"),
        pytest.param(DeliveryTarget(plan_id="1001", plan_name="Pulse [airflow:abc]"), "plan 1001 ('Pulse [airflow:abc]')", id="id-and-name"),
        pytest.param(DeliveryTarget(name_contains="Daily sales"), "the plans whose name contains 'Daily sales'", id="name"),
        pytest.param(
            DeliveryTarget(name_contains="Daily", created_after=datetime.datetime(2026, 1, 31, 6, tzinfo=UTC)),
            "the plans whose name contains 'Daily' (jobs created at or after 2026-01-31T06:00:00+00:00)",
            id="name-and-time",
        ),
    ],
)
def test_target_describe(target, expected):
    assert target.describe() == expected


def test_target_describe_state_without_job():
    target = DeliveryTarget(plan_id="1001")

    assert target.describe_state(JobState(plan_id="1001", status=JobStatus.PENDING)) == "plan 1001: no job yet"


def test_target_describe_state_with_job():
    job = JobState(plan_id="1001", status=JobStatus.FAILURE, plan_name="Pulse", job_id="9001", detail="SMTP refused")

    assert DeliveryTarget(plan_id="1001").describe_state(job) == "plan 1001 ('Pulse'), job 9001: failure (SMTP refused)"


def test_target_failure_message():
    job = JobState(plan_id="1001", status=JobStatus.FAILURE, plan_name="Pulse", job_id="9001", looker_status="failure", detail="SMTP refused")

    message = DeliveryTarget(plan_id="1001").failure_message(job)

    assert "plan 1001 ('Pulse')" in message
    assert "job 9001" in message
    assert "SMTP refused" in message


def test_target_failure_message_without_detail():
    job = JobState(plan_id="1001", status=JobStatus.FAILURE, job_id="9001", looker_status="failure")

    assert "Looker gave no status detail" in DeliveryTarget(plan_id="1001").failure_message(job)


def test_target_timeout_message():
    target = DeliveryTarget(plan_id="1001", plan_name="Pulse [airflow:abc]")

    message = target.timeout_message(JobState(plan_id="1001", status=JobStatus.RUNNING, job_id="9001"), "within 300 s")

    assert "plan 1001 ('Pulse [airflow:abc]') within 300 s" in message
    assert "is unknown" in message
    assert "job 9001: running" in message


# ---------------------------------------------------------------------------------------------
# DeliveryTarget.read_state against the emulator
# ---------------------------------------------------------------------------------------------


@dataclass
class Clock:
    """A settable ``now`` for the emulator."""

    moment: datetime.datetime = field(default_factory=lambda: datetime.datetime(2026, 1, 31, 6, 0, 5, 900_000, tzinfo=UTC))

    def __call__(self) -> datetime.datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(tmp_path, clock, monkeypatch):
    with LookerEmulator(outbox=tmp_path / "outbox", now=clock) as running:
        monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", running.connection_json())
        yield running


@pytest.fixture
def hook(emulator):
    with LookerHook() as looker:
        yield looker


def send(hook, name="Pulse [airflow:abc]"):
    return hook.run_once({"name": name, "dashboard_id": "73", "scheduled_plan_destination": [EMAIL_PDF]})["id"]


def test_read_state_by_plan_id(hook):
    plan_id = send(hook)

    job = DeliveryTarget(plan_id=plan_id).read_state(hook)

    assert job.status is JobStatus.SUCCESS
    assert job.plan_id == plan_id
    assert job.job_id is not None


def test_read_state_by_name_newest_job(hook, emulator, clock):
    send(hook, "Daily sales [airflow:1]")
    clock.moment += datetime.timedelta(minutes=5)
    emulator.set_outcome("[airflow:2]", "failure", "Webhook answered 500")
    newest = send(hook, "Daily sales [airflow:2]")

    job = DeliveryTarget(name_contains="Daily sales").read_state(hook)

    assert job.plan_id == newest
    assert job.status is JobStatus.FAILURE
    assert job.detail == "Webhook answered 500"


def test_read_state_by_name_without_match(hook):
    send(hook, "Daily sales")

    job = DeliveryTarget(name_contains="Weekly sales").read_state(hook)

    assert job.status is JobStatus.PENDING
    assert job.job_id is None


def test_read_state_ignores_jobs_before_created_after(hook, clock):
    send(hook, "Daily sales")
    created_after = clock.moment + datetime.timedelta(days=1)

    job = DeliveryTarget(name_contains="Daily sales", created_after=created_after).read_state(hook)

    assert job.status is JobStatus.PENDING


def test_read_state_counts_job_of_same_second(hook, clock):
    """System Activity reports 06:00:05 for a job created at 06:00:05.9; it still counts after 06:00:05.5."""
    created_after = clock.moment - datetime.timedelta(milliseconds=400)
    send(hook, "Daily sales")

    job = DeliveryTarget(name_contains="Daily sales", created_after=created_after).read_state(hook)

    assert job.status is JobStatus.SUCCESS


def test_hook_keeps_job_of_same_second(hook, clock):
    created_after = clock.moment - datetime.timedelta(milliseconds=400)
    plan_id = send(hook, "Daily sales")

    assert [job.plan_id for job in hook.get_scheduled_jobs(plan_name_contains="Daily sales", created_after=created_after)] == [plan_id]


def test_read_state_saved_plan_by_datagroup(hook, clock):
    hook.update_datagroup("1", triggered_at=int(clock.moment.timestamp()))

    job = DeliveryTarget(name_contains="Daily sales after the orders load", created_after=clock.moment).read_state(hook)

    assert job.plan_id == "502"
    assert job.status is JobStatus.SUCCESS


def test_read_state_without_permission(hook, emulator):
    plan_id = send(hook)
    emulator.permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}

    with pytest.raises(LookerPermissionError, match="see_system_activity"):
        DeliveryTarget(plan_id=plan_id).read_state(hook)


# ---------------------------------------------------------------------------------------------
# wait_for_job
# ---------------------------------------------------------------------------------------------


class ScriptedHook:
    """A stand-in hook whose get_scheduled_jobs returns one prepared list of jobs per call."""

    def __init__(self, *answers: list[JobState]) -> None:
        self.answers = list(answers)
        self.calls: list[dict] = []

    def get_scheduled_jobs(self, **query):
        self.calls.append(query)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` is called."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


LOG = logging.getLogger("test_delivery")


def test_wait_for_job_polls_until_success(caplog):
    caplog.set_level(logging.INFO, logger=LOG.name)
    hook = ScriptedHook([], [state(JobStatus.RUNNING)], [state(JobStatus.SUCCESS)])
    fake = FakeClock()

    job = wait_for_job(hook, DeliveryTarget(plan_id="1001"), timeout=600, poll_interval=60, log=LOG, clock=fake, sleep=fake.sleep)

    assert job.status is JobStatus.SUCCESS
    assert fake.sleeps == [60, 60]
    assert len(hook.calls) == 3
    assert [record.getMessage() for record in caplog.records] == [
        "Looker delivery of plan 1001: no job yet",
        "Looker delivery of plan 1001, job 9001: running",
        "Looker delivery of plan 1001, job 9001: success",
    ]


def test_wait_for_job_returns_failure():
    hook = ScriptedHook([state(JobStatus.FAILURE, detail="SMTP refused")])
    fake = FakeClock()

    job = wait_for_job(hook, DeliveryTarget(plan_id="1001"), timeout=600, poll_interval=60, log=LOG, clock=fake, sleep=fake.sleep)

    assert job.status is JobStatus.FAILURE
    assert fake.sleeps == []


def test_wait_for_job_timeout():
    hook = ScriptedHook([state(JobStatus.RUNNING)])
    fake = FakeClock()

    with pytest.raises(LookerDeliveryTimeoutError, match="within 150 s") as caught:
        wait_for_job(hook, DeliveryTarget(plan_id="1001"), timeout=150, poll_interval=60, log=LOG, clock=fake, sleep=fake.sleep)

    assert fake.sleeps == [60, 60, 30]
    assert len(hook.calls) == 4
    assert caught.value.state.status is JobStatus.RUNNING


# ---------------------------------------------------------------------------------------------
# Trigger events
# ---------------------------------------------------------------------------------------------


def test_delivery_event_with_job():
    job = state(JobStatus.SUCCESS, plan_id="502")

    event = delivery_event(EVENT_SUCCESS, DeliveryTarget(name_contains="Daily"), job, "delivered")

    assert event == {"status": "success", "plan_id": "502", "job": job.to_dict(), "message": "delivered"}


def test_delivery_event_without_job():
    event = delivery_event(EVENT_TIMEOUT, DeliveryTarget(name_contains="Daily"), JobState(plan_id="?", status=JobStatus.PENDING), "late")

    assert event["plan_id"] is None
    assert event["job"] is None


def test_state_from_success_event():
    job = state(JobStatus.SUCCESS)

    assert state_from_event(delivery_event(EVENT_SUCCESS, DeliveryTarget(plan_id="1001"), job, "ok")) == job


@pytest.mark.parametrize(
    ("event", "error"),
    [
        pytest.param({"status": EVENT_FAILURE, "plan_id": "1", "job": state(JobStatus.FAILURE).to_dict(), "message": "m"}, LookerDeliveryFailedError, id="failure"),
        pytest.param({"status": EVENT_TIMEOUT, "plan_id": "1", "job": None, "message": "m"}, LookerDeliveryTimeoutError, id="timeout"),
        pytest.param({"status": EVENT_ERROR, "plan_id": "1", "job": None, "message": "m"}, LookerDeliveryStatusError, id="error"),
        pytest.param({"status": EVENT_SUCCESS, "plan_id": "1", "job": None, "message": "m"}, LookerDeliveryStatusError, id="success-without-job"),
        pytest.param({"status": "done"}, LookerDeliveryStatusError, id="unknown-status"),
        pytest.param(None, LookerDeliveryStatusError, id="no-event"),
    ],
)
def test_state_from_event_raises(event, error):
    with pytest.raises(error):
        state_from_event(event)


def test_state_from_event_failure_keeps_job():
    job = state(JobStatus.FAILURE, detail="SMTP refused")

    with pytest.raises(LookerDeliverySensorFailedError) as caught:
        state_from_event(
            delivery_event(EVENT_FAILURE, DeliveryTarget(plan_id="1001"), job, "failed"),
            failure_error=LookerDeliverySensorFailedError,
        )

    assert caught.value.state == job
    assert str(caught.value) == "failed"


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error_class",
    [LookerDeliveryFailedError, LookerDeliverySensorFailedError, LookerDeliveryTimeoutError, LookerDeliveryStatusError],
)
def test_delivery_errors_are_looker_errors(error_class):
    assert issubclass(error_class, LookerError)
    assert issubclass(error_class, AirflowException)


def test_sensor_failure_fails_without_retry():
    assert issubclass(LookerDeliverySensorFailedError, AirflowFailException)
    assert not issubclass(LookerDeliveryFailedError, AirflowFailException)


def test_delivery_error_pickles_with_state():
    job = state(JobStatus.FAILURE, detail="SMTP refused")

    copy = pickle.loads(pickle.dumps(LookerDeliveryFailedError("failed", state=job)))

    assert str(copy) == "failed"
    assert copy.state == job


def test_delivery_xcom_key():
    assert DELIVERY_XCOM_KEY == "looker_delivery"
