"""Looker emulator: authentication, content endpoints, call recording, CLI and fixture, over real HTTP."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.parse

import pytest
import requests
from airflow_compat import connection_from_uri

from airflow_provider_looker_trigger.testing import LookerEmulator


class Clock:
    """A settable clock for the emulator's ``now``."""

    def __init__(self) -> None:
        self.moment = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)

    def __call__(self) -> datetime.datetime:
        return self.moment


def login(emulator: LookerEmulator, scheme: str = "token") -> requests.Session:
    session = requests.Session()
    answer = session.post(
        f"{emulator.api_url}/login",
        data={"client_id": emulator.client_id, "client_secret": emulator.client_secret},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    session.headers["Authorization"] = f"{scheme} {answer.json()['access_token']}"
    return session


@pytest.fixture
def clocked(tmp_path):
    clock = Clock()
    with LookerEmulator(outbox=tmp_path / "outbox", now=clock, token_lifetime=600) as emulator:
        yield emulator, clock


# ---- login and tokens -------------------------------------------------------------------------------


def test_login_returns_bearer_token(looker_emulator):
    answer = requests.post(
        f"{looker_emulator.api_url}/login",
        data={"client_id": looker_emulator.client_id, "client_secret": looker_emulator.client_secret},
        timeout=10,
    )

    assert answer.status_code == 200
    token = answer.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"] is None
    assert len(token["access_token"]) >= 32
    assert answer.headers["Content-Length"] == str(len(answer.content))


def test_login_wrong_secret_is_404(looker_emulator):
    answer = requests.post(
        f"{looker_emulator.api_url}/login",
        data={"client_id": looker_emulator.client_id, "client_secret": "wrong"},
        timeout=10,
    )

    assert answer.status_code == 404
    assert answer.json()["message"] == "Not found"
    assert "documentation_url" in answer.json()


def test_login_wrong_client_id_is_404(looker_emulator):
    answer = requests.post(
        f"{looker_emulator.api_url}/login",
        data={"client_id": "someone-else", "client_secret": looker_emulator.client_secret},
        timeout=10,
    )

    assert answer.status_code == 404


def test_login_without_credentials_is_400(looker_emulator):
    answer = requests.post(f"{looker_emulator.api_url}/login", timeout=10)

    assert answer.status_code == 400
    assert "client_id" in answer.json()["message"]


def test_login_credentials_in_query_recorded(looker_emulator):
    query = urllib.parse.urlencode(
        {"client_id": looker_emulator.client_id, "client_secret": looker_emulator.client_secret}
    )
    answer = requests.post(f"{looker_emulator.api_url}/login?{query}", timeout=10)

    assert answer.status_code == 200
    call = looker_emulator.calls[-1]
    assert call.operation == "login"
    assert call.query["client_id"] == looker_emulator.client_id
    assert call.query["client_secret"] == "***"
    assert any("query string" in warning for warning in call.warnings)


def test_login_form_body_has_no_warning(looker_emulator):
    login(looker_emulator)

    call = looker_emulator.calls[-1]
    assert call.warnings == []
    assert call.body == {"client_id": looker_emulator.client_id, "client_secret": "***"}


def test_request_without_token_is_401(looker_emulator):
    answer = requests.get(f"{looker_emulator.api_url}/user", timeout=10)

    assert answer.status_code == 401
    assert answer.json()["message"] == "Requires authentication."


def test_request_with_unknown_token_is_401(looker_emulator):
    answer = requests.get(f"{looker_emulator.api_url}/user", headers={"Authorization": "token not-a-token"}, timeout=10)

    assert answer.status_code == 401


def test_bearer_and_token_schemes_accepted(looker_emulator):
    for scheme in ("token", "Bearer"):
        session = login(looker_emulator, scheme)
        answer = session.get(f"{looker_emulator.api_url}/user", timeout=10)
        assert answer.status_code == 200, scheme
        assert answer.json()["id"] == "1"


def test_expired_token_is_401(clocked):
    emulator, clock = clocked
    session = login(emulator)
    assert session.get(f"{emulator.api_url}/user", timeout=10).status_code == 200

    clock.moment += datetime.timedelta(seconds=599)
    assert session.get(f"{emulator.api_url}/user", timeout=10).status_code == 200

    clock.moment += datetime.timedelta(seconds=1)
    assert session.get(f"{emulator.api_url}/user", timeout=10).status_code == 401


def test_token_lifetime_in_login_answer(clocked):
    emulator, _ = clocked
    answer = requests.post(
        f"{emulator.api_url}/login",
        data={"client_id": emulator.client_id, "client_secret": emulator.client_secret},
        timeout=10,
    )

    assert answer.json()["expires_in"] == 600


def test_issued_tokens_lists_every_login(looker_emulator):
    first = login(looker_emulator).headers["Authorization"].split()[1]
    second = login(looker_emulator).headers["Authorization"].split()[1]

    assert looker_emulator.issued_tokens == [first, second]


def test_logout_invalidates_token(looker_emulator):
    session = login(looker_emulator)

    answer = session.delete(f"{looker_emulator.api_url}/logout", timeout=10)

    assert answer.status_code == 204
    assert answer.content == b""
    assert session.get(f"{looker_emulator.api_url}/user", timeout=10).status_code == 401


def test_logout_leaves_other_tokens(looker_emulator):
    first = login(looker_emulator)
    second = login(looker_emulator)

    first.delete(f"{looker_emulator.api_url}/logout", timeout=10)

    assert second.get(f"{looker_emulator.api_url}/user", timeout=10).status_code == 200


def test_unversioned_logout_path(looker_emulator):
    session = login(looker_emulator)

    answer = session.delete(f"{looker_emulator.url}/api/logout", timeout=10)

    assert answer.status_code == 204
    assert session.get(f"{looker_emulator.api_url}/user", timeout=10).status_code == 401


def test_expire_tokens_forces_401(looker_emulator):
    session = login(looker_emulator)

    looker_emulator.expire_tokens()

    assert session.get(f"{looker_emulator.api_url}/user", timeout=10).status_code == 401


# ---- content ----------------------------------------------------------------------------------------


def test_versions_needs_no_token(looker_emulator):
    answer = requests.get(f"{looker_emulator.api_url}/versions", timeout=10)

    assert answer.status_code == 200
    versions = answer.json()
    assert versions["current_version"]["version"] == "4.0"
    assert versions["api_server_url"] == looker_emulator.url


def test_dashboard_73_has_four_filters(looker_emulator):
    session = login(looker_emulator)

    dashboard = session.get(f"{looker_emulator.api_url}/dashboards/73", timeout=10).json()

    assert dashboard["id"] == "73"
    assert dashboard["title"] == "Business Pulse"
    names = [dashboard_filter["name"] for dashboard_filter in dashboard["dashboard_filters"]]
    assert names == ["Date", "State / Region", "Brand", "Category"]
    first = dashboard["dashboard_filters"][0]
    assert first["type"] == "field_filter"
    assert first["model"] == "thelook"
    assert first["explore"] == "order_items"
    assert first["dashboard_id"] == "73"
    assert [element["title"] for element in dashboard["dashboard_elements"]] == ["Orders", "Sales by brand"]


def test_dashboard_filters_endpoint(looker_emulator):
    session = login(looker_emulator)

    answer = session.get(f"{looker_emulator.api_url}/dashboards/73/dashboard_filters", timeout=10)

    assert answer.status_code == 200
    assert [item["name"] for item in answer.json()] == ["Date", "State / Region", "Brand", "Category"]


@pytest.mark.parametrize("dashboard_id", ["thelook::business_pulse", "thelook%3A%3Abusiness_pulse"])
def test_lookml_dashboard_by_id(looker_emulator, dashboard_id):
    session = login(looker_emulator)

    answer = session.get(f"{looker_emulator.api_url}/dashboards/{dashboard_id}", timeout=10)

    assert answer.status_code == 200
    dashboard = answer.json()
    assert dashboard["id"] == "thelook::business_pulse"
    assert dashboard["readonly"] is True
    assert dashboard["model"]["id"] == "thelook"
    assert len(dashboard["dashboard_filters"]) == 4


def test_look_42_includes_query(looker_emulator):
    session = login(looker_emulator)

    look = session.get(f"{looker_emulator.api_url}/looks/42", timeout=10).json()

    assert look["title"] == "Daily sales"
    assert look["query_id"] == "1001"
    assert look["query"]["fields"] == ["order_items.created_date", "products.brand", "order_items.sale_price"]


def test_query_1001(looker_emulator):
    session = login(looker_emulator)

    query = session.get(f"{looker_emulator.api_url}/queries/1001", timeout=10).json()

    assert query["id"] == "1001"
    assert query["model"] == "thelook"
    assert query["view"] == "order_items"


@pytest.mark.parametrize(
    "path",
    [
        "/dashboards/999",
        "/dashboards/999/dashboard_filters",
        "/dashboards/thelook::missing",
        "/looks/999",
        "/queries/999",
        "/scheduled_plans/999",
        "/datagroups/999",
        "/no/such/endpoint",
    ],
)
def test_unknown_ids_are_404(looker_emulator, path):
    session = login(looker_emulator)

    answer = session.get(f"{looker_emulator.api_url}{path}", timeout=10)

    assert answer.status_code == 404
    assert answer.json()["message"].startswith("Not found")
    assert answer.json()["documentation_url"].startswith(looker_emulator.url)


def test_wrong_method_is_405(looker_emulator):
    session = login(looker_emulator)

    answer = session.delete(f"{looker_emulator.api_url}/looks/42", timeout=10)

    assert answer.status_code == 405


def test_saved_plan_501(looker_emulator):
    session = login(looker_emulator)

    plan = session.get(f"{looker_emulator.api_url}/scheduled_plans/501", timeout=10).json()

    assert plan["id"] == "501"
    assert plan["dashboard_id"] == "73"
    assert plan["filters_string"] == "?Brand=Carhartt"
    destination = plan["scheduled_plan_destination"][0]
    assert destination["address"] == "analytics@example.com"
    assert destination["format"] == "wysiwyg_pdf"
    assert destination["scheduled_plan_id"] == "501"


def test_user_lists_permissions(looker_emulator):
    session = login(looker_emulator)

    user = session.get(f"{looker_emulator.api_url}/user", timeout=10).json()

    assert user["can"]["see_system_activity"] is True
    assert user["display_name"] == "Emulator API User"


# ---- recording --------------------------------------------------------------------------------------


def test_calls_recorded_in_order(looker_emulator):
    session = login(looker_emulator)
    session.get(f"{looker_emulator.api_url}/looks/42", timeout=10)
    session.get(f"{looker_emulator.api_url}/looks/43", timeout=10)

    calls = looker_emulator.calls

    assert [(call.operation, call.status) for call in calls] == [("login", 200), ("look", 200), ("look", 404)]
    assert [call.call_number for call in calls] == [1, 1, 2]
    assert calls[1].headers["Authorization"] == "token ***"
    assert calls[1].path == "/api/4.0/looks/42"


def test_calls_log_file_has_no_secret(looker_emulator):
    session = login(looker_emulator)
    session.get(f"{looker_emulator.api_url}/user", timeout=10)
    token = session.headers["Authorization"].split()[1]

    log_text = (looker_emulator.outbox.root / "calls.jsonl").read_text()

    assert looker_emulator.client_secret not in log_text
    assert token not in log_text
    records = [json.loads(line) for line in log_text.splitlines()]
    assert [record["operation"] for record in records] == ["login", "me"]


def test_introspection_calls_endpoint(looker_emulator):
    login(looker_emulator)

    answer = requests.get(f"{looker_emulator.url}/__emulator__/calls", timeout=10)

    assert answer.status_code == 200
    assert [record["operation"] for record in answer.json()] == ["login"]


def test_reset_clears_calls_and_tokens(looker_emulator):
    session = login(looker_emulator)

    looker_emulator.reset()

    assert looker_emulator.calls == []
    assert session.get(f"{looker_emulator.api_url}/user", timeout=10).status_code == 401


def test_concurrent_requests_all_recorded(looker_emulator):
    session_token = login(looker_emulator).headers["Authorization"]
    errors: list[str] = []

    def fetch() -> None:
        for _ in range(10):
            answer = requests.get(
                f"{looker_emulator.api_url}/dashboards/73", headers={"Authorization": session_token}, timeout=10
            )
            if answer.status_code != 200:
                errors.append(answer.text)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    dashboard_calls = [call for call in looker_emulator.calls if call.operation == "dashboard"]
    assert len(dashboard_calls) == 80
    assert sorted(call.call_number for call in dashboard_calls) == list(range(1, 81))


# ---- connection helpers, CLI and fixture ------------------------------------------------------------


def test_connection_uri_parses_in_airflow(looker_emulator):
    connection = connection_from_uri(looker_emulator.connection_uri(), conn_id="looker_default")

    assert connection.conn_type == "looker"
    assert connection.host == "http://127.0.0.1"
    assert connection.port == looker_emulator.port
    assert connection.login == looker_emulator.client_id
    assert connection.password == looker_emulator.client_secret


def test_connection_uri_quotes_secret(tmp_path):
    emulator = LookerEmulator(outbox=tmp_path, client_secret="a/b@c:d")

    uri = emulator.connection_uri()

    assert "a%2Fb%40c%3Ad" in uri
    assert json.loads(emulator.connection_json())["password"] == "a/b@c:d"


def test_server_binds_loopback_only(looker_emulator):
    assert looker_emulator._server.server_address[0] == "127.0.0.1"
    assert looker_emulator.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_signal(tmp_path, stop_signal):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_looker_trigger.testing",
            "--port",
            "0",
            "--outbox",
            str(tmp_path / "outbox"),
            "--seed-demo-data",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline()
        second_line = process.stdout.readline()
        assert first_line.startswith("Looker emulator: http://127.0.0.1:"), first_line
        url = first_line.split(": ", 1)[1].strip()
        assert second_line.startswith("AIRFLOW_CONN_LOOKER_DEFAULT=looker://http://")

        answer = requests.get(f"{url}/api/4.0/versions", timeout=10)
        assert answer.status_code == 200
        assert (tmp_path / "outbox" / "warehouse.sqlite").exists()
    finally:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
    assert process.returncode == 0, process.stderr.read()
