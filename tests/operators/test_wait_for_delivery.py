"""Tests of RunOncePlanOperator waiting for the delivery, deferring, and not sending twice on a retry.

Direct ``execute`` calls use a task instance stub and an injected clock; DAG runs use ``dag.test()``,
which runs deferred triggers in-process, against the Looker emulator.
"""

from __future__ import annotations

import datetime
import importlib.util
import itertools
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow.providers.common.compat.sdk import TaskDeferred
from airflow_compat import capture_task_logs, read_xcoms, use_dags_folder

from airflow_provider_looker_trigger.delivery import (
    DELIVERY_XCOM_KEY,
    LookerDeliveryFailedError,
    LookerDeliveryStatusError,
    LookerDeliveryTimeoutError,
)
from airflow_provider_looker_trigger.exceptions import LookerConfigurationError, LookerPermissionError
from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator
from airflow_provider_looker_trigger.testing import DEFAULT_PERMISSIONS, Fault
from airflow_provider_looker_trigger.triggers.looker import LookerDeliveryTrigger

ROOT = Path(__file__).resolve().parents[2]
EMAIL_PDF = {"type": "email", "address": "business-pulse@example.com", "format": "wysiwyg_pdf"}
NO_SYSTEM_ACTIVITY = DEFAULT_PERMISSIONS - {"see_system_activity"}
RUN_ONCE = "scheduled_plan_run_once"
INLINE_QUERY = "run_inline_query"


@dataclass
class TaskInstanceStub:
    """The parts of a task instance that the operator uses."""

    dag_id: str = "looker_wait"
    run_id: str = "scheduled__2026-01-31T06:00:00+00:00"
    task_id: str = "deliver"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


class FakeClock:
    """A monotonic clock that only moves when the operator sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def emulator(looker_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    return looker_emulator


def operator(**kwargs: Any) -> RunOncePlanOperator:
    arguments: dict[str, Any] = {
        "task_id": "deliver",
        "dashboard_id": 73,
        "destinations": [EMAIL_PDF],
        "name": "Business Pulse",
        "deferrable": False,
    }
    arguments.update(kwargs)
    return RunOncePlanOperator(**arguments)


def with_clock(task: RunOncePlanOperator) -> FakeClock:
    clock = FakeClock()
    task._clock = clock
    task._sleep = clock.sleep
    return clock


def context(try_number: int = 1) -> dict[str, Any]:
    return {"ti": TaskInstanceStub(try_number=try_number)}


def operations(emulator) -> list[str]:
    return [call.operation for call in emulator.calls]


def send_earlier_plan(task: RunOncePlanOperator, ctx: dict[str, Any]) -> str:
    """Send the plan an earlier try of ``task`` would have sent, and return its id."""
    with LookerHook() as hook:
        return hook.run_once({"name": task.plan_name(ctx), "dashboard_id": "73", "scheduled_plan_destination": [EMAIL_PDF]})["id"]


def fail_first_job(emulator, detail: str = "SMTP relay refused the message") -> None:
    """Make the first job the emulator finishes fail, and every later one succeed."""
    counter = itertools.count()
    emulator.set_outcome(lambda plan: next(counter) == 0, "failure", detail)


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["poll_interval", "delivery_timeout"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0, id="zero"),
        pytest.param(-5, id="negative"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="infinite"),
        pytest.param("60", id="text"),
        pytest.param(True, id="bool"),
        pytest.param(datetime.timedelta(0), id="zero-timedelta"),
    ],
)
def test_invalid_seconds(name, value):
    with pytest.raises(LookerConfigurationError, match=f"Invalid {name}"):
        operator(**{name: value})


def test_timedelta_seconds():
    task = operator(poll_interval=datetime.timedelta(minutes=2), delivery_timeout=datetime.timedelta(hours=2))

    assert task.poll_interval == 120.0
    assert task.delivery_timeout == 7200.0


def test_invalid_on_unverified_retry():
    with pytest.raises(LookerConfigurationError, match="Invalid on_unverified_retry 'skip'"):
        operator(on_unverified_retry="skip")


def test_defaults():
    task = operator()

    assert task.wait_for_delivery is False
    assert task.poll_interval == 60.0
    assert task.delivery_timeout == 3600.0
    assert task.check_earlier_tries is True
    assert task.on_unverified_retry == "fail"


def test_deferrable_implies_wait():
    assert operator(deferrable=True).wait_for_delivery is True


def test_modules_import_cheaply():
    code = (
        "import sys\n"
        "from airflow.providers.common.compat.sdk import BaseOperator, BaseSensorOperator\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_looker_trigger.operators.looker, airflow_provider_looker_trigger.sensors.looker\n"
        "print(sorted(name for name in set(sys.modules) - before if name.split('.')[0] in ('requests', 'pendulum', 'urllib3')"
        " or '.hooks' in name or '.triggers' in name))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)

    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Synchronous wait
# ---------------------------------------------------------------------------------------------


def test_no_wait_sends_only_run_once(emulator):
    plan_id = operator().execute(context())

    assert plan_id == emulator.jobs[0].plan_id
    assert operations(emulator) == ["login", RUN_ONCE, "logout"]


def test_wait_success_pushes_job(emulator):
    ctx = context()

    plan_id = operator(wait_for_delivery=True).execute(ctx)
    delivery = ctx["ti"].xcoms[DELIVERY_XCOM_KEY]

    assert plan_id == "1001"
    assert delivery["plan_id"] == "1001"
    assert delivery["job_id"] == emulator.jobs[0].id
    assert delivery["status"] == "success"
    assert operations(emulator) == ["login", RUN_ONCE, INLINE_QUERY, "logout"]


def test_wait_polls_with_one_login(emulator):
    emulator.job_delay = 0.2
    task = operator(wait_for_delivery=True, poll_interval=45)
    sleeps: list[float] = []
    task._sleep = lambda seconds: sleeps.append(seconds) or emulator.wait_for_jobs(timeout=10)

    task.execute(context())

    assert sleeps == [45]
    assert operations(emulator) == ["login", RUN_ONCE, INLINE_QUERY, INLINE_QUERY, "logout"]


def test_wait_logs_each_poll(emulator):
    emulator.job_delay = 0.2
    task = operator(wait_for_delivery=True)
    task._sleep = lambda seconds: emulator.wait_for_jobs(timeout=10)
    ctx = context()
    name = task.plan_name(ctx)

    with capture_task_logs() as logs:
        task.execute(ctx)
    polls = [entry for entry in logs if entry["event"].startswith("Looker delivery of")]

    assert [entry["log_level"] for entry in polls] == ["info", "info"]
    assert polls[0]["event"] == f"Looker delivery of plan 1001 ('{name}'), job 9001: running"
    assert polls[1]["event"] == f"Looker delivery of plan 1001 ('{name}'), job 9001: success"


def test_wait_failure_raises_detail(emulator):
    emulator.set_outcome("Business Pulse", "failure", "SMTP relay refused the message")
    ctx = context()

    with pytest.raises(LookerDeliveryFailedError, match="SMTP relay refused the message") as caught:
        operator(wait_for_delivery=True).execute(ctx)

    assert "plan 1001" in str(caught.value)
    assert caught.value.state.job_id == emulator.jobs[0].id
    assert DELIVERY_XCOM_KEY not in ctx["ti"].xcoms
    assert operations(emulator)[-1] == "logout"


def test_wait_timeout_state_unknown(emulator):
    emulator.job_delay = 60
    task = operator(wait_for_delivery=True, poll_interval=60, delivery_timeout=300)
    clock = with_clock(task)
    ctx = context()

    with pytest.raises(LookerDeliveryTimeoutError) as caught:
        task.execute(ctx)
    message = str(caught.value)

    assert "is unknown" in message
    assert f"plan 1001 ({task.plan_name(ctx)!r}) within 300 s" in message
    assert "A retry of this task checks this plan first" in message
    assert clock.sleeps == [60, 60, 60, 60, 60]
    assert operations(emulator).count(INLINE_QUERY) == 6
    assert operations(emulator)[-1] == "logout"


def test_wait_timeout_without_retry_check(emulator):
    emulator.job_delay = 60
    task = operator(wait_for_delivery=True, delivery_timeout=10, check_earlier_tries=False)
    with_clock(task)

    with pytest.raises(LookerDeliveryTimeoutError) as caught:
        task.execute(context())

    assert "A retry" not in str(caught.value)


def test_wait_without_permission(emulator):
    emulator.permissions = NO_SYSTEM_ACTIVITY

    with pytest.raises(LookerPermissionError) as caught:
        operator(wait_for_delivery=True).execute(context())
    message = str(caught.value)

    assert "see_system_activity" in message
    assert "Looker accepted plan 1001" in message
    assert operations(emulator).count(RUN_ONCE) == 1
    assert operations(emulator)[-1] == "logout"


# ---------------------------------------------------------------------------------------------
# Deferral
# ---------------------------------------------------------------------------------------------


def test_deferrable_defers_after_logout(emulator):
    task = operator(deferrable=True, poll_interval=90, delivery_timeout=1800, looker_conn_id="looker_default")
    ctx = context()
    started = time.time()

    with pytest.raises(TaskDeferred) as caught:
        task.execute(ctx)
    trigger = caught.value.trigger
    kwargs = trigger.serialize()[1]

    assert isinstance(trigger, LookerDeliveryTrigger)
    assert caught.value.method_name == "execute_complete"
    assert kwargs["plan_id"] == "1001"
    assert kwargs["plan_name"] == task.plan_name(ctx)
    assert kwargs["poll_interval"] == 90
    assert kwargs["looker_conn_id"] == "looker_default"
    assert started + 1800 <= kwargs["end_time"] <= time.time() + 1800
    assert operations(emulator) == ["login", RUN_ONCE, "logout"]


JOB = {
    "plan_id": "1001",
    "status": "success",
    "plan_name": "Business Pulse [airflow:0123456789ab]",
    "job_id": "9001",
    "looker_status": "success",
    "detail": None,
    "created_time": "2026-01-31 06:00:01",
    "finalized_time": "2026-01-31 06:00:09",
}


def test_execute_complete_success():
    ctx = context()

    result = operator(deferrable=True).execute_complete(ctx, {"status": "success", "plan_id": "1001", "job": JOB, "message": "delivered"})

    assert result == "1001"
    assert ctx["ti"].xcoms[DELIVERY_XCOM_KEY] == JOB


@pytest.mark.parametrize(
    ("event", "error", "text"),
    [
        pytest.param(
            {"status": "failure", "plan_id": "1001", "job": {**JOB, "status": "failure", "detail": "SMTP refused"}, "message": "Looker did not deliver plan 1001: SMTP refused"},
            LookerDeliveryFailedError,
            "SMTP refused",
            id="failure",
        ),
        pytest.param(
            {"status": "timeout", "plan_id": "1001", "job": {**JOB, "status": "running"}, "message": "whether it was delivered is unknown."},
            LookerDeliveryTimeoutError,
            "unknown. A retry of this task checks this plan first",
            id="timeout",
        ),
        pytest.param(
            {"status": "error", "plan_id": "1001", "job": None, "message": "needs the see_system_activity permission"},
            LookerDeliveryStatusError,
            "see_system_activity",
            id="error",
        ),
        pytest.param(None, LookerDeliveryStatusError, "invalid event", id="no-event"),
    ],
)
def test_execute_complete_raises(event, error, text):
    with pytest.raises(error, match=re.escape(text)):
        operator(deferrable=True).execute_complete(context(), event)


# ---------------------------------------------------------------------------------------------
# Retries, with direct execute calls
# ---------------------------------------------------------------------------------------------


def test_first_try_reads_no_system_activity(emulator):
    operator(wait_for_delivery=False).execute(context(try_number=1))

    assert INLINE_QUERY not in operations(emulator)


def test_retry_after_delivery_sends_nothing(emulator):
    task = operator()
    ctx = context(try_number=2)
    earlier = send_earlier_plan(task, ctx)

    with capture_task_logs() as logs:
        plan_id = task.execute(ctx)

    assert plan_id == earlier
    assert operations(emulator).count(RUN_ONCE) == 1
    assert any(entry["event"].startswith("Try 2 of this task does not send plan") and "already delivered" in entry["event"] for entry in logs)


def test_retry_after_delivery_pushes_earlier_job(emulator):
    task = operator(wait_for_delivery=True)
    clock = with_clock(task)
    ctx = context(try_number=2)
    earlier = send_earlier_plan(task, ctx)

    task.execute(ctx)

    assert ctx["ti"].xcoms[DELIVERY_XCOM_KEY]["plan_id"] == earlier
    assert ctx["ti"].xcoms[DELIVERY_XCOM_KEY]["status"] == "success"
    assert clock.sleeps == []


def test_retry_waits_for_running_earlier_plan(emulator):
    emulator.job_delay = 0.2
    task = operator(wait_for_delivery=True)
    task._sleep = lambda seconds: emulator.wait_for_jobs(timeout=10)
    ctx = context(try_number=2)
    earlier = send_earlier_plan(task, ctx)

    plan_id = task.execute(ctx)

    assert plan_id == earlier
    assert operations(emulator).count(RUN_ONCE) == 1
    assert ctx["ti"].xcoms[DELIVERY_XCOM_KEY]["status"] == "success"


def test_retry_defers_on_running_earlier_plan(emulator):
    emulator.job_delay = 30
    task = operator(deferrable=True)
    ctx = context(try_number=2)
    earlier = send_earlier_plan(task, ctx)

    with pytest.raises(TaskDeferred) as caught:
        task.execute(ctx)

    assert caught.value.trigger.serialize()[1]["plan_id"] == earlier
    assert operations(emulator).count(RUN_ONCE) == 1


def test_retry_after_failed_delivery_sends_again(emulator):
    fail_first_job(emulator)
    task = operator()
    ctx = context(try_number=2)
    earlier = send_earlier_plan(task, ctx)

    with capture_task_logs() as logs:
        plan_id = task.execute(ctx)

    assert plan_id != earlier
    assert operations(emulator).count(RUN_ONCE) == 2
    assert any("every earlier try failed to deliver" in entry["event"] for entry in logs)


def test_retry_without_earlier_plan_sends(emulator):
    operator().execute(context(try_number=2))

    assert operations(emulator) == ["login", INLINE_QUERY, RUN_ONCE, "logout"]


def test_retry_ignores_plans_of_other_tasks(emulator):
    other = operator(task_id="deliver_other")
    send_earlier_plan(other, {"ti": TaskInstanceStub(task_id="deliver_other")})

    operator().execute(context(try_number=2))

    assert operations(emulator).count(RUN_ONCE) == 2


def test_retry_check_off_sends_again(emulator):
    task = operator(check_earlier_tries=False)
    ctx = context(try_number=2)
    send_earlier_plan(task, ctx)

    task.execute(ctx)

    assert operations(emulator).count(RUN_ONCE) == 2
    assert INLINE_QUERY not in operations(emulator)


def test_retry_without_permission_fails(emulator):
    emulator.permissions = NO_SYSTEM_ACTIVITY
    task = operator()
    ctx = context(try_number=2)
    marker = task.plan_name(ctx).rsplit(" ", 1)[1]

    with pytest.raises(LookerPermissionError) as caught:
        task.execute(ctx)
    message = str(caught.value)

    assert marker in message
    assert "see_system_activity" in message
    assert "Nothing was sent" in message
    assert "on_unverified_retry='send'" in message
    assert RUN_ONCE not in operations(emulator)
    assert operations(emulator)[-1] == "logout"


def test_retry_without_permission_sends_with_warning(emulator):
    emulator.permissions = NO_SYSTEM_ACTIVITY
    task = operator(on_unverified_retry="send")

    with capture_task_logs() as logs:
        task.execute(context(try_number=2))
    # Airflow also warns that execute() runs outside of the task runner; only the operator's own warning counts.
    warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning" and entry["event"].startswith("Try 2")]

    assert operations(emulator).count(RUN_ONCE) == 1
    assert len(warnings) == 1
    assert "may be delivered twice" in warnings[0]
    assert "see_system_activity" in warnings[0]


# ---------------------------------------------------------------------------------------------
# DAG runs with dag.test()
# ---------------------------------------------------------------------------------------------

DAG_FILE = '''"""One RunOncePlanOperator task, for the wait-for-delivery tests; its settings are in the JSON file beside it."""

import datetime
import json
import pathlib

import pendulum

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

SETTINGS = json.loads(pathlib.Path(__file__).with_suffix(".json").read_text())

with DAG(SETTINGS["dag_id"], schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False) as dag:
    RunOncePlanOperator(
        task_id="deliver",
        retries=SETTINGS["retries"],
        retry_delay=datetime.timedelta(0),
        **SETTINGS["operator"],
    )
'''


@pytest.fixture
def dags_folder(tmp_path, monkeypatch, airflow_db) -> Path:
    """A DAGs folder of its own: dag.test() on Airflow 3.3 only runs DAGs it finds in the DAGs folder's bundle."""
    folder = tmp_path / "dags"
    folder.mkdir()
    use_dags_folder(monkeypatch, folder)
    return folder


def run_dag(folder: Path, dag_id: str, *, retries: int = 0, **operator_kwargs: Any):
    """Write a one-task DAG into ``folder``, run it with dag.test() and return the DAG run."""
    settings = {
        "dag_id": dag_id,
        "retries": retries,
        "operator": {"dashboard_id": 73, "destinations": [EMAIL_PDF], "name": "Business Pulse", "deferrable": False, **operator_kwargs},
    }
    (folder / f"{dag_id}.json").write_text(json.dumps(settings))
    path = folder / f"{dag_id}.py"
    path.write_text(DAG_FILE)
    spec = importlib.util.spec_from_file_location(dag_id, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag.test()


def drop_first_run_once_answer(emulator) -> None:
    """Make Looker accept the first run_once and drop the connection before responding, so the first try gets no plan id."""
    emulator.add_fault(Fault(RUN_ONCE, calls=(1,), drop="after"))


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_dag_waits_for_delivery(emulator, dags_folder, deferrable):
    emulator.job_delay = 0.3

    dag_run = run_dag(dags_folder, f"looker_wait_{'deferred' if deferrable else 'sync'}", wait_for_delivery=True, deferrable=deferrable, poll_interval=0.1)
    pushed = read_xcoms(dag_run, "deliver")

    assert dag_run.state == "success"
    assert pushed["return_value"] == "1001"
    assert pushed[DELIVERY_XCOM_KEY]["status"] == "success"
    assert pushed[DELIVERY_XCOM_KEY]["job_id"] == emulator.jobs[0].id
    assert operations(emulator).count(RUN_ONCE) == 1
    assert operations(emulator).count(INLINE_QUERY) >= 2


def test_dag_deferred_failure(emulator, dags_folder):
    emulator.set_outcome("Business Pulse", "failure", "SMTP relay refused the message")

    dag_run = run_dag(dags_folder, "looker_wait_deferred_failure", deferrable=True, poll_interval=0.1)

    assert dag_run.state == "failed"
    assert dag_run.get_task_instance("deliver").state == "failed"
    assert DELIVERY_XCOM_KEY not in read_xcoms(dag_run, "deliver")


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="no-wait"),
        pytest.param({"deferrable": True, "poll_interval": 0.1}, id="deferrable"),
    ],
)
def test_dag_retry_does_not_send_twice(emulator, dags_folder, settings):
    drop_first_run_once_answer(emulator)

    dag_run = run_dag(dags_folder, f"looker_retry_{len(settings)}", retries=1, **settings)
    task_instance = dag_run.get_task_instance("deliver")

    assert dag_run.state == "success"
    assert task_instance.try_number == 2
    assert operations(emulator).count(RUN_ONCE) == 1
    assert read_xcoms(dag_run, "deliver")["return_value"] == "1001"
    assert len(emulator.deliveries) == 1


def test_dag_retry_after_failed_delivery_sends_again(emulator, dags_folder):
    fail_first_job(emulator)

    dag_run = run_dag(dags_folder, "looker_retry_after_failure", retries=1, wait_for_delivery=True, poll_interval=0.1)
    pushed = read_xcoms(dag_run, "deliver")

    assert dag_run.state == "success"
    assert dag_run.get_task_instance("deliver").try_number == 2
    assert operations(emulator).count(RUN_ONCE) == 2
    assert pushed["return_value"] == "1002"
    assert pushed[DELIVERY_XCOM_KEY]["status"] == "success"


@pytest.mark.parametrize(
    ("on_unverified_retry", "state", "run_once_calls"),
    [
        pytest.param("fail", "failed", 1, id="fail"),
        pytest.param("send", "success", 2, id="send"),
    ],
)
def test_dag_retry_without_permission(emulator, dags_folder, on_unverified_retry, state, run_once_calls):
    emulator.permissions = NO_SYSTEM_ACTIVITY
    drop_first_run_once_answer(emulator)

    dag_run = run_dag(dags_folder, f"looker_retry_unverified_{on_unverified_retry}", retries=1, on_unverified_retry=on_unverified_retry)

    assert dag_run.state == state
    assert dag_run.get_task_instance("deliver").try_number == 2
    assert operations(emulator).count(RUN_ONCE) == run_once_calls


def test_example_dag_waits_for_both_deliveries(emulator, airflow_db, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKER_DEMO_WAREHOUSE", str(tmp_path / "warehouse.sqlite"))
    use_dags_folder(monkeypatch, ROOT / "example_dags")
    spec = importlib.util.spec_from_file_location("looker_wait_for_delivery", ROOT / "example_dags" / "looker_wait_for_delivery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    dag_run = module.dag.test()

    assert dag_run.state == "success"
    assert read_xcoms(dag_run, "deliver_business_pulse")[DELIVERY_XCOM_KEY]["status"] == "success"
    assert read_xcoms(dag_run, "wait_for_daily_sales")[DELIVERY_XCOM_KEY]["plan_id"] == "502"
    assert sorted(delivery.plan_id for delivery in emulator.deliveries) == ["1001", "502"]
