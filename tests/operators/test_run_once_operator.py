"""RunOncePlanOperator in DAG runs on real Airflow (``dag.test()``) against the Looker emulator."""

from __future__ import annotations

import json
import logging
import re
import uuid

import pendulum
import pytest

from airflow.providers.common.compat.sdk import DAG, task
from airflow_compat import rendered_fields, run_dag

from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator, plan_key
from airflow_provider_looker_trigger.testing import LookerEmulator, demo_content
from airflow_provider_looker_trigger.testing.filters import parse_filters_string
from airflow_provider_looker_trigger.testing.validation import (
    DESTINATION_FIELD_TYPES,
    PLAN_FIELD_TYPES,
    PLAN_READ_ONLY_FIELDS,
)

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Task SDK releases that do not export timetables
    from airflow.timetables.interval import CronDataIntervalTimetable

pytestmark = pytest.mark.usefixtures("airflow_db")

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
TASK_ID = "deliver"
EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}

# ---------------------------------------------------------------------------------------------
# Running DAGs
# ---------------------------------------------------------------------------------------------


def task_instance(dag_run, task_id: str = TASK_ID, map_index: int = -1):
    return next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id and ti.map_index == map_index)


@pytest.fixture
def dag_id(request) -> str:
    """A DAG id unique to the test, so runs of different tests never share metadata rows."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).strip("_")[:80]
    return f"{name}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def looker(looker_emulator, monkeypatch) -> LookerEmulator:
    """The emulator, with ``looker_default`` pointing at it."""
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    return looker_emulator


@pytest.fixture
def deliver(dag_id):
    """Run a DAG with one RunOncePlanOperator task made from the keyword arguments and return the task instance."""

    def run(schedule=None, **operator_kwargs):
        operator_kwargs.setdefault("destinations", [EMAIL_PDF])
        with DAG(dag_id, schedule=schedule, start_date=START_DATE, catchup=False) as dag:
            RunOncePlanOperator(task_id=TASK_ID, **operator_kwargs)
        dag_run = run_dag(dag)
        return task_instance(dag_run)

    return run


def run_once_calls(emulator: LookerEmulator) -> list:
    return [call for call in emulator.calls if call.operation.startswith("scheduled_plan_run_once")]


def sent_body(emulator: LookerEmulator) -> dict:
    """Return the body of the only run_once request the emulator received."""
    calls = run_once_calls(emulator)
    assert len(calls) == 1, [call.path for call in emulator.calls]
    return calls[0].body


def captured_logs(capsys, caplog) -> str:
    captured = capsys.readouterr()
    return "\n".join([captured.out, captured.err, caplog.text])


# ---------------------------------------------------------------------------------------------
# The run_once request
# ---------------------------------------------------------------------------------------------


def test_run_once_request_is_json(looker, deliver):
    deliver(dashboard_id=73, filters={"Brand": "Calvin Klein"})

    call = run_once_calls(looker)[0]
    assert call.headers["Content-Type"] == "application/json"
    assert call.status == 200


def test_run_once_ids_sent_as_strings(looker, deliver):
    deliver(dashboard_id=73)

    assert sent_body(looker)["dashboard_id"] == "73"


def test_run_once_body_has_only_writable_fields(looker, deliver):
    deliver(dashboard_id=73, filters={"Brand": "Calvin Klein"}, pdf_paper_size="a4", timezone="Europe/Berlin")

    body = sent_body(looker)
    assert set(body) <= set(PLAN_FIELD_TYPES)
    assert not set(body) & PLAN_READ_ONLY_FIELDS
    for destination in body["scheduled_plan_destination"]:
        assert set(destination) <= set(DESTINATION_FIELD_TYPES) - {"scheduled_plan_id"}


SPECIAL_FILTERS = {
    "Brand": "Levi's & Sons = 50% + #1 / Zürich 東京",
    "State / Region": "-Not State",
    "Promo & = + # % / ü": "spring",
}


def test_filters_reach_looker_unchanged(looker, deliver):
    deliver(dashboard_id=73, filters=SPECIAL_FILTERS, strict_filters=False)

    assert parse_filters_string(sent_body(looker)["filters_string"]) == SPECIAL_FILTERS


def test_filters_applied_by_name(looker, deliver):
    deliver(dashboard_id=73, filters=SPECIAL_FILTERS, strict_filters=False)

    delivery = looker.deliveries[0]
    assert delivery.filters == {"Brand": SPECIAL_FILTERS["Brand"], "State / Region": "-Not State"}
    assert delivery.ignored_filters == ["Promo & = + # % / ü"]


def test_filters_string_percent_encoded(looker, deliver):
    deliver(dashboard_id=73, filters={"Brand": "A&B=C+D#E%F/G"})

    assert sent_body(looker)["filters_string"] == "?Brand=A%26B%3DC%2BD%23E%25F%2FG"


def as_list(value):
    """Return a pulled XCom as JSON-ready data: a value of a mapped task (a lazy sequence) as a list."""
    if value is None or isinstance(value, (str, int)):
        return value
    return list(value)


@pytest.fixture
def downstream_view(looker, dag_id, tmp_path):
    """Run a DAG whose second task receives the delivery task's XComs, and return what it received.

    Reading XComs from a downstream task shows them as DAG authors get them. The core TaskInstance's
    ``xcom_pull`` decodes a stored string that looks like a number ("1001") into an int.
    """

    def run(make_delivery_task):
        seen = tmp_path / "downstream-xcom.json"
        with DAG(dag_id, schedule=None, start_date=START_DATE, catchup=False) as dag:
            delivery_task = make_delivery_task()

            @task
            def consume(plan_ids, ti=None):
                content_url = ti.xcom_pull(task_ids=TASK_ID, key="looker_content_url")
                seen.write_text(json.dumps({"plan_ids": as_list(plan_ids), "content_url": as_list(content_url)}))

            consume(delivery_task.output)
        run_dag(dag)
        return json.loads(seen.read_text())

    return run


def test_xcom_return_value_is_plan_id(looker, downstream_view):
    received = downstream_view(lambda: RunOncePlanOperator(task_id=TASK_ID, dashboard_id=73, destinations=[EMAIL_PDF]))

    assert received["plan_ids"] == looker.deliveries[0].plan_id


def test_xcom_content_url_points_at_dashboard(looker, downstream_view):
    received = downstream_view(lambda: RunOncePlanOperator(task_id=TASK_ID, dashboard_id=73, destinations=[EMAIL_PDF]))

    assert received["content_url"] == f"{looker.url}/dashboards/73"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ ds }}", lambda run: run.logical_date.strftime("%Y-%m-%d"), id="ds"),
        pytest.param(
            "{{ data_interval_start | ds }} to {{ data_interval_end | ds }}",
            lambda run: f"{run.data_interval_start:%Y-%m-%d} to {run.data_interval_end:%Y-%m-%d}",
            id="data-interval",
        ),
    ],
)
def test_filter_value_template_rendered(looker, deliver, template, expected):
    ti = deliver(
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        dashboard_id=73,
        filters={"Date": template, "Brand": "Calvin Klein"},
    )

    dag_run = ti.get_dagrun()
    assert dag_run.data_interval_start < dag_run.data_interval_end
    assert looker.deliveries[0].filters["Date"] == expected(dag_run)


def test_template_fields_rendered_as_json():
    assert RunOncePlanOperator.template_fields_renderers["filters"] == "json"
    assert RunOncePlanOperator.template_fields_renderers["destinations"] == "json"


def test_rendered_fields_keep_dicts_and_lists(looker, deliver):
    ti = deliver(
        dashboard_id="{{ 70 + 3 }}",
        filters={"Date": "{{ ds }}", "Brand": "Calvin Klein"},
        destinations=[{"type": "email", "address": ["{{ 'team' }}@example.com", "cfo@example.com"], "format": "wysiwyg_pdf"}],
    )

    rendered = rendered_fields(ti)
    assert rendered["dashboard_id"] == "73"
    assert rendered["filters"] == {"Date": ti.get_dagrun().logical_date.strftime("%Y-%m-%d"), "Brand": "Calvin Klein"}
    assert rendered["destinations"] == [
        {"type": "email", "address": ["team@example.com", "cfo@example.com"], "format": "wysiwyg_pdf"}
    ]


# ---------------------------------------------------------------------------------------------
# Validation before any request
# ---------------------------------------------------------------------------------------------

# Each value is templated, so the constructor cannot check it at parse time and the task checks it.
INVALID_AT_RUN_TIME = [
    pytest.param({"dashboard_id": "{{ 'dash board' }}"}, "Invalid dashboard_id 'dash board'", id="dashboard-id"),
    pytest.param(
        {"dashboard_id": 73, "destinations": [{"type": "email", "address": "{{ 'team@example' }}", "format": "wysiwyg_pdf"}]},
        "invalid email address 'team@example'",
        id="email-address",
    ),
    pytest.param(
        {"dashboard_id": 73, "filters": {"Brand": "{{ '' }}"}},
        "Filter 'Brand' has an empty value",
        id="empty-filter-value",
    ),
    pytest.param(
        {"look_id": "{{ 42 }}"},
        "Format 'wysiwyg_pdf' for email destination 'team@example.com' is not available for look 42",
        id="dashboard-format-for-look",
    ),
    pytest.param(
        {"dashboard_id": 73, "scheduled_plan_id": "{{ 501 }}"},
        "cannot be set too",
        id="plan-id-and-dashboard",
    ),
    pytest.param(
        {
            "dashboard_id": 73,
            "destinations": [
                {"type": "webhook", "address": "{{ 'http://hooks.example.com/looker' }}", "format": "wysiwyg_pdf"}
            ],
        },
        "expected an https:// URL",
        id="plain-http-webhook",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), INVALID_AT_RUN_TIME)
def test_invalid_argument_fails_before_any_request(looker, deliver, capsys, kwargs, message):
    ti = deliver(**kwargs)

    assert ti.state == "failed"
    assert message in capsys.readouterr().out
    assert looker.calls == []


def test_missing_destination_connection_sends_nothing(looker, deliver, capsys):
    ti = deliver(
        dashboard_id=73,
        destinations=[
            {"type": "s3", "address": "s3://acme-reports/pulse/", "format": "wysiwyg_pdf", "aws_conn_id": "{{ 'aws_missing' }}"}
        ],
    )

    assert ti.state == "failed"
    assert "aws_missing" in capsys.readouterr().out
    assert looker.calls == []


# ---------------------------------------------------------------------------------------------
# Strict filter names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param({"Brnad": "Calvin Klein"}, id="dict"),
        pytest.param("?Brnad=Calvin%20Klein", id="query-string"),
    ],
)
def test_misspelled_filter_fails(looker, deliver, capsys, filters):
    ti = deliver(dashboard_id=73, filters=filters)

    output = capsys.readouterr().out
    assert ti.state == "failed"
    assert "no filter named 'Brnad' (did you mean 'Brand'?)" in output
    assert run_once_calls(looker) == []


def test_misspelled_filter_sent_when_not_strict(looker, deliver):
    ti = deliver(dashboard_id=73, filters={"Brnad": "Calvin Klein"}, strict_filters=False)

    assert ti.state == "success"
    assert parse_filters_string(sent_body(looker)["filters_string"]) == {"Brnad": "Calvin Klein"}
    assert looker.deliveries[0].ignored_filters == ["Brnad"]


# ---------------------------------------------------------------------------------------------
# Destinations
# ---------------------------------------------------------------------------------------------

AWS_KEY_ID = "AKIAEXAMPLEKEY000001"
SFTP_USER = "looker-upload"


@pytest.fixture
def destination_connections(monkeypatch) -> dict[str, str]:
    """Set an AWS and an SFTP connection with secrets unique to the test, and return the secrets by destination type."""
    secrets = {"s3": f"aws-secret-{uuid.uuid4().hex}", "sftp": f"sftp-password-{uuid.uuid4().hex}"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_REPORTS",
        json.dumps({"conn_type": "aws", "login": AWS_KEY_ID, "password": secrets["s3"], "extra": {"region_name": "eu-west-1"}}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SFTP_REPORTS",
        json.dumps({"conn_type": "sftp", "host": "sftp.example.com", "login": SFTP_USER, "password": secrets["sftp"]}),
    )
    return secrets


S3_DESTINATION = {"type": "s3", "address": "s3://acme-reports/pulse/", "format": "wysiwyg_pdf", "aws_conn_id": "aws_reports"}
SFTP_DESTINATION = {"type": "sftp", "address": "sftp://sftp.example.com/reports/", "format": "wysiwyg_pdf", "sftp_conn_id": "sftp_reports"}

# (destination given to the operator, destinations Looker should receive with parameters decoded from JSON)
DESTINATION_CASES = [
    pytest.param(
        {"type": "email", "address": ["a@example.com", "b@example.com"], "format": "wysiwyg_pdf", "message": "Fresh data."},
        [
            {"type": "email", "address": "a@example.com", "format": "wysiwyg_pdf", "message": "Fresh data."},
            {"type": "email", "address": "b@example.com", "format": "wysiwyg_pdf", "message": "Fresh data."},
        ],
        id="email-list",
    ),
    pytest.param(
        {"type": "webhook", "address": "https://hooks.example.com/looker", "format": "wysiwyg_pdf", "apply_formatting": True},
        [{"type": "webhook", "address": "https://hooks.example.com/looker", "format": "wysiwyg_pdf", "apply_formatting": True}],
        id="webhook",
    ),
    pytest.param(
        S3_DESTINATION,
        [
            {
                "type": "s3",
                "address": "s3://acme-reports/pulse/",
                "format": "wysiwyg_pdf",
                "parameters": {"access_key_id": AWS_KEY_ID, "region": "eu-west-1"},
                "secret_parameters": {"secret_access_key": "<s3 secret>"},
            }
        ],
        id="s3",
    ),
    pytest.param(
        SFTP_DESTINATION,
        [
            {
                "type": "sftp",
                "address": "sftp://sftp.example.com/reports/",
                "format": "wysiwyg_pdf",
                "parameters": {"username": SFTP_USER},
                "secret_parameters": {"password": "<sftp secret>"},
            }
        ],
        id="sftp",
    ),
    pytest.param(
        {"type": "looker-integration://1::slack_app", "format": "wysiwyg_pdf", "parameters": {"channel": "#daily-pulse"}},
        [
            {
                "type": "looker-integration://1::slack_app",
                "address": "",
                "format": "wysiwyg_pdf",
                "parameters": {"channel": "#daily-pulse"},
            }
        ],
        id="action-hub",
    ),
]


def decode_parameters(destination: dict, secrets: dict[str, str]) -> dict:
    """Return a received destination with its JSON-string parameters decoded and secrets named by kind."""
    decoded = dict(destination)
    for key in ("parameters", "secret_parameters"):
        if key in decoded:
            assert isinstance(decoded[key], str), f"{key} must be a JSON string on the wire"
            decoded[key] = json.loads(decoded[key])
    for kind, secret in secrets.items():
        for name, value in decoded.get("secret_parameters", {}).items():
            if value == secret:
                decoded["secret_parameters"][name] = f"<{kind} secret>"
    return decoded


@pytest.mark.parametrize(("destination", "expected"), DESTINATION_CASES)
def test_destination_delivered(looker, deliver, destination_connections, destination, expected):
    ti = deliver(dashboard_id=73, destinations=[destination])

    assert ti.state == "success"
    received = [decode_parameters(delivery.destination, destination_connections) for delivery in looker.deliveries]
    assert received == expected
    assert [delivery.status for delivery in looker.deliveries] == ["success"] * len(expected)


@pytest.mark.parametrize(
    ("destination", "kind"),
    [
        pytest.param(S3_DESTINATION, "s3", id="s3"),
        pytest.param(SFTP_DESTINATION, "sftp", id="sftp"),
    ],
)
def test_destination_secret_only_on_the_wire(looker, deliver, destination_connections, capsys, caplog, destination, kind):
    caplog.set_level(logging.DEBUG)
    secret = destination_connections[kind]

    ti = deliver(dashboard_id=73, destinations=[destination])

    logs = captured_logs(capsys, caplog)
    assert ti.state == "success"
    assert secret in looker.deliveries[0].destination["secret_parameters"]
    assert "Asking Looker to deliver" in logs
    assert secret not in logs
    assert secret not in json.dumps(rendered_fields(ti), default=str)


def test_looker_credentials_not_in_run_logs(looker, deliver, capsys, caplog):
    caplog.set_level(logging.DEBUG)

    ti = deliver(dashboard_id=73, filters={"Brand": "Calvin Klein"})

    logs = captured_logs(capsys, caplog)
    assert ti.state == "success"
    assert "Logged in to Looker" in logs
    assert looker.client_secret not in logs
    assert looker.issued_tokens
    for token in looker.issued_tokens:
        assert token not in logs


# ---------------------------------------------------------------------------------------------
# Plan sources
# ---------------------------------------------------------------------------------------------

EMAIL_CSV = {"type": "email", "address": "team@example.com", "format": "csv"}
CONTENT_FIELDS = ("dashboard_id", "lookml_dashboard_id", "look_id", "query_id")

SOURCE_CASES = [
    pytest.param({"dashboard_id": 73}, {"dashboard_id": "73"}, "dashboard", "/dashboards/73", id="dashboard"),
    pytest.param(
        {"dashboard_id": "thelook::business_pulse"},
        {"lookml_dashboard_id": "thelook::business_pulse"},
        "lookml_dashboard",
        "/dashboards/thelook::business_pulse",
        id="lookml-dashboard-by-dashboard-id",
    ),
    pytest.param(
        {"lookml_dashboard_id": "thelook::business_pulse"},
        {"lookml_dashboard_id": "thelook::business_pulse"},
        "lookml_dashboard",
        "/dashboards/thelook::business_pulse",
        id="lookml-dashboard-id",
    ),
    pytest.param(
        {"look_id": 42, "destinations": [EMAIL_CSV], "require_results": True},
        {"look_id": "42", "require_results": True, "require_no_results": False, "require_change": False},
        "look",
        "/looks/42",
        id="look-require-results",
    ),
    pytest.param(
        {"look_id": "42", "destinations": [EMAIL_CSV]},
        {"look_id": "42", "require_results": False, "require_no_results": False, "require_change": False},
        "look",
        "/looks/42",
        id="look-require-defaults",
    ),
    pytest.param(
        {"query_id": 1001, "destinations": [EMAIL_CSV], "send_all_results": True},
        {"query_id": "1001", "send_all_results": True},
        "query",
        "/explore?qid=1001",
        id="query",
    ),
]


@pytest.mark.parametrize(("kwargs", "expected_fields", "source", "url_path"), SOURCE_CASES)
def test_plan_source_delivered(looker, deliver, kwargs, expected_fields, source, url_path):
    ti = deliver(**kwargs)

    body = sent_body(looker)
    assert ti.state == "success"
    assert {key: body.get(key) for key in expected_fields} == expected_fields
    assert [key for key in CONTENT_FIELDS if key in body] == [key for key in CONTENT_FIELDS if key in expected_fields]
    assert looker.deliveries[0].source == source
    assert ti.xcom_pull(task_ids=TASK_ID, key="looker_content_url") == looker.url + url_path


def test_existing_plan_with_overrides(looker, deliver, dag_id):
    ti = deliver(
        scheduled_plan_id=501,
        filters={"Brand": "Calvin Klein"},
        destinations=[{"type": "email", "address": "ops@example.com", "format": "wysiwyg_pdf"}],
    )

    call = run_once_calls(looker)[0]
    key = plan_key(dag_id, ti.run_id, TASK_ID, None)
    assert ti.state == "success"
    assert (call.method, call.path) == ("POST", "/api/4.0/scheduled_plans/501/run_once")
    assert call.body == {
        "name": f"Business Pulse for analytics [airflow:{key}]",
        "filters_string": "?Brand=Calvin%20Klein",
        "scheduled_plan_destination": [{"type": "email", "address": "ops@example.com", "format": "wysiwyg_pdf"}],
    }
    assert looker.deliveries[0].filters == {"Brand": "Calvin Klein"}
    assert [delivery.destination["address"] for delivery in looker.deliveries] == ["ops@example.com"]


def test_existing_plan_without_overrides(looker, deliver, dag_id):
    ti = deliver(scheduled_plan_id="501", destinations=None)

    call = run_once_calls(looker)[0]
    key = plan_key(dag_id, ti.run_id, TASK_ID, None)
    assert ti.state == "success"
    assert call.path == "/api/4.0/scheduled_plans/501/run_once"
    assert call.body == {"name": f"Business Pulse for analytics [airflow:{key}]"}
    assert looker.deliveries[0].filters == {"Brand": "Carhartt"}
    assert [delivery.destination["address"] for delivery in looker.deliveries] == ["analytics@example.com"]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"filters": {"Brand": "Calvin Klein"}, "destinations": [EMAIL_PDF]}, id="with-overrides"),
        pytest.param({"destinations": None}, id="without-overrides"),
    ],
)
def test_existing_plan_unchanged(looker, deliver, overrides):
    deliver(scheduled_plan_id=501, **overrides)

    assert looker.plan("501") == demo_content().plans["501"]


# ---------------------------------------------------------------------------------------------
# Dynamic task mapping
# ---------------------------------------------------------------------------------------------

MAPPED_FILTERS = [{"Brand": "Calvin Klein"}, {"Brand": "Levi's"}, {"Brand": "Carhartt"}]


@pytest.fixture
def mapped_run(looker, dag_id):
    with DAG(dag_id, schedule=None, start_date=START_DATE, catchup=False) as dag:
        RunOncePlanOperator.partial(task_id=TASK_ID, dashboard_id=73, destinations=[EMAIL_PDF], name="Pulse").expand(
            filters=MAPPED_FILTERS
        )
    return run_dag(dag)


def test_mapped_task_delivers_each_index(looker, mapped_run, dag_id):
    filters_by_name = {delivery.plan["name"]: delivery.filters for delivery in looker.deliveries}
    expected = {
        f"Pulse [airflow:{plan_key(dag_id, mapped_run.run_id, TASK_ID, index)}]": filters
        for index, filters in enumerate(MAPPED_FILTERS)
    }

    assert filters_by_name == expected


def test_mapped_task_plan_names_distinct(looker, mapped_run):
    names = [call.body["name"] for call in run_once_calls(looker)]

    assert len(names) == len(MAPPED_FILTERS)
    assert len(set(names)) == len(names)


def test_mapped_task_xcom_per_index(looker, downstream_view):
    received = downstream_view(
        lambda: RunOncePlanOperator.partial(task_id=TASK_ID, dashboard_id=73, destinations=[EMAIL_PDF]).expand(
            filters=MAPPED_FILTERS
        )
    )

    plan_id_by_brand = {delivery.filters["Brand"]: delivery.plan_id for delivery in looker.deliveries}
    assert received["plan_ids"] == [plan_id_by_brand[filters["Brand"]] for filters in MAPPED_FILTERS]
