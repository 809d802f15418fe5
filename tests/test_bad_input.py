"""Bad operator and connection input: each is rejected before any request, naming the value and the fix.

Operator arguments without templates are checked when the DAG file is parsed (the operator's
``__init__``). Templated arguments are checked after rendering, still before the first request, and
the connection is checked when the task starts. Every row ends with the emulator having received no call.
Connection hosts point at the emulator, so a value that is wrongly accepted still reaches only
the 127.0.0.1 server the test started.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_compat import dag_bag, register_dags
from airflow_provider_looker_trigger.exceptions import LookerConfigurationError
from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}
WEBHOOK = {"type": "webhook", "address": "https://hooks.example.com/looker", "format": "wysiwyg_pdf"}
SFTP = {"type": "sftp", "address": "sftp://files.example.com/reports/", "format": "wysiwyg_pdf", "sftp_conn_id": "sftp_reports"}
S3 = {"type": "s3", "address": "s3://acme-reports/pulse/", "format": "wysiwyg_pdf", "aws_conn_id": "aws_reports"}
PARAMETER_SECRET = "pa55-in-dag-code"


class BadInputOperator(RunOncePlanOperator):
    """RunOncePlanOperator with a hook that does not retry, so a wrongly accepted input fails fast."""

    def get_hook(self) -> LookerHook:
        return LookerHook(self.looker_conn_id, max_retries=0)


class FakeTaskInstance(SimpleNamespace):
    def xcom_push(self, key, value):
        self.xcoms[key] = value


def make_context(params: dict[str, Any] | None = None) -> dict[str, Any]:
    ti = FakeTaskInstance(dag_id="bad_input", run_id="manual__bad", task_id="deliver", map_index=-1, try_number=1, xcoms={})
    return {"ti": ti, "task_instance": ti, "params": params or {}}


# Marks an argument that operator_arguments leaves out.
_REMOVE = object()


def operator_arguments(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"task_id": "deliver", "dashboard_id": 73, "destinations": [EMAIL_PDF]}
    for key, value in changes.items():
        if value is _REMOVE:
            arguments.pop(key, None)
        else:
            arguments[key] = value
    return arguments


@dataclass(frozen=True)
class Case:
    """One bad input: the operator arguments or connection fields that carry it, and what the error names."""

    id: str
    value: str
    hint: str
    operator: dict[str, Any] = field(default_factory=dict)
    connection: dict[str, Any] = field(default_factory=dict)
    # Text the message must not contain, such as a secret that came with the bad value.
    hidden: str = ""


OPERATOR_CASES = (
    Case("two-content-sources", "look_id=42", "keep one", {"look_id": 42}),
    Case("no-content-source", "dashboard_id", "exactly one", {"dashboard_id": _REMOVE}),
    Case("no-destinations", "None", "non-empty list", {"destinations": None}),
    Case("empty-destinations", "[]", "non-empty list", {"destinations": []}),
    Case("unknown-destination-type", "'slack'", "use one of", {"destinations": [{**EMAIL_PDF, "type": "slack"}]}),
    Case("malformed-email", "'team(at)example.com'", "invalid email address", {"destinations": [{**EMAIL_PDF, "address": "team(at)example.com"}]}),
    Case("comma-joined-emails", "'a@example.com, b@example.com'", "as a list", {"destinations": [{**EMAIL_PDF, "address": "a@example.com, b@example.com"}]}),
    Case("plain-http-webhook", "'http://hooks.example.com/looker'", "https://", {"destinations": [{**WEBHOOK, "address": "http://hooks.example.com/looker"}]}),
    Case("malformed-s3-address", "'s3://Acme_Reports/pulse/'", "lower-case bucket", {"destinations": [{**S3, "address": "s3://Acme_Reports/pulse/"}]}),
    Case("malformed-sftp-address", "'sftp:/files.example.com/reports/'", "sftp://host/path/", {"destinations": [{**SFTP, "address": "sftp:/files.example.com/reports/"}]}),
    Case("unknown-format", "'pdf'", "wysiwyg_pdf", {"destinations": [{**EMAIL_PDF, "format": "pdf"}]}),
    Case("dashboard-format-for-look", "'wysiwyg_pdf'", "csv", {"dashboard_id": _REMOVE, "look_id": 42}),
    Case("data-format-for-dashboard", "'csv'", "wysiwyg_pdf", {"destinations": [{**EMAIL_PDF, "format": "csv"}]}),
    Case("filter-value-int", "90", "as strings", {"filters": {"Date": 90}}),
    Case("filter-value-list", "['Texas', 'Ohio']", "join them with commas", {"filters": {"State / Region": ["Texas", "Ohio"]}}),
    Case("empty-filter-value", "'Brand'", "allow_empty_filter_values=True", {"filters": {"Brand": ""}}),
    Case("filter-name-padded", "' Brand'", "white space", {"filters": {" Brand": "Levi's"}}),
    Case("filters-not-dict", "['Brand']", "encoded query string", {"filters": ["Brand"]}),
    Case("unknown-timezone", "'Mars/Olympus'", "IANA", {"timezone": "Mars/Olympus"}),
    Case("unknown-pdf-paper-size", "'A4'", "a4", {"pdf_paper_size": "A4"}),
    Case("option-not-bool", "'yes'", "True or False", {"pdf_landscape": "yes"}),
    Case("send-all-results-dashboard", "send_all_results", "Looks and queries", {"send_all_results": True}),
    Case("require-results-dashboard", "require_results", "deliver a Look", {"require_results": True}),
    Case("require-results-and-no-results", "require_no_results=True", "keep at most one", {"dashboard_id": _REMOVE, "look_id": 42, "require_results": True, "require_no_results": True, "destinations": [{**EMAIL_PDF, "format": "csv"}]}),
    Case("run-as-recipient-webhook", "webhook", "only with email", {"run_as_recipient": True, "destinations": [EMAIL_PDF, WEBHOOK]}),
    Case("secret-parameters-in-dag", "secret_parameters", "aws_conn_id", {"destinations": [{**S3, "secret_parameters": {"secret_access_key": PARAMETER_SECRET}}]}, hidden=PARAMETER_SECRET),
    Case("password-in-parameters", "puts a secret in parameters", "sftp_conn_id", {"destinations": [{**SFTP, "parameters": {"password": PARAMETER_SECRET}}]}, hidden=PARAMETER_SECRET),
    Case("unknown-destination-key", "'adress'", "accepted keys", {"destinations": [{**EMAIL_PDF, "adress": "x@example.com"}]}),
    Case("conn-id-on-wrong-type", "aws_conn_id", "S3", {"destinations": [{**EMAIL_PDF, "aws_conn_id": "aws_reports"}]}),
    Case("message-not-email", "message", "email", {"destinations": [{**WEBHOOK, "message": "Hello"}]}),
    Case("action-hub-address", "'ops'", "leave address empty", {"destinations": [{"type": "looker-integration://1::slack", "address": "ops", "format": "wysiwyg_pdf"}]}),
    Case("invalid-lookml-id", "'business_pulse'", "model::dashboard_name", {"dashboard_id": _REMOVE, "lookml_dashboard_id": "business_pulse"}),
    Case("invalid-dashboard-id", "'73; DROP'", "letters, digits", {"dashboard_id": "73; DROP"}),
    Case("padded-dashboard-id", "' 73'", "white space", {"dashboard_id": " 73"}),
    Case("bool-dashboard-id", "True", "int or a string", {"dashboard_id": True}),
    Case("plan-id-and-content", "scheduled_plan_id=501", "remove one", {"scheduled_plan_id": 501}),
    Case("negative-poll-interval", "-5", "greater than 0", {"poll_interval": -5}),
    Case("zero-delivery-timeout", "0", "greater than 0", {"delivery_timeout": 0}),
    Case("unknown-on-unverified-retry", "'maybe'", "'send'", {"on_unverified_retry": "maybe"}),
)


def connection_case(case_id: str, value: str, hint: str, hidden: str = "", **connection: Any) -> Case:
    return Case(case_id, value, hint, connection=connection, hidden=hidden)


# "{port}" is replaced with the emulator's port.
CONNECTION_CASES = (
    connection_case("empty-host", "no host", "set Host", host=""),
    connection_case("malformed-host", "'http://127.0.0.1:notaport'", "https://mycompany.cloud.looker.com", host="http://127.0.0.1:notaport", port=None),
    connection_case("api-3.0-host", "/api/3.0", "remove the /api/", host="http://127.0.0.1:{port}/api/3.0", port=None),
    connection_case("api-3.1-host", "API 3.1", "remove the /api/", host="http://127.0.0.1:{port}/api/3.1", port=None),
    connection_case("other-api-path", "'/api/5.0'", "remove the /api/", host="http://127.0.0.1:{port}/api/5.0", port=None),
    connection_case("looker-page-url", "/dashboards/73", "keep only", host="http://127.0.0.1:{port}/dashboards/73", port=None),
    connection_case("unsupported-scheme", "'ftp'", "use https://", host="ftp://127.0.0.1:{port}", port=None),
    connection_case("host-with-query", "query or fragment", "only the Looker URL", host="http://127.0.0.1:{port}/?env=prod", port=None),
    connection_case("credentials-in-host", "***@", "client secret in Password", hidden="in-host-secret", host="http://someone:in-host-secret@127.0.0.1:{port}", port=None),
    connection_case("missing-client-id", "no client id", "Login", login=""),
    connection_case("missing-client-secret", "no client secret", "Password", password=""),
    connection_case("negative-timeout", "-5", "positive number of seconds", extra={"timeout": -5}),
    connection_case("timeout-not-number", "'soon'", "positive number of seconds", extra={"timeout": "soon"}),
    connection_case("verify-not-bool-or-path", "'maybe'", "path of an existing CA bundle", extra={"verify": "maybe"}),
    connection_case("verify-missing-path", "/nonexistent/ca-bundle.pem", "existing CA bundle", extra={"verify": "/nonexistent/ca-bundle.pem"}),
    connection_case("proxies-not-url", "proxy URL", "http://host:port", extra={"proxies": "not a proxy"}),
    connection_case("proxies-list", "invalid proxies", "JSON object", extra={"proxies": ["http://127.0.0.1:{port}"]}),
    connection_case("proxy-scheme", "'127.0.0.1'", "http://host:port", hidden="proxy-secret-8", extra={"proxies": {"https": "ftp://user:proxy-secret-8@127.0.0.1:{port}"}}),
)


@pytest.fixture
def emulator(looker_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS", json.dumps({"conn_type": "aws", "login": "AKIA", "password": "s", "extra": {"region_name": "us-east-1"}}))
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_REPORTS", json.dumps({"conn_type": "sftp", "login": "reports", "password": "s"}))
    return looker_emulator


def with_port(value: Any, port: int) -> Any:
    """Return ``value`` with every "{port}" in its strings replaced by ``port``."""
    if isinstance(value, str):
        return value.replace("{port}", str(port))
    if isinstance(value, dict):
        return {key: with_port(item, port) for key, item in value.items()}
    if isinstance(value, list):
        return [with_port(item, port) for item in value]
    return value


def set_connection(emulator, monkeypatch, changes: dict[str, Any]) -> None:
    connection = json.loads(emulator.connection_json())
    connection.update(with_port(changes, emulator.port))
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", json.dumps(connection))


def assert_names_value_and_fix(message: str, case: Case) -> None:
    assert case.value in message
    assert case.hint in message
    if case.hidden:
        assert case.hidden not in message


# ---------------------------------------------------------------------------------------------
# Operator arguments, rejected when the DAG file is parsed
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in OPERATOR_CASES])
def test_bad_argument_rejected_at_parse(case, emulator):
    with pytest.raises(LookerConfigurationError) as raised:
        BadInputOperator(**operator_arguments(**case.operator))

    assert_names_value_and_fix(str(raised.value), case)
    assert emulator.calls == []


def test_cases_cover_enough_kinds():
    assert len(OPERATOR_CASES) + len(CONNECTION_CASES) >= 25
    assert len({case.id for case in OPERATOR_CASES + CONNECTION_CASES}) == len(OPERATOR_CASES) + len(CONNECTION_CASES)


# ---------------------------------------------------------------------------------------------
# Templated arguments, rejected after rendering and before any request
# ---------------------------------------------------------------------------------------------

TEMPLATED_CASES = (
    pytest.param({"filters": {"Brand": "{{ params.brand }}"}}, {"brand": ""}, "'Brand'", "allow_empty_filter_values=True", id="empty-filter-value"),
    pytest.param(
        {"destinations": [{**EMAIL_PDF, "address": "{{ params.to }}"}]},
        {"to": "a@example.com;b@example.com"},
        "'a@example.com;b@example.com'",
        "as a list",
        id="joined-emails",
    ),
    pytest.param({"dashboard_id": "{{ params.dashboard }}"}, {"dashboard": "73 74"}, "'73 74'", "letters, digits", id="dashboard-id"),
    pytest.param(
        {"destinations": [{**EMAIL_PDF, "format": "{{ params.format }}"}]},
        {"format": "csv"},
        "'csv'",
        "wysiwyg_pdf",
        id="format-for-dashboard",
    ),
    pytest.param(
        {"destinations": [{**WEBHOOK, "address": "{{ params.url }}"}]},
        {"url": "http://hooks.example.com/looker"},
        "'http://hooks.example.com/looker'",
        "https://",
        id="plain-http-webhook",
    ),
)


@pytest.mark.parametrize(("changes", "params", "value", "hint"), TEMPLATED_CASES)
def test_templated_argument_accepted_at_parse(emulator, changes, params, value, hint):
    operator = BadInputOperator(**operator_arguments(**changes))

    assert operator.task_id == "deliver"


@pytest.mark.parametrize(("changes", "params", "value", "hint"), TEMPLATED_CASES)
def test_templated_argument_rejected_at_execute(emulator, changes, params, value, hint):
    operator = BadInputOperator(**operator_arguments(**changes))
    context = make_context(params)
    operator.render_template_fields(context)

    with pytest.raises(LookerConfigurationError) as raised:
        operator.execute(context)

    assert value in str(raised.value)
    assert hint in str(raised.value)
    assert emulator.calls == []


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case.id)
        for case in OPERATOR_CASES
        if case.id in ("empty-filter-value", "unknown-destination-type", "comma-joined-emails", "two-content-sources")
    ],
)
def test_bad_argument_rejected_at_execute(case, emulator):
    """A value set after parsing (as a template or XCom would) is checked again when the task runs."""
    operator = BadInputOperator(**operator_arguments())
    for key, value in case.operator.items():
        setattr(operator, key, None if value is _REMOVE else value)

    with pytest.raises(LookerConfigurationError) as raised:
        operator.execute(make_context())

    assert_names_value_and_fix(str(raised.value), case)
    assert emulator.calls == []


# ---------------------------------------------------------------------------------------------
# Connection fields, rejected when the task starts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CONNECTION_CASES])
def test_bad_connection_rejected_before_request(case, emulator, monkeypatch):
    set_connection(emulator, monkeypatch, case.connection)
    operator = BadInputOperator(**operator_arguments())

    with pytest.raises(LookerConfigurationError) as raised:
        operator.execute(make_context())

    assert_names_value_and_fix(str(raised.value), case)
    assert emulator.calls == []


def test_missing_destination_connection(emulator, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_AWS_REPORTS")
    operator = BadInputOperator(**operator_arguments(destinations=[S3]))

    with pytest.raises(Exception) as raised:
        operator.execute(make_context())

    assert "aws_reports" in str(raised.value)
    assert emulator.calls == []


def test_destination_connection_without_secret(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS", json.dumps({"conn_type": "aws", "login": "AKIA"}))
    operator = BadInputOperator(**operator_arguments(destinations=[S3]))

    with pytest.raises(LookerConfigurationError) as raised:
        operator.execute(make_context())

    assert "'aws_reports'" in str(raised.value)
    assert "secret access key as password" in str(raised.value)
    assert emulator.calls == []


# ---------------------------------------------------------------------------------------------
# In a DAG run: parse-time and run-time rejections
# ---------------------------------------------------------------------------------------------


def register_dag(dag) -> None:
    """Write ``dag`` to the metadata database, which ``dag.test()`` needs for a DAG outside the DAG folder."""
    register_dags(dag)


def test_dag_file_with_bad_argument_fails_to_import(tmp_path):
    dag_file = tmp_path / "bad_looker_dag.py"
    dag_file.write_text(
        "import pendulum\n"
        "from airflow.providers.common.compat.sdk import DAG\n"
        "from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator\n"
        "with DAG('bad_looker_dag', schedule=None, start_date=pendulum.datetime(2026, 1, 1)):\n"
        "    RunOncePlanOperator(task_id='deliver', dashboard_id=73, timezone='Mars/Olympus',\n"
        "                        destinations=[{'type': 'email', 'address': 'a@example.com', 'format': 'wysiwyg_pdf'}])\n"
    )

    bag = dag_bag(str(dag_file), safe_mode=False)

    assert bag.dags == {}
    (error,) = bag.import_errors.values()
    assert "Unknown timezone 'Mars/Olympus'" in error
    assert "IANA" in error


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize(
    ("changes", "params", "value", "hint"),
    [
        pytest.param({"filters": {"Brand": "{{ params.brand }}"}}, {"brand": ""}, "'Brand'", "allow_empty_filter_values=True", id="empty-filter-value"),
        pytest.param({"dashboard_id": "{{ params.dashboard }}"}, {"dashboard": "73 74"}, "'73 74'", "letters, digits", id="dashboard-id"),
    ],
)
def test_dag_run_rejects_rendered_value(emulator, capfd, caplog, changes, params, value, hint):
    from airflow.providers.common.compat.sdk import DAG

    caplog.set_level(logging.INFO)
    dag_id = f"bad_input_{uuid.uuid4().hex[:8]}"
    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc), params=params) as dag:
        BadInputOperator(**operator_arguments(**changes))
    register_dag(dag)

    run = dag.test()

    (ti,) = run.get_task_instances()
    captured = capfd.readouterr()
    logs = "\n".join([captured.out, captured.err, caplog.text])
    assert ti.state == "failed"
    assert "LookerConfigurationError" in logs
    assert value in logs
    assert hint in logs
    assert emulator.calls == []
