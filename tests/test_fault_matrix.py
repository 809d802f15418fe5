"""Fault matrix: RunOncePlanOperator against the Looker emulator while one endpoint misbehaves.

Each row injects one kind of fault (rate limits, 5xx responses, HTML error pages, dropped connections,
read timeouts, slow responses, revoked tokens, malformed JSON, rejected logins) on the endpoint where it
matters: login, the strict-filter dashboard GET, run_once or logout. The operator then either delivers
exactly once, or fails with a message that states whether the report may have been delivered, and the
emulator's deliveries match. Whenever login succeeded the task logs out, and no secret (client secret,
access tokens, the S3 secret access key, the proxy password) shows in a log line or in the error.

Every row runs once and its outcome is kept, so the tests of the different aspects of a row share
one run. The last tests run a few rows as real DAG runs with ``dag.test()``.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import traceback
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_compat import register_dags
from airflow_provider_looker_trigger.exceptions import LookerDeliveryUnknownError, LookerError
from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator
from airflow_provider_looker_trigger.testing import Fault

CLIENT_SECRET = "fault-matrix-client-secret-Wq93"
S3_SECRET = "fault-matrix-s3-secret/Kx7+Lm2"
PROXY_PASSWORD = "fault-matrix-proxy-pass-5Tz"

RUN_ONCE = "scheduled_plan_run_once"
LOGIN = "login"
LOGOUT = "logout"
DASHBOARD = "dashboard"

DELIVERED = "delivered"
UNKNOWN = "unknown"
FAILED = "failed"

# Request timeouts of the connection, in seconds. SLOW is well inside SHORT_TIMEOUT and STALL well outside it.
NORMAL_TIMEOUT = 5.0
SHORT_TIMEOUT = 1.0
SLOW = 0.4
STALL = 2.0

UNKNOWN_WORDING = "may or may not have delivered"
NOT_DELIVERED_WORDING = re.compile(r"nothing was (sent|delivered)|not (been )?(sent|delivered)", re.IGNORECASE)


@dataclass(frozen=True)
class Row:
    """One fault kind: where it is injected, and what the task must do about it."""

    id: str
    faults: tuple[dict[str, Any], ...]
    outcome: str
    # Plans the emulator delivers: 1 when delivered, 0 or 1 for the other outcomes.
    plans: int
    # A word the error message must contain, naming the cause or the fix.
    hint: str = ""
    timeout: float = NORMAL_TIMEOUT
    wrong_secret: bool = False
    looker_down: bool = False
    # Login returned 200 with a body the hook cannot read, so the task never has a token to log out.
    token_unreadable: bool = False


ROWS = (
    # run_once
    Row("run_once-429-retry-after", ({"operation": RUN_ONCE, "calls": (1,), "status": 429, "retry_after": "1"},), DELIVERED, 1),
    Row("run_once-429-no-retry-after", ({"operation": RUN_ONCE, "calls": (1,), "status": 429},), DELIVERED, 1),
    Row("run_once-429-exhausted", ({"operation": RUN_ONCE, "status": 429},), FAILED, 0, hint="429"),
    Row("run_once-503-retried", ({"operation": RUN_ONCE, "calls": (1,), "status": 503},), DELIVERED, 1),
    Row("run_once-503-retry-after", ({"operation": RUN_ONCE, "calls": (1, 2), "status": 503, "retry_after": "0"},), DELIVERED, 1),
    Row("run_once-503-exhausted", ({"operation": RUN_ONCE, "status": 503},), FAILED, 0, hint="503"),
    Row("run_once-500-before-handling", ({"operation": RUN_ONCE, "calls": (1,), "status": 500},), UNKNOWN, 0, hint="500"),
    Row("run_once-500-after-handling", ({"operation": RUN_ONCE, "calls": (1,), "status": 500, "after_handling": True},), UNKNOWN, 1, hint="500"),
    Row("run_once-502", ({"operation": RUN_ONCE, "calls": (1,), "status": 502},), UNKNOWN, 0, hint="502"),
    Row("run_once-504-after-handling", ({"operation": RUN_ONCE, "calls": (1,), "status": 504, "after_handling": True},), UNKNOWN, 1, hint="504"),
    Row("run_once-html-502-page", ({"operation": RUN_ONCE, "calls": (1,), "status": 502, "html": True, "after_handling": True},), UNKNOWN, 1, hint="Bad Gateway"),
    Row("run_once-dropped-before-handling", ({"operation": RUN_ONCE, "calls": (1,), "drop": "before"},), UNKNOWN, 0, hint="connection"),
    Row("run_once-dropped-after-handling", ({"operation": RUN_ONCE, "calls": (1,), "drop": "after"},), UNKNOWN, 1, hint="connection"),
    Row("run_once-read-timeout-after-handling", ({"operation": RUN_ONCE, "calls": (1,), "drop": "after", "stall": STALL},), UNKNOWN, 1, hint="timeout", timeout=SHORT_TIMEOUT),
    Row("run_once-slow-within-timeout", ({"operation": RUN_ONCE, "calls": (1,), "delay": SLOW},), DELIVERED, 1, timeout=SHORT_TIMEOUT),
    Row("run_once-token-expired", ({"operation": RUN_ONCE, "calls": (1,), "expire_token": True},), DELIVERED, 1),
    Row("run_once-token-expired-twice", ({"operation": RUN_ONCE, "calls": (1, 2), "expire_token": True},), FAILED, 0, hint="401"),
    Row("run_once-422", ({"operation": RUN_ONCE, "calls": (1,), "status": 422},), FAILED, 0, hint="422"),
    Row("run_once-malformed-json", ({"operation": RUN_ONCE, "calls": (1,), "malformed_json": True},), UNKNOWN, 1, hint="readable plan id"),
    # login
    Row("login-slow-within-timeout", ({"operation": LOGIN, "delay": SLOW},), DELIVERED, 1, timeout=SHORT_TIMEOUT),
    Row("login-500-retried", ({"operation": LOGIN, "calls": (1,), "status": 500},), DELIVERED, 1),
    Row("login-dropped-retried", ({"operation": LOGIN, "calls": (1,), "drop": "before"},), DELIVERED, 1),
    Row("login-wrong-credentials", (), FAILED, 0, hint="client secret (Password)", wrong_secret=True),
    Row("login-503-exhausted", ({"operation": LOGIN, "status": 503},), FAILED, 0, hint="503"),
    Row("login-read-timeout", ({"operation": LOGIN, "drop": "after", "stall": STALL},), FAILED, 0, hint="login", timeout=SHORT_TIMEOUT),
    Row("login-malformed-json", ({"operation": LOGIN, "calls": (1,), "malformed_json": True},), FAILED, 0, hint="JSON", token_unreadable=True),
    Row("looker-down", (), FAILED, 0, hint="Could not connect", looker_down=True),
    # the strict-filter dashboard GET
    Row("dashboard-500-retried", ({"operation": DASHBOARD, "calls": (1,), "status": 500},), DELIVERED, 1),
    Row("dashboard-html-502-retried", ({"operation": DASHBOARD, "calls": (1,), "status": 502, "html": True},), DELIVERED, 1),
    Row("dashboard-read-timeout-retried", ({"operation": DASHBOARD, "calls": (1,), "drop": "after", "stall": STALL},), DELIVERED, 1, timeout=SHORT_TIMEOUT),
    Row("dashboard-slow-within-timeout", ({"operation": DASHBOARD, "delay": SLOW},), DELIVERED, 1, timeout=SHORT_TIMEOUT),
    Row("dashboard-token-expired", ({"operation": DASHBOARD, "calls": (1,), "expire_token": True},), DELIVERED, 1),
    Row("dashboard-503-exhausted", ({"operation": DASHBOARD, "status": 503},), FAILED, 0, hint="503"),
    Row("dashboard-404", ({"operation": DASHBOARD, "status": 404},), FAILED, 0, hint="No dashboard '73'"),
    Row("dashboard-malformed-json", ({"operation": DASHBOARD, "calls": (1,), "malformed_json": True},), FAILED, 0, hint="JSON"),
    # logout: the delivery is done, and the failed logout is only logged
    Row("logout-500", ({"operation": LOGOUT, "status": 500},), DELIVERED, 1),
    Row("logout-dropped", ({"operation": LOGOUT, "drop": "before"},), DELIVERED, 1),
    Row("logout-401", ({"operation": LOGOUT, "expire_token": True},), DELIVERED, 1),
)



@dataclass
class Outcome:
    """What one row's task did: its return value or error, what Looker saw, and every captured text."""

    result: Any
    error: BaseException | None
    calls: list
    plans_delivered: int
    issued_tokens: list[str]
    logs: str
    error_text: str = field(default="")
    # Whether the S3 secret reached Looker, which shows that the secret went through the code under test.
    s3_secret_sent: bool = False


class FaultMatrixOperator(RunOncePlanOperator):
    """RunOncePlanOperator with a hook that retries twice with millisecond backoff."""

    def get_hook(self) -> LookerHook:
        return LookerHook(self.looker_conn_id, max_retries=2, backoff_factor=0.01, backoff_max=0.05, retry_after_max=2.0)


class FakeTaskInstance(SimpleNamespace):
    def xcom_push(self, key, value):
        self.xcoms[key] = value


def make_operator(**kwargs) -> FaultMatrixOperator:
    arguments = {
        "task_id": "deliver",
        "dashboard_id": 73,
        "filters": {"Brand": "Levi's", "Date": "30 days"},
        "destinations": [
            {"type": "email", "address": "pulse@example.com", "format": "wysiwyg_pdf"},
            {"type": "s3", "address": "s3://acme-reports/pulse/", "format": "csv_zip", "aws_conn_id": "aws_reports"},
        ],
        "name": "Business Pulse",
    }
    arguments.update(kwargs)
    return FaultMatrixOperator(**arguments)


def connection_json(emulator, *, timeout: float, wrong_secret: bool = False) -> str:
    connection = json.loads(emulator.connection_json())
    if wrong_secret:
        connection["password"] = CLIENT_SECRET + "-wrong"
    # The proxy only serves https URLs and the emulator is http, so it is configured but never used.
    proxy = f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:{emulator.port}"
    connection["extra"] = {"timeout": timeout, "proxies": {"https": proxy}}
    return json.dumps(connection)


def set_up(emulator, monkeypatch, row: Row) -> None:
    emulator.client_secret = CLIENT_SECRET
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", connection_json(emulator, timeout=row.timeout, wrong_secret=row.wrong_secret))
    aws = {"conn_type": "aws", "login": "AKIAFAULTMATRIX", "password": S3_SECRET, "extra": {"region_name": "eu-west-1"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS", json.dumps(aws))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    for fault in row.faults:
        emulator.add_fault(Fault(**fault))
    if row.looker_down:
        emulator.stop()


def error_chain_text(error: BaseException | None) -> str:
    if error is None:
        return ""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def plans_delivered(emulator) -> int:
    return len({delivery.plan_id for delivery in emulator.deliveries if delivery.status == "success"})


_OUTCOMES: dict[str, Outcome] = {}


@pytest.fixture
def outcome(request, monkeypatch, caplog, capfd) -> Outcome:
    """Run the row's task once per session and return what happened."""
    row: Row = request.node.callspec.params["row"]
    if row.id in _OUTCOMES:
        return _OUTCOMES[row.id]

    # Requested here, not as an argument, so that tests of a row that already ran start no emulator.
    looker_emulator = request.getfixturevalue("looker_emulator")
    caplog.set_level(logging.DEBUG)
    set_up(looker_emulator, monkeypatch, row)
    ti = FakeTaskInstance(dag_id="fault_matrix", run_id=f"manual__{row.id}", task_id="deliver", map_index=-1, try_number=1, xcoms={})
    result, error = None, None
    try:
        result = make_operator().execute({"ti": ti, "task_instance": ti})
    except Exception as err:
        error = err
    captured = capfd.readouterr()
    logs = "\n".join([captured.out, captured.err, caplog.text, json.dumps(ti.xcoms, default=str)])
    _OUTCOMES[row.id] = Outcome(
        result=result,
        error=error,
        calls=looker_emulator.calls,
        plans_delivered=plans_delivered(looker_emulator),
        issued_tokens=looker_emulator.issued_tokens,
        logs=logs,
        error_text=error_chain_text(error),
        s3_secret_sent=any(S3_SECRET in str(delivery.destination.get("secret_parameters")) for delivery in looker_emulator.deliveries),
    )
    return _OUTCOMES[row.id]


ROW_PARAMS = [pytest.param(row, id=row.id) for row in ROWS]


# ---------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_result(row, outcome):
    if row.outcome == DELIVERED:
        assert outcome.error is None, outcome.error_text
        assert outcome.result is not None
    elif row.outcome == UNKNOWN:
        assert isinstance(outcome.error, LookerDeliveryUnknownError), outcome.error_text
    else:
        assert isinstance(outcome.error, LookerError), outcome.error_text
        assert not isinstance(outcome.error, LookerDeliveryUnknownError)


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_deliveries(row, outcome):
    assert outcome.plans_delivered == row.plans


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_run_once_accepted(row, outcome):
    accepted = [call for call in outcome.calls if call.operation == RUN_ONCE and call.status == 200]

    if row.outcome == DELIVERED:
        assert len(accepted) == 1
    else:
        assert len(accepted) <= row.plans


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_logout_after_login(row, outcome):
    logged_in = not row.token_unreadable and any(call.operation == LOGIN and call.status == 200 for call in outcome.calls)

    if logged_in:
        assert outcome.calls[-1].operation == LOGOUT
    else:
        assert all(call.operation == LOGIN for call in outcome.calls)


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_no_secret_in_logs(row, outcome):
    text = outcome.logs + "\n" + outcome.error_text

    assert "Looker" in text
    if row.plans:
        assert outcome.s3_secret_sent
    assert CLIENT_SECRET not in text
    assert S3_SECRET not in text
    assert PROXY_PASSWORD not in text
    for token in outcome.issued_tokens:
        assert token not in text


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_message(row, outcome):
    if row.outcome == DELIVERED:
        assert "Looker accepted run-once plan" in outcome.logs
        return
    message = str(outcome.error)
    assert row.hint in message
    if row.outcome == UNKNOWN:
        assert UNKNOWN_WORDING in message
        assert "[airflow:" in message
    else:
        assert UNKNOWN_WORDING not in message
        assert NOT_DELIVERED_WORDING.search(message), message


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_fault_no_repeat_after_unknown(row, outcome):
    run_once = [call for call in outcome.calls if call.operation == RUN_ONCE]
    rejected_first = [call for call in run_once if call.status in (401, 429, 503)]

    if row.outcome == UNKNOWN:
        assert len(run_once) == 1
    else:
        assert len(run_once) <= len(rejected_first) + 1


def test_matrix_covers_fault_kinds():
    kinds = set()
    for row in ROWS:
        for fault in row.faults:
            kinds.add(
                (
                    fault.get("status"),
                    fault.get("drop"),
                    bool(fault.get("stall")),
                    bool(fault.get("delay")),
                    bool(fault.get("expire_token")),
                    bool(fault.get("malformed_json")),
                    bool(fault.get("html")),
                    "retry_after" in fault,
                )
            )
    assert len(kinds) + sum(1 for row in ROWS if not row.faults) >= 15
    assert {fault["operation"] for row in ROWS for fault in row.faults} == {LOGIN, DASHBOARD, RUN_ONCE, LOGOUT}


# ---------------------------------------------------------------------------------------------
# Rows as DAG runs on Airflow
# ---------------------------------------------------------------------------------------------


def register_dag(dag) -> None:
    """Write ``dag`` to the metadata database, which ``dag.test()`` needs for a DAG outside the DAG folder."""
    register_dags(dag)


DAG_ROWS = {row.id: row for row in ROWS if row.id in ("run_once-429-retry-after", "run_once-dropped-after-handling", "login-wrong-credentials", "logout-500")}


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("row", [pytest.param(row, id=row_id) for row_id, row in DAG_ROWS.items()])
def test_fault_in_dag_run(row, looker_emulator, monkeypatch, caplog, capfd):
    from airflow.providers.common.compat.sdk import DAG

    caplog.set_level(logging.DEBUG)
    set_up(looker_emulator, monkeypatch, row)
    dag_id = f"fault_matrix_{re.sub(r'[^a-z0-9]+', '_', row.id)}_{uuid.uuid4().hex[:8]}"
    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
        make_operator()
    register_dag(dag)

    run = dag.test()

    (ti,) = run.get_task_instances()
    captured = capfd.readouterr()
    logs = "\n".join([captured.out, captured.err, caplog.text])
    assert ti.state == ("success" if row.outcome == DELIVERED else "failed")
    assert plans_delivered(looker_emulator) == row.plans
    if row.outcome == UNKNOWN:
        assert UNKNOWN_WORDING in logs
    if row.hint:
        assert row.hint in logs
    assert CLIENT_SECRET not in logs
    assert S3_SECRET not in logs
    assert PROXY_PASSWORD not in logs
    for token in looker_emulator.issued_tokens:
        assert token not in logs
