"""The example DAGs import cleanly and, run against the Looker emulator, deliver what their comments describe."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow_compat import dag_bag

from airflow_provider_looker_trigger.operators.looker import plan_key
from airflow_provider_looker_trigger.plan import filter_literal
from airflow_provider_looker_trigger.testing import LookerEmulator
from airflow_provider_looker_trigger.testing.rendering import extract_pdf_rows
from airflow_provider_looker_trigger.testing.warehouse import load_demo_orders

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = ROOT / "example_dags"
EXAMPLE_FILES = sorted(EXAMPLE_DAGS.glob("*.py"))
# Seconds after which a hung Airflow subprocess is stopped. A normal run finishes in well under a minute.
SUBPROCESS_TIMEOUT = 300

def load_dag(path: Path, dag_id: str):
    bag = dag_bag(path)
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def subprocess_environment(output: Path) -> dict[str, str]:
    """Return the environment scripts/run_demo.py gives Airflow: everything under ``output``."""
    home = output / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "LOOKER_DEMO_WAREHOUSE": str(output / "warehouse.sqlite"),
        }
    )
    return env


def run_command(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


# ---------------------------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[path.name for path in EXAMPLE_FILES])
def test_example_dag_imports(path):
    bag = dag_bag(path)

    assert bag.import_errors == {}
    assert len(bag.dags) >= 1


def test_example_dags_folder_imports():
    bag = dag_bag(EXAMPLE_DAGS)

    assert bag.import_errors == {}
    assert {"looker_after_load", "looker_destinations"} <= set(bag.dags)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[path.name for path in EXAMPLE_FILES])
def test_example_sections_balanced(path):
    text = path.read_text()
    starts = re.findall(r"# \[START (\w+)\]", text)
    ends = re.findall(r"# \[END (\w+)\]", text)

    assert starts == ends
    assert len(set(starts)) == len(starts)


# ---------------------------------------------------------------------------------------------
# looker_destinations.py, run in this process with dag.test()
# ---------------------------------------------------------------------------------------------

DESTINATIONS_DAG_ID = "looker_destinations"
AWS_KEY_ID = "AKIAEXAMPLEKEY000002"


@pytest.fixture(scope="module")
def destinations_run(airflow_db, tmp_path_factory):
    """Run looker_destinations once against an emulator and return the emulator, the DAG run and the output."""
    folder = tmp_path_factory.mktemp("looker-destinations")
    warehouse_path = folder / "warehouse.sqlite"
    load_demo_orders(warehouse_path, end_date=datetime.datetime.now(datetime.timezone.utc).date())
    secrets = {"s3": f"aws-secret-{uuid.uuid4().hex}", "sftp": f"sftp-password-{uuid.uuid4().hex}"}
    captured = io.StringIO()

    with LookerEmulator(outbox=folder / "outbox", warehouse=warehouse_path) as emulator, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", emulator.connection_json())
        patch.setenv(
            "AIRFLOW_CONN_AWS_LOOKER_REPORTS",
            json.dumps({"conn_type": "aws", "login": AWS_KEY_ID, "password": secrets["s3"], "extra": {"region_name": "eu-west-1"}}),
        )
        patch.setenv(
            "AIRFLOW_CONN_SFTP_REPORTS",
            json.dumps({"conn_type": "sftp", "host": "sftp.example.com", "login": "looker", "password": secrets["sftp"]}),
        )
        dag = load_dag(EXAMPLE_DAGS / "looker_destinations.py", DESTINATIONS_DAG_ID)
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            dag_run = dag.test()
        assert emulator.wait_for_jobs(timeout=30)

    yield SimpleNamespace(
        emulator=emulator,
        dag_run=dag_run,
        states={ti.task_id: ti.state for ti in dag_run.get_task_instances()},
        output=captured.getvalue(),
        secrets=secrets,
        warehouse=warehouse_path,
    )


def deliveries_of(run, task_id: str) -> list:
    """Return the deliveries of the plan that ``task_id`` sent, found by the key in the plan name."""
    marker = f"[airflow:{plan_key(DESTINATIONS_DAG_ID, run.dag_run.run_id, task_id, None)}]"
    return [delivery for delivery in run.emulator.deliveries if marker in (delivery.plan.get("name") or "")]


def loaded_day(run) -> str:
    return f"{run.dag_run.data_interval_start:%Y-%m-%d} to {run.dag_run.data_interval_end:%Y-%m-%d}"


DESTINATIONS_TASKS = [
    pytest.param("load_orders", id="load_orders"),
    pytest.param("email_business_pulse", id="email_business_pulse"),
    pytest.param("email_one_region", id="email_one_region"),
    pytest.param("post_daily_sales", id="post_daily_sales"),
    pytest.param("export_orders_to_s3", id="export_orders_to_s3"),
    pytest.param("upload_business_pulse_sftp", id="upload_business_pulse_sftp"),
    pytest.param("share_business_pulse_slack", id="share_business_pulse_slack"),
    pytest.param("run_plan_501_for_the_day", id="run_plan_501_for_the_day"),
    pytest.param("trigger_orders_datagroup", id="trigger_orders_datagroup"),
]


@pytest.mark.parametrize("task_id", DESTINATIONS_TASKS)
def test_destinations_task_succeeds(destinations_run, task_id):
    assert destinations_run.states[task_id] == "success"


def test_destinations_every_task_covered(destinations_run):
    assert set(destinations_run.states) == {param.values[0] for param in DESTINATIONS_TASKS}


def test_destinations_data_interval_is_one_day(destinations_run):
    dag_run = destinations_run.dag_run

    assert dag_run.data_interval_end - dag_run.data_interval_start == datetime.timedelta(days=1)


def test_destinations_email_list(destinations_run):
    deliveries = deliveries_of(destinations_run, "email_business_pulse")

    assert [delivery.destination["address"] for delivery in deliveries] == ["sales-leads@example.com", "finance@example.com"]
    assert {delivery.destination["type"] for delivery in deliveries} == {"email"}


def test_destinations_loaded_day_filter(destinations_run):
    delivery = deliveries_of(destinations_run, "email_business_pulse")[0]

    assert delivery.filters == {"Date": loaded_day(destinations_run), "State / Region": "-Not State"}


def test_destinations_rows_of_loaded_day(destinations_run):
    delivery = deliveries_of(destinations_run, "email_business_pulse")[0]
    day = f"{destinations_run.dag_run.data_interval_start:%Y-%m-%d}"
    with contextlib.closing(sqlite3.connect(destinations_run.warehouse)) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM orders WHERE created_date = ? AND state <> 'Not State'", (day,)
        ).fetchone()

    assert {row["order_items.created_date"] for row in delivery.rows} <= {day}
    assert len(delivery.rows) == count


def test_destinations_filter_literal(destinations_run):
    delivery = deliveries_of(destinations_run, "email_one_region")[0]

    assert delivery.filters["State / Region"] == filter_literal("Washington, D.C.")
    assert delivery.status == "success"


def test_destinations_look_to_webhook(destinations_run):
    delivery = deliveries_of(destinations_run, "post_daily_sales")[0]

    assert (delivery.source, delivery.content_id) == ("look", "42")
    assert delivery.destination == {"type": "webhook", "address": "https://hooks.example.com/looker/daily-sales", "format": "json"}
    assert delivery.plan["require_results"] is True


def test_destinations_action_hub(destinations_run):
    delivery = deliveries_of(destinations_run, "share_business_pulse_slack")[0]

    assert delivery.destination["type"] == "looker-integration://1::slack_app"
    assert json.loads(delivery.destination["parameters"]) == {"channel": "#daily-business-pulse"}
    assert delivery.filters == {"Date": loaded_day(destinations_run)}


def test_destinations_existing_plan(destinations_run):
    delivery = deliveries_of(destinations_run, "run_plan_501_for_the_day")[0]
    calls = [call for call in destinations_run.emulator.calls if call.operation == "scheduled_plan_run_once_by_id"]

    assert [call.path for call in calls] == ["/api/4.0/scheduled_plans/501/run_once"]
    assert delivery.filters == {"Date": loaded_day(destinations_run), "Brand": "Carhartt"}
    assert delivery.destination["address"] == "carhartt-team@example.com"


def test_destinations_datagroup_triggered(destinations_run):
    calls = [call for call in destinations_run.emulator.calls if call.operation == "update_datagroup"]
    attached = [delivery for delivery in destinations_run.emulator.deliveries if delivery.plan_id == "502"]

    assert [call.path for call in calls] == ["/api/4.0/datagroups/1"]
    assert len(attached) == 1


def test_destinations_s3(destinations_run):
    deliveries = deliveries_of(destinations_run, "export_orders_to_s3")

    assert len(deliveries) == 1
    assert (deliveries[0].source, deliveries[0].content_id) == ("query", "1001")
    assert json.loads(deliveries[0].destination["parameters"]) == {"access_key_id": AWS_KEY_ID, "region": "eu-west-1"}


def test_destinations_sftp(destinations_run):
    deliveries = deliveries_of(destinations_run, "upload_business_pulse_sftp")

    assert len(deliveries) == 1
    assert (deliveries[0].source, deliveries[0].content_id) == ("lookml_dashboard", "thelook::business_pulse")
    assert json.loads(deliveries[0].destination["parameters"]) == {"username": "looker"}


@pytest.mark.parametrize("kind", ["s3", "sftp"])
def test_destinations_secret_only_on_the_wire(destinations_run, kind):
    secret = destinations_run.secrets[kind]
    received = [delivery.destination.get("secret_parameters") or "" for delivery in destinations_run.emulator.deliveries]

    assert any(secret in parameters for parameters in received)
    assert secret not in destinations_run.output


def test_destinations_looker_credentials_not_in_output(destinations_run):
    emulator = destinations_run.emulator

    assert "Logged in to Looker" in destinations_run.output
    assert emulator.client_secret not in destinations_run.output
    assert emulator.issued_tokens
    for token in emulator.issued_tokens:
        assert token not in destinations_run.output


# ---------------------------------------------------------------------------------------------
# looker_after_load.py, run in a subprocess the way scripts/run_demo.py runs it
# ---------------------------------------------------------------------------------------------

EXPECTED_FILTERS = {"Date": "90 days", "State / Region": "-Not State", "Brand": "Calvin Klein"}
ROW_COLUMNS = {
    "order_items.created_date": "created_date",
    "users.state": "state",
    "products.brand": "brand",
    "products.category": "category",
    "order_items.sale_price": "sale_price",
}


@pytest.fixture(scope="module")
def after_load_run(tmp_path_factory):
    """Run example_dags/looker_after_load.py in a fresh Airflow home against an emulator in this process."""
    output = tmp_path_factory.mktemp("after-load")
    env = subprocess_environment(output)

    with LookerEmulator(outbox=output / "outbox", warehouse=output / "warehouse.sqlite") as emulator:
        env["AIRFLOW_CONN_LOOKER_DEFAULT"] = emulator.connection_json()
        migrate = run_command([sys.executable, "-m", "airflow", "db", "migrate"], env)
        dag_run = run_command([sys.executable, str(EXAMPLE_DAGS / "looker_after_load.py")], env)
        assert emulator.wait_for_jobs(timeout=30)

    logs = [path.read_text(errors="replace") for path in (output / "airflow-home").rglob("*.log")]
    yield SimpleNamespace(
        emulator=emulator,
        output="\n".join([migrate.stdout, migrate.stderr, dag_run.stdout, dag_run.stderr, *logs]),
        warehouse=output / "warehouse.sqlite",
    )


def expected_rows(warehouse: Path, today: datetime.date) -> list[dict]:
    """Select the rows of EXPECTED_FILTERS with SQL: "90 days" is today and the 89 days before it."""
    first_day = today - datetime.timedelta(days=89)
    columns = ", ".join(ROW_COLUMNS.values())
    with contextlib.closing(sqlite3.connect(warehouse)) as connection:
        records = connection.execute(
            f"SELECT {columns} FROM orders "
            "WHERE brand = 'Calvin Klein' AND state <> 'Not State' AND created_date BETWEEN ? AND ? "
            "ORDER BY created_date DESC, rowid",
            (first_day.isoformat(), today.isoformat()),
        ).fetchall()
    return [dict(zip(ROW_COLUMNS, record)) for record in records]


def test_after_load_dag_run_succeeds(after_load_run):
    assert re.search(r"DagRun Finished: dag_id=looker_after_load, .*state=success", after_load_run.output)


def test_after_load_one_delivery(after_load_run):
    deliveries = after_load_run.emulator.deliveries

    assert len(deliveries) == 1
    assert deliveries[0].status == "success"
    assert deliveries[0].destination["address"] == "business-pulse@example.com"


def test_after_load_filters(after_load_run):
    assert after_load_run.emulator.deliveries[0].filters == EXPECTED_FILTERS


def test_after_load_pdf_rows_match_sql(after_load_run):
    delivery = after_load_run.emulator.deliveries[0]
    run_once = next(call for call in after_load_run.emulator.calls if call.operation == "scheduled_plan_run_once")
    # The plan has no time zone, so the emulator computes "90 days" from the UTC date of the request.
    expected = expected_rows(after_load_run.warehouse, run_once.time.astimezone(datetime.timezone.utc).date())

    pdf = Path(delivery.files[0])
    assert pdf.suffix == ".pdf"
    assert expected
    assert extract_pdf_rows(pdf.read_bytes())["rows"] == expected


@pytest.mark.parametrize("operation", ["login", "scheduled_plan_run_once", "logout"])
def test_after_load_calls_once(after_load_run, operation):
    calls = [call for call in after_load_run.emulator.calls if call.operation == operation]

    assert len(calls) == 1


def test_after_load_no_secret_in_output(after_load_run):
    emulator = after_load_run.emulator

    assert "Logged in to Looker" in after_load_run.output
    assert emulator.client_secret not in after_load_run.output


def test_after_load_no_token_in_output(after_load_run):
    tokens = after_load_run.emulator.issued_tokens

    assert len(tokens) == 1
    assert tokens[0] not in after_load_run.output


def test_run_demo_summary(tmp_path):
    output = tmp_path / "demo"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}

    result = run_command([sys.executable, str(ROOT / "scripts" / "run_demo.py"), "--output", str(output)], env)

    files = [Path(match) for match in re.findall(r"file: (.+)", result.stdout)]
    assert "1 login, 1 dashboard read (filter-name check), 1 run_once, 1 logout" in result.stdout
    assert len(files) == 1
    assert files[0].is_file()
    assert files[0].is_relative_to(output / "outbox")
    assert "Client secret in the task log: no; access tokens in the task log: 0" in result.stdout
