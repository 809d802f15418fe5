"""TriggerDatagroupOperator in DAG runs on real Airflow (``dag.test()``) against the Looker emulator."""

from __future__ import annotations

import datetime
import re
import time
import uuid

import pendulum
import pytest
import time_machine

from airflow.providers.common.compat.sdk import DAG
from airflow_compat import dag_bag, run_dag

from airflow_provider_looker_trigger.exceptions import LookerConfigurationError
from airflow_provider_looker_trigger.operators.looker import TriggerDatagroupOperator
from airflow_provider_looker_trigger.testing import LookerEmulator

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
TASK_ID = "trigger"
# A moment long before any test runs. DAGs are built with the clock set to it, so a trigger time
# taken when the DAG file is parsed would show as this year.
PARSE_TIME = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def looker(looker_emulator, monkeypatch) -> LookerEmulator:
    """The emulator, with ``looker_default`` pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    return looker_emulator


@pytest.fixture
def trigger(request, airflow_db, looker):
    """Build a DAG with one TriggerDatagroupOperator task at ``PARSE_TIME``, run it now, return the task instance."""

    def run(datagroup):
        name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).strip("_")[:80]
        with time_machine.travel(PARSE_TIME, tick=False):
            with DAG(f"{name}_{uuid.uuid4().hex[:8]}", schedule=None, start_date=START_DATE, catchup=False) as dag:
                TriggerDatagroupOperator(task_id=TASK_ID, datagroup=datagroup)
        dag_run = run_dag(dag)
        return next(ti for ti in dag_run.get_task_instances() if ti.task_id == TASK_ID)

    return run


def update_calls(emulator: LookerEmulator) -> list:
    return [call for call in emulator.calls if call.operation == "update_datagroup"]


DATAGROUP_REFERENCES = [
    pytest.param(1, id="id-int"),
    pytest.param("1", id="id-string"),
    pytest.param("thelook::orders_datagroup", id="model-and-name"),
]


@pytest.mark.parametrize("datagroup", DATAGROUP_REFERENCES)
def test_datagroup_triggered(looker, trigger, datagroup):
    ti = trigger(datagroup)

    calls = update_calls(looker)
    assert ti.state == "success"
    assert [(call.method, call.path, call.status) for call in calls] == [("PATCH", "/api/4.0/datagroups/1", 200)]
    assert set(calls[0].body) == {"triggered_at", "stale_before"}
    assert calls[0].body["triggered_at"] == calls[0].body["stale_before"]
    assert looker.content.datagroups["1"].triggered_at == calls[0].body["triggered_at"]


def test_datagroup_name_looked_up(looker, trigger):
    trigger("thelook::orders_datagroup")

    assert [call.operation for call in looker.calls] == ["login", "all_datagroups", "update_datagroup", "logout"]


def test_datagroup_id_not_looked_up(looker, trigger):
    trigger("1")

    assert [call.operation for call in looker.calls] == ["login", "update_datagroup", "logout"]


def test_trigger_time_taken_when_task_runs(looker, trigger):
    # Airflow 2.11's dag.test() leaves the task instance's start_date empty, so the run's start is measured here.
    run_started = time.time()
    ti = trigger("thelook::orders_datagroup")

    triggered_at = update_calls(looker)[0].body["triggered_at"]
    # Two seconds in the past, truncated to whole seconds, between the start of the run and the task's end.
    assert run_started - 3 <= triggered_at
    assert triggered_at <= ti.end_date.timestamp() - 2


def test_trigger_time_two_seconds_before_request(looker, trigger):
    trigger(1)

    call = update_calls(looker)[0]
    seconds_before_request = call.time.timestamp() - call.body["triggered_at"]
    assert 2 <= seconds_before_request < 4


def test_attached_schedule_delivers(looker, trigger):
    trigger("thelook::orders_datagroup")

    assert looker.wait_for_jobs(timeout=10)
    assert [delivery.plan_id for delivery in looker.deliveries] == ["502"]


def test_xcom_return_value_is_datagroup_id(looker, trigger):
    ti = trigger("thelook::orders_datagroup")

    assert str(ti.xcom_pull(task_ids=TASK_ID)) == "1"


def test_log_mentions_regenerator_cycle(looker, trigger, capsys):
    trigger("thelook::orders_datagroup")

    output = capsys.readouterr().out
    assert "Triggered datagroup 1 (thelook::orders_datagroup)" in output
    assert "on its next regenerator cycle, not at once" in output


def test_unknown_datagroup_suggests_closest(looker, trigger, capsys):
    ti = trigger("thelook::order_datagroup")

    output = capsys.readouterr().out
    assert ti.state == "failed"
    assert "Looker has no datagroup 'thelook::order_datagroup'" in output
    assert "Did you mean 'thelook::orders_datagroup'" in output
    assert update_calls(looker) == []


@pytest.mark.parametrize(
    "datagroup",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("thelook::", id="no-name"),
        pytest.param("::orders_datagroup", id="no-model"),
        pytest.param("thelook::orders::datagroup", id="two-separators"),
        pytest.param(None, id="none"),
        pytest.param(True, id="bool"),
        pytest.param(1.5, id="float"),
        pytest.param(["thelook::orders_datagroup"], id="list"),
    ],
)
def test_invalid_datagroup_rejected_at_parse_time(datagroup):
    with pytest.raises(LookerConfigurationError, match="Invalid datagroup"):
        TriggerDatagroupOperator(task_id=TASK_ID, datagroup=datagroup)


@pytest.mark.parametrize(
    "clock_skew_seconds",
    [pytest.param(-1, id="negative"), pytest.param(1.5, id="float"), pytest.param(True, id="bool")],
)
def test_invalid_clock_skew_rejected_at_parse_time(clock_skew_seconds):
    with pytest.raises(LookerConfigurationError, match="Invalid clock_skew_seconds"):
        TriggerDatagroupOperator(task_id=TASK_ID, datagroup=1, clock_skew_seconds=clock_skew_seconds)


def test_templated_datagroup_accepted_at_parse_time():
    operator = TriggerDatagroupOperator(task_id=TASK_ID, datagroup="{{ params.datagroup }}")

    assert operator.datagroup == "{{ params.datagroup }}"


DAG_FILE_WITH_INVALID_DATAGROUP = '''
import pendulum
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_looker_trigger.operators.looker import TriggerDatagroupOperator

with DAG("invalid_datagroup", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    TriggerDatagroupOperator(task_id="trigger", datagroup="thelook::")
'''


def test_invalid_datagroup_is_import_error(tmp_path):
    dag_file = tmp_path / "invalid_datagroup.py"
    dag_file.write_text(DAG_FILE_WITH_INVALID_DATAGROUP)

    bag = dag_bag(dag_file)

    assert bag.dags == {}
    assert "Invalid datagroup 'thelook::'" in bag.import_errors[str(dag_file)]
