"""Tests of LookerDeliverySensor against the Looker emulator: pokes by plan id and by name, deferral and failures."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    PokeReturnValue,
    TaskDeferred,
)

from airflow_provider_looker_trigger.delivery import (
    DELIVERY_XCOM_KEY,
    LookerDeliverySensorFailedError,
    LookerDeliveryStatusError,
)
from airflow_provider_looker_trigger.exceptions import LookerConfigurationError, LookerPermissionError
from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.sensors.looker import DEFAULT_TIMEOUT, LookerDeliverySensor
from airflow_provider_looker_trigger.testing import DEFAULT_PERMISSIONS, LookerEmulator
from airflow_provider_looker_trigger.triggers.looker import LookerDeliveryTrigger

UTC = datetime.timezone.utc
EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}
DAILY_SALES = "Daily sales after the orders load"
TODAY = datetime.datetime(2026, 1, 31, 6, 0, tzinfo=UTC)


@dataclass
class TaskInstanceStub:
    """The parts of a task instance that the sensor uses."""

    dag_id: str = "looker_sensor"
    run_id: str = "scheduled__2026-01-31T06:00:00+00:00"
    task_id: str = "wait_for_daily_sales"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@dataclass
class DagRunStub:
    run_after: datetime.datetime | None = None
    start_date: datetime.datetime | None = None


def make_context(**values: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"ti": TaskInstanceStub(), "data_interval_end": TODAY, "logical_date": TODAY, "dag_run": DagRunStub()}
    context.update(values)
    return context


@dataclass
class Clock:
    moment: datetime.datetime = TODAY + datetime.timedelta(minutes=10)

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


def send_plan(name: str = "Business Pulse [airflow:0123456789ab]") -> str:
    with LookerHook() as hook:
        return hook.run_once({"name": name, "dashboard_id": "73", "scheduled_plan_destination": [EMAIL_PDF]})["id"]


def trigger_orders_datagroup(clock: Clock) -> None:
    with LookerHook() as hook:
        hook.update_datagroup("1", triggered_at=int(clock.moment.timestamp()))


def sensor(**kwargs: Any) -> LookerDeliverySensor:
    kwargs.setdefault("task_id", "wait_for_daily_sales")
    kwargs.setdefault("deferrable", False)
    return LookerDeliverySensor(**kwargs)


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({}, id="neither"),
        pytest.param({"plan_id": "1001", "plan_name": DAILY_SALES}, id="both"),
        pytest.param({"plan_id": "", "plan_name": ""}, id="both-empty"),
    ],
)
def test_needs_plan_id_or_name(arguments):
    with pytest.raises(LookerConfigurationError, match="exactly one of plan_id and plan_name"):
        sensor(**arguments)


def test_templated_arguments_accepted():
    waiting = sensor(plan_id="{{ ti.xcom_pull('deliver') }}", created_after="{{ data_interval_end }}")

    assert waiting.template_fields == ("plan_id", "plan_name", "created_after")


def test_default_timeout_one_hour():
    assert sensor(plan_id="1001").timeout == DEFAULT_TIMEOUT == 3600


def test_timeout_given_kept():
    assert sensor(plan_id="1001", timeout=120).timeout == 120


# ---------------------------------------------------------------------------------------------
# created_after
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context_values", "expected"),
    [
        pytest.param({}, TODAY, id="data-interval-end"),
        pytest.param({"data_interval_end": None, "logical_date": TODAY - datetime.timedelta(hours=1)}, TODAY - datetime.timedelta(hours=1), id="logical-date"),
        pytest.param({"data_interval_end": None, "logical_date": None, "dag_run": DagRunStub(run_after=TODAY + datetime.timedelta(hours=1))}, TODAY + datetime.timedelta(hours=1), id="run-after"),
    ],
)
def test_created_after_default(context_values, expected):
    target = sensor(plan_name=DAILY_SALES).target(make_context(**context_values))

    assert target.created_after == expected


def test_created_after_default_missing():
    context = make_context(data_interval_end=None, logical_date=None)

    with pytest.raises(LookerConfigurationError, match="give created_after"):
        sensor(plan_name=DAILY_SALES).target(context)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-01-31T07:00:00+01:00", TODAY, id="iso-offset"),
        pytest.param("2026-01-31 06:00:00", TODAY, id="naive-text-utc"),
        pytest.param(datetime.datetime(2026, 1, 31, 6, 0), TODAY, id="naive-datetime-utc"),
    ],
)
def test_created_after_given(value, expected):
    target = sensor(plan_name=DAILY_SALES, created_after=value).target(make_context())

    assert target.created_after == expected


@pytest.mark.parametrize("value", ["yesterday morning", 1_769_839_200], ids=["text", "number"])
def test_created_after_invalid(value):
    with pytest.raises(LookerConfigurationError, match="Invalid created_after"):
        sensor(plan_name=DAILY_SALES, created_after=value).target(make_context())


def test_plan_id_ignores_run_dates():
    assert sensor(plan_id="1001").target(make_context()).created_after is None


# ---------------------------------------------------------------------------------------------
# poke
# ---------------------------------------------------------------------------------------------


def test_poke_by_id_delivered(emulator):
    plan_id = send_plan()
    context = make_context()

    result = sensor(plan_id=plan_id).poke(context)

    assert isinstance(result, PokeReturnValue)
    assert result.is_done is True
    assert result.xcom_value == plan_id
    assert context["ti"].xcoms[DELIVERY_XCOM_KEY]["status"] == "success"
    assert context["ti"].xcoms[DELIVERY_XCOM_KEY]["job_id"] == emulator.jobs[0].id


def test_poke_by_id_running(emulator):
    emulator.job_delay = 30
    plan_id = send_plan()

    assert sensor(plan_id=plan_id).poke(make_context()) is False


def test_poke_by_id_failure(emulator):
    emulator.set_outcome("Business Pulse", "failure", "SMTP relay refused the message")
    plan_id = send_plan()

    with pytest.raises(LookerDeliverySensorFailedError, match="SMTP relay refused the message") as caught:
        sensor(plan_id=plan_id).poke(make_context())

    assert f"plan {plan_id}" in str(caught.value)
    assert isinstance(caught.value, AirflowFailException)


def test_poke_by_name_before_trigger(emulator, clock):
    clock.moment = TODAY - datetime.timedelta(days=1)
    trigger_orders_datagroup(clock)
    clock.moment = TODAY + datetime.timedelta(minutes=10)

    assert sensor(plan_name=DAILY_SALES).poke(make_context()) is False


def test_poke_by_name_after_trigger(emulator, clock):
    clock.moment = TODAY - datetime.timedelta(days=1)
    trigger_orders_datagroup(clock)
    clock.moment = TODAY + datetime.timedelta(minutes=10)
    trigger_orders_datagroup(clock)
    context = make_context()

    result = sensor(plan_name=DAILY_SALES).poke(context)

    assert result.xcom_value == "502"
    assert context["ti"].xcoms[DELIVERY_XCOM_KEY]["created_time"] == "2026-01-31 06:10:00"


def test_poke_by_name_ignores_earlier_failure(emulator, clock):
    emulator.set_outcome(DAILY_SALES, "failure", "Webhook answered 500")
    clock.moment = TODAY - datetime.timedelta(days=1)
    trigger_orders_datagroup(clock)
    clock.moment = TODAY + datetime.timedelta(minutes=10)

    assert sensor(plan_name=DAILY_SALES).poke(make_context()) is False


def test_poke_by_name_failure(emulator, clock):
    emulator.set_outcome(DAILY_SALES, "failure", "Webhook answered 500")
    trigger_orders_datagroup(clock)

    with pytest.raises(LookerDeliverySensorFailedError, match="Webhook answered 500"):
        sensor(plan_name=DAILY_SALES).poke(make_context())


def test_poke_without_permission(emulator):
    plan_id = send_plan()
    emulator.permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}

    with pytest.raises(LookerPermissionError, match="see_system_activity"):
        sensor(plan_id=plan_id).poke(make_context())


def test_poke_logs_in_and_out(emulator):
    plan_id = send_plan()
    sent = len(emulator.calls)

    sensor(plan_id=plan_id).poke(make_context())

    assert [call.operation for call in emulator.calls[sent:]] == ["login", "run_inline_query", "logout"]


# ---------------------------------------------------------------------------------------------
# execute in poke mode
# ---------------------------------------------------------------------------------------------


def test_execute_returns_plan_id(emulator):
    plan_id = send_plan()

    assert sensor(plan_id=plan_id).execute(make_context()) == plan_id


def test_execute_timeout_message(emulator):
    emulator.job_delay = 30
    plan_id = send_plan()

    with pytest.raises(AirflowSensorTimeout) as caught:
        sensor(plan_id=plan_id, timeout=0).execute(make_context())

    assert f"plan {plan_id}" in str(caught.value)
    assert "is unknown" in str(caught.value)
    assert f"job {emulator.jobs[0].id}: running" in str(caught.value)


def test_execute_soft_fail_skips_failure(emulator):
    emulator.set_outcome("Business Pulse", "failure", "SMTP relay refused the message")
    plan_id = send_plan()

    with pytest.raises(AirflowSkipException):
        sensor(plan_id=plan_id, soft_fail=True).execute(make_context())


def test_execute_soft_fail_skips_timeout(emulator):
    emulator.job_delay = 30
    plan_id = send_plan()

    with pytest.raises(AirflowSkipException):
        sensor(plan_id=plan_id, timeout=0, soft_fail=True).execute(make_context())


# ---------------------------------------------------------------------------------------------
# Deferral
# ---------------------------------------------------------------------------------------------


def test_deferrable_by_name_defers(emulator):
    waiting = sensor(plan_name=DAILY_SALES, deferrable=True, poke_interval=90, timeout=600, looker_conn_id="looker_default")
    started = time.time()

    with pytest.raises(TaskDeferred) as caught:
        waiting.execute(make_context())
    trigger = caught.value.trigger
    kwargs = trigger.serialize()[1]

    assert isinstance(trigger, LookerDeliveryTrigger)
    assert caught.value.method_name == "execute_complete"
    assert kwargs["plan_name_contains"] == DAILY_SALES
    assert kwargs["created_after"] == TODAY.isoformat()
    assert kwargs["poll_interval"] == 90
    assert started + 600 <= kwargs["end_time"] <= time.time() + 600
    assert emulator.calls == []


def test_deferrable_by_id_defers(emulator):
    with pytest.raises(TaskDeferred) as caught:
        sensor(plan_id="1001", deferrable=True).execute(make_context())

    assert caught.value.trigger.serialize()[1]["plan_id"] == "1001"
    assert caught.value.trigger.serialize()[1]["created_after"] is None


JOB = {
    "plan_id": "502",
    "status": "success",
    "plan_name": DAILY_SALES,
    "job_id": "9001",
    "looker_status": "success",
    "detail": None,
    "created_time": "2026-01-31 06:10:00",
    "finalized_time": "2026-01-31 06:10:03",
}


def test_execute_complete_success():
    context = make_context()

    result = sensor(plan_name=DAILY_SALES).execute_complete(context, {"status": "success", "plan_id": "502", "job": JOB, "message": "ok"})

    assert result == "502"
    assert context["ti"].xcoms[DELIVERY_XCOM_KEY] == JOB


@pytest.mark.parametrize(
    ("event", "error"),
    [
        pytest.param(
            {"status": "failure", "plan_id": "502", "job": {**JOB, "status": "failure", "detail": "Webhook answered 500"}, "message": "Webhook answered 500"},
            LookerDeliverySensorFailedError,
            id="failure",
        ),
        pytest.param({"status": "timeout", "plan_id": None, "job": None, "message": "state is unknown"}, AirflowSensorTimeout, id="timeout"),
        pytest.param({"status": "error", "plan_id": None, "job": None, "message": "needs see_system_activity"}, LookerDeliveryStatusError, id="error"),
    ],
)
def test_execute_complete_raises(event, error):
    with pytest.raises(error, match=event["message"]):
        sensor(plan_name=DAILY_SALES).execute_complete(make_context(), event)


@pytest.mark.parametrize("status", ["failure", "timeout", "error"])
def test_resume_soft_fail_skips(status):
    event = {"status": status, "plan_id": "502", "job": {**JOB, "status": "failure"}, "message": "not delivered"}

    with pytest.raises(AirflowSkipException):
        sensor(plan_name=DAILY_SALES, soft_fail=True).resume_execution("execute_complete", {"event": event}, make_context())
