"""Tests of LookerDeliveryTrigger: serialization, and runs on asyncio against the Looker emulator."""

from __future__ import annotations

import asyncio
import datetime
import importlib
import json
import time

import pytest

from airflow.triggers.base import BaseTrigger
from airflow_compat import capture_task_logs, serde_round_trip

from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.testing import DEFAULT_PERMISSIONS, Fault
from airflow_provider_looker_trigger.triggers.looker import DEFAULT_POLL_INTERVAL, LookerDeliveryTrigger

EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}
PLAN_NAME = "Business Pulse [airflow:0123456789ab]"


@pytest.fixture
def emulator(looker_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    return looker_emulator


def send_plan(name: str = PLAN_NAME) -> str:
    with LookerHook() as hook:
        return hook.run_once({"name": name, "dashboard_id": "73", "scheduled_plan_destination": [EMAIL_PDF]})["id"]


def make_trigger(plan_id: str | None = None, *, wait: float = 10.0, poll_interval: float = 0.05, **kwargs) -> LookerDeliveryTrigger:
    return LookerDeliveryTrigger(end_time=time.time() + wait, plan_id=plan_id, plan_name=PLAN_NAME if plan_id else None, poll_interval=poll_interval, **kwargs)


def run_trigger(trigger: LookerDeliveryTrigger) -> list:
    async def collect():
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


def operations(emulator) -> list[str]:
    return [call.operation for call in emulator.calls]


# ---------------------------------------------------------------------------------------------
# Serialization
# ---------------------------------------------------------------------------------------------


def test_trigger_is_base_trigger():
    assert issubclass(LookerDeliveryTrigger, BaseTrigger)


def test_serialize_json_round_trip():
    trigger = LookerDeliveryTrigger(end_time=1_800_000_000.5, plan_id="1001", plan_name=PLAN_NAME, poll_interval=30, looker_conn_id="looker_eu")

    classpath, kwargs = trigger.serialize()
    module_name, _, class_name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module_name), class_name)(**json.loads(json.dumps(kwargs)))

    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "end_time": 1_800_000_000.5,
        "plan_id": "1001",
        "plan_name": PLAN_NAME,
        "plan_name_contains": None,
        "created_after": None,
        "poll_interval": 30.0,
        "looker_conn_id": "looker_eu",
    }


def test_serialize_airflow_serde_round_trip():
    trigger = LookerDeliveryTrigger(end_time=1_800_000_000, plan_name_contains="Daily sales", created_after="2026-01-31T06:00:00+00:00")
    _, kwargs = trigger.serialize()

    assert serde_round_trip(kwargs) == kwargs


def test_created_after_datetime_becomes_iso_text():
    moment = datetime.datetime(2026, 1, 31, 6, 0, tzinfo=datetime.timezone.utc)

    trigger = LookerDeliveryTrigger(end_time=0, plan_name_contains="Daily", created_after=moment)

    assert trigger.serialize()[1]["created_after"] == "2026-01-31T06:00:00+00:00"
    assert trigger.target().created_after == moment


def test_default_poll_interval_is_a_minute():
    assert LookerDeliveryTrigger(end_time=0, plan_id="1001").poll_interval == DEFAULT_POLL_INTERVAL == 60.0


def test_trigger_needs_plan_or_name():
    with pytest.raises(ValueError, match="plan id or a text"):
        LookerDeliveryTrigger(end_time=0)


# ---------------------------------------------------------------------------------------------
# One event per outcome
# ---------------------------------------------------------------------------------------------


def test_success_event(emulator):
    plan_id = send_plan()

    [event] = run_trigger(make_trigger(plan_id))

    assert event.payload["status"] == "success"
    assert event.payload["plan_id"] == plan_id
    assert event.payload["job"]["status"] == "success"
    assert event.payload["job"]["job_id"] == emulator.jobs[0].id
    assert json.loads(json.dumps(event.payload)) == event.payload


def test_failure_event_with_detail(emulator):
    emulator.set_outcome("Business Pulse", "failure", "SMTP relay refused the message")
    plan_id = send_plan()

    [event] = run_trigger(make_trigger(plan_id))

    assert event.payload["status"] == "failure"
    assert event.payload["job"]["detail"] == "SMTP relay refused the message"
    assert "SMTP relay refused the message" in event.payload["message"]
    assert f"plan {plan_id}" in event.payload["message"]


def test_waits_while_job_runs(emulator):
    emulator.job_delay = 0.3
    plan_id = send_plan()

    [event] = run_trigger(make_trigger(plan_id))

    assert event.payload["status"] == "success"
    assert operations(emulator).count("run_inline_query") >= 2


def test_timeout_event(emulator):
    emulator.job_delay = 30
    plan_id = send_plan()

    [event] = run_trigger(make_trigger(plan_id, wait=0.3))

    assert event.payload["status"] == "timeout"
    assert event.payload["job"]["status"] == "running"
    assert "is unknown" in event.payload["message"]
    assert f"plan {plan_id} ({PLAN_NAME!r})" in event.payload["message"]


def test_deadline_passed_still_polls_once(emulator):
    plan_id = send_plan()

    [event] = run_trigger(make_trigger(plan_id, wait=-5))

    assert event.payload["status"] == "success"


def test_error_event_without_permission(emulator):
    plan_id = send_plan()
    emulator.permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}

    [event] = run_trigger(make_trigger(plan_id))

    assert event.payload["status"] == "error"
    assert "see_system_activity" in event.payload["message"]
    assert event.payload["plan_id"] == plan_id


def test_error_event_unknown_connection(emulator):
    [event] = run_trigger(make_trigger("1001", looker_conn_id="looker_missing"))

    assert event.payload["status"] == "error"
    assert "looker_missing" in event.payload["message"]


def test_by_name_and_created_after(emulator):
    started = datetime.datetime.now(datetime.timezone.utc)
    with LookerHook() as hook:
        hook.update_datagroup("1", triggered_at=int(started.timestamp()) - 2)
    trigger = LookerDeliveryTrigger(
        end_time=time.time() + 10, plan_name_contains="Daily sales after the orders load", created_after=started.isoformat(), poll_interval=0.05
    )

    [event] = run_trigger(trigger)

    assert event.payload["status"] == "success"
    assert event.payload["plan_id"] == "502"


def test_by_name_timeout_without_job(emulator):
    trigger = LookerDeliveryTrigger(end_time=time.time() + 0.2, plan_name_contains="Daily sales after the orders load", poll_interval=0.05)

    [event] = run_trigger(trigger)

    assert event.payload["status"] == "timeout"
    assert event.payload["plan_id"] is None
    assert event.payload["job"] is None


# ---------------------------------------------------------------------------------------------
# Session, logging and the event loop
# ---------------------------------------------------------------------------------------------


def test_one_login_and_logout(emulator):
    emulator.job_delay = 0.3
    plan_id = send_plan()
    sent = len(emulator.calls)

    run_trigger(make_trigger(plan_id))
    calls = operations(emulator)[sent:]

    assert calls.count("run_inline_query") >= 2
    assert calls.count("login") == 1
    assert calls[-1] == "logout"


def test_logs_each_poll(emulator):
    emulator.job_delay = 0.2
    plan_id = send_plan()
    job_id = emulator.jobs[0].id

    with capture_task_logs() as logs:
        run_trigger(make_trigger(plan_id, poll_interval=0.1))
    polls = [entry["event"] for entry in logs if entry["event"].startswith("Looker delivery of")]

    assert polls[0] == f"Looker delivery of plan {plan_id} ('{PLAN_NAME}'), job {job_id}: running"
    assert polls[-1] == f"Looker delivery of plan {plan_id} ('{PLAN_NAME}'), job {job_id}: success"


def test_http_runs_off_event_loop(emulator):
    plan_id = send_plan()
    emulator.add_fault(Fault("run_inline_query", delay=0.4))
    trigger = make_trigger(plan_id)

    async def scenario():
        ticks = 0
        finished = asyncio.Event()

        async def tick():
            nonlocal ticks
            while not finished.is_set():
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        events = [event async for event in trigger.run()]
        finished.set()
        await ticker
        return events, ticks

    events, ticks = asyncio.run(scenario())

    assert events[0].payload["status"] == "success"
    assert ticks >= 10


def test_cancel_logs_out(emulator):
    emulator.job_delay = 30
    plan_id = send_plan()
    trigger = make_trigger(plan_id, poll_interval=30)

    async def scenario():
        task = asyncio.create_task(anext(trigger.run()))
        while "run_inline_query" not in operations(emulator):
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())

    assert operations(emulator)[-1] == "logout"
