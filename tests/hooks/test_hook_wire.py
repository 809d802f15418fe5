"""LookerHook over real HTTP against the Looker emulator: login, tokens, logout, masking, TLS, retries, errors."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from airflow.providers.common.compat.sdk import redact

from airflow_provider_looker_trigger.exceptions import (
    LookerApiError,
    LookerAuthenticationError,
    LookerDeliveryUnknownError,
    LookerRequestError,
)
from airflow_provider_looker_trigger.hooks.looker import TOKEN_EXPIRY_MARGIN, LookerHook
from airflow_provider_looker_trigger.testing import Fault, LookerEmulator
from airflow_provider_looker_trigger.testing.records import REDACTED

PLAN_NAME = "Business Pulse [airflow:wiretest0001]"


def plan_body(name: str = PLAN_NAME) -> dict:
    return {
        "name": name,
        "run_once": True,
        "dashboard_id": "73",
        "filters_string": "?Brand=Calvin%20Klein",
        "scheduled_plan_destination": [{"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}],
    }


def set_connection(monkeypatch, emulator: LookerEmulator, **extra) -> None:
    """Point ``looker_default`` at ``emulator``, with ``extra`` as the connection's extra fields."""
    conn = json.loads(emulator.connection_json())
    if extra:
        conn["extra"] = extra
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", json.dumps(conn))


def set_raw_connection(monkeypatch, port: int, *, login: str = "client-id", password: str = "client-secret") -> None:
    conn = {"conn_type": "looker", "host": "http://127.0.0.1", "port": port, "login": login, "password": password}
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", json.dumps(conn))


def make_hook(**kwargs) -> LookerHook:
    """Return a hook whose retries wait milliseconds instead of seconds."""
    kwargs.setdefault("backoff_factor", 0.01)
    return LookerHook(**kwargs)


def operations(emulator: LookerEmulator) -> list[str]:
    return [call.operation for call in emulator.calls]


def calls_of(emulator: LookerEmulator, operation: str) -> list:
    return [call for call in emulator.calls if call.operation == operation]


@pytest.fixture
def looker(looker_emulator, monkeypatch) -> LookerEmulator:
    """The emulator, with ``looker_default`` pointing at it."""
    set_connection(monkeypatch, looker_emulator)
    return looker_emulator


class StubServer:
    """An HTTP server on 127.0.0.1 that returns one fixed response to every request and records the requests."""

    def __init__(self, status: int, body: str, content_type: str) -> None:
        self.status = status
        self.body = body.encode("utf-8")
        self.content_type = content_type
        self.requests: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                stub.requests.append((self.command, self.path))
                self.send_response(stub.status)
                self.send_header("Content-Type", stub.content_type)
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def stub_server() -> Iterator:
    """Start :class:`StubServer` instances on demand and stop them after the test."""
    servers: list[StubServer] = []

    def start(status: int, body: str, content_type: str = "application/json") -> StubServer:
        server = StubServer(status, body, content_type)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def unused_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Login
# ---------------------------------------------------------------------------------------------


def test_login_sends_credentials_in_form_body(looker):
    with make_hook() as hook:
        hook.get_current_user()

    login = calls_of(looker, "login")[0]
    assert login.status == 200
    assert login.query == {}
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert login.body == {"client_id": looker.client_id, "client_secret": REDACTED}
    assert login.warnings == []


def test_login_request_has_no_authorization(looker):
    with make_hook() as hook:
        hook.get_current_user()

    assert "Authorization" not in calls_of(looker, "login")[0].headers


def test_request_authorization_uses_token_scheme(looker):
    with make_hook() as hook:
        hook.get_current_user()

    assert calls_of(looker, "me")[0].headers["Authorization"] == f"token {REDACTED}"


@pytest.mark.parametrize(
    ("login", "password"),
    [
        pytest.param("wrong-client-id", None, id="wrong-client-id"),
        pytest.param(None, "wrong-client-secret", id="wrong-client-secret"),
    ],
)
def test_login_wrong_credentials(looker_emulator, monkeypatch, login, password):
    set_raw_connection(
        monkeypatch,
        looker_emulator.port,
        login=login or looker_emulator.client_id,
        password=password or looker_emulator.client_secret,
    )

    with pytest.raises(LookerAuthenticationError) as raised:
        with make_hook() as hook:
            hook.get_current_user()

    message = str(raised.value)
    assert raised.value.status == 404
    assert "Login" in message
    assert "Password" in message
    assert operations(looker_emulator) == ["login"]


def test_login_answer_without_access_token(stub_server, monkeypatch):
    server = stub_server(200, json.dumps({"token_type": "Bearer", "expires_in": 3600}))
    set_raw_connection(monkeypatch, server.port)

    with pytest.raises(LookerAuthenticationError, match="access_token"):
        with make_hook() as hook:
            hook.get_current_user()

    assert server.requests == [("POST", "/api/4.0/login")]


def test_login_answer_cut_short(looker):
    looker.add_fault(Fault(operation="login", malformed_json=True))

    with pytest.raises(LookerApiError, match="not JSON with an access_token") as raised:
        with make_hook() as hook:
            hook.get_current_user()

    assert operations(looker) == ["login"]
    for token in looker.issued_tokens:
        assert token not in str(raised.value)


# ---------------------------------------------------------------------------------------------
# Token expiry and 401
# ---------------------------------------------------------------------------------------------


class FakeClock:
    """A monotonic clock that moves only when the test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds_later", "expected_logins"),
    [
        pytest.param(3600 - TOKEN_EXPIRY_MARGIN - 1, 1, id="before-margin"),
        pytest.param(3600 - TOKEN_EXPIRY_MARGIN, 2, id="at-margin"),
        pytest.param(3600 + 60, 2, id="after-expiry"),
    ],
)
def test_token_renewed_before_expiry(looker, seconds_later, expected_logins):
    clock = FakeClock()
    with make_hook(clock=clock) as hook:
        hook.get_current_user()
        clock.now += seconds_later
        hook.get_current_user()

    assert len(calls_of(looker, "login")) == expected_logins
    assert [call.status for call in calls_of(looker, "me")] == [200, 200]


def test_401_logs_in_again_and_replays(looker):
    with make_hook() as hook:
        hook.get_current_user()
        looker.expire_tokens()
        user = hook.get_current_user()

    assert user["id"]
    assert operations(looker) == ["login", "me", "me", "login", "me", "logout"]
    assert [call.status for call in calls_of(looker, "me")] == [200, 401, 200]


def test_run_once_401_replayed_once(looker):
    looker.add_fault(Fault(operation="scheduled_plan_run_once", calls=(1,), expire_token=True))

    with make_hook() as hook:
        plan = hook.run_once(plan_body())

    assert plan["id"]
    assert [call.status for call in calls_of(looker, "scheduled_plan_run_once")] == [401, 200]
    assert len(calls_of(looker, "login")) == 2
    assert len(looker.deliveries) == 1


@pytest.mark.parametrize(
    ("operation", "send"),
    [
        pytest.param("me", lambda hook: hook.get_current_user(), id="get"),
        pytest.param("scheduled_plan_run_once", lambda hook: hook.run_once(plan_body()), id="run-once"),
    ],
)
def test_second_401_in_a_row_is_error(looker, operation, send):
    looker.add_fault(Fault(operation=operation, expire_token=True))

    with pytest.raises(LookerApiError) as raised:
        with make_hook() as hook:
            send(hook)

    assert raised.value.status == 401
    assert [call.status for call in calls_of(looker, operation)] == [401, 401]
    assert len(calls_of(looker, "login")) == 2
    assert looker.deliveries == []


# ---------------------------------------------------------------------------------------------
# Logout
# ---------------------------------------------------------------------------------------------


def test_logout_on_close(looker):
    hook = make_hook()
    hook.get_current_user()
    hook.close()

    logout = looker.calls[-1]
    assert (logout.method, logout.path, logout.status) == ("DELETE", "/api/4.0/logout", 204)
    assert logout.headers["Authorization"] == f"token {REDACTED}"


def test_logout_when_body_raises(looker):
    with pytest.raises(RuntimeError, match="load failed"):
        with make_hook() as hook:
            hook.get_current_user()
            raise RuntimeError("load failed")

    assert operations(looker)[-1] == "logout"
    assert calls_of(looker, "logout")[0].status == 204


def test_no_logout_without_login(looker):
    with make_hook():
        pass

    assert looker.calls == []


def test_logout_revokes_token(looker):
    with make_hook() as hook:
        hook.get_current_user()
    token = looker.issued_tokens[-1]

    answer = requests.get(f"{looker.api_url}/user", headers={"Authorization": f"token {token}"}, timeout=10)

    assert answer.status_code == 401


LOGOUT_FAULTS = [
    pytest.param(Fault(operation="logout", status=500), id="answer-500"),
    pytest.param(Fault(operation="logout", status=404), id="answer-404"),
    pytest.param(Fault(operation="logout", drop="before"), id="connection-dropped"),
]


@pytest.mark.parametrize("fault", LOGOUT_FAULTS)
def test_failing_logout_keeps_result(looker, capsys, fault):
    looker.add_fault(fault)

    with make_hook() as hook:
        user = hook.get_current_user()

    output = capsys.readouterr().out
    assert user["id"]
    assert "Logout from Looker" in output
    assert "the token expires on its own" in output


@pytest.mark.parametrize("fault", LOGOUT_FAULTS)
def test_failing_logout_keeps_task_exception(looker, capsys, fault):
    looker.add_fault(fault)

    with pytest.raises(RuntimeError, match="load failed"):
        with make_hook() as hook:
            hook.get_current_user()
            raise RuntimeError("load failed")

    assert "Logout from Looker" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Secrets: masker registration and logs
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def private_emulator(tmp_path, monkeypatch) -> Iterator[LookerEmulator]:
    """An emulator with a client secret no other test uses, so masker registration is this test's doing."""
    emulator = LookerEmulator(outbox=tmp_path / "private-outbox", client_secret=f"secret-{uuid.uuid4().hex}")
    emulator.start()
    set_connection(monkeypatch, emulator)
    try:
        yield emulator
    finally:
        emulator.stop()


def test_secret_masked_after_connection_read(private_emulator):
    assert redact(private_emulator.client_secret) == private_emulator.client_secret

    with make_hook() as hook:
        hook.get_current_user()

    assert redact(private_emulator.client_secret) == "***"


def test_access_token_masked(private_emulator):
    with make_hook() as hook:
        hook.get_current_user()

    assert redact(private_emulator.issued_tokens[0]) == "***"


def test_no_secret_in_logs(looker, caplog, capsys):
    caplog.set_level("DEBUG")
    looker.add_fault(Fault(operation="me", calls=(1,), status=502))
    looker.add_fault(Fault(operation="scheduled_plan_run_once", calls=(1,), expire_token=True))
    looker.add_fault(Fault(operation="logout", status=500))

    with make_hook() as hook:
        hook.get_current_user()
        hook.run_once(plan_body())

    captured = capsys.readouterr()
    logs = "\n".join([captured.out, captured.err, caplog.text])
    assert len(looker.issued_tokens) == 2
    assert "Logged in to Looker" in logs
    for token in looker.issued_tokens:
        assert token not in logs
    assert looker.client_secret not in logs


# ---------------------------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------------------------


def test_verify_false_only_in_hook_session(looker_emulator, monkeypatch):
    set_connection(monkeypatch, looker_emulator, verify=False)

    with make_hook() as hook:
        session = hook.get_conn()
        hook.get_current_user()

        assert session.verify is False
        assert requests.Session().verify is True


def test_verify_false_logged(looker_emulator, monkeypatch, capsys):
    set_connection(monkeypatch, looker_emulator, verify="false")

    with make_hook() as hook:
        hook.get_conn()

    assert "TLS certificate verification is off" in capsys.readouterr().out


def test_verify_ca_bundle_path(looker_emulator, monkeypatch, tmp_path):
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    set_connection(monkeypatch, looker_emulator, verify=str(bundle))

    with make_hook() as hook:
        assert hook.get_conn().verify == str(bundle)


def test_verify_on_by_default(looker):
    with make_hook() as hook:
        assert hook.get_conn().verify is True


# ---------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------


def test_get_retried_after_502(looker):
    looker.add_fault(Fault(operation="me", calls=(1,), status=502))

    with make_hook() as hook:
        user = hook.get_current_user()

    assert user["id"]
    assert [call.status for call in calls_of(looker, "me")] == [502, 200]


@pytest.mark.parametrize(
    ("status", "retry_after", "minimum_wait"),
    [
        pytest.param(429, "1", 1.0, id="429-retry-after"),
        pytest.param(503, None, 0.0, id="503"),
    ],
)
def test_run_once_retried_when_rejected(looker, status, retry_after, minimum_wait):
    looker.add_fault(Fault(operation="scheduled_plan_run_once", calls=(1,), status=status, retry_after=retry_after))

    with make_hook() as hook:
        plan = hook.run_once(plan_body())

    run_once_calls = calls_of(looker, "scheduled_plan_run_once")
    assert plan["id"]
    assert [call.status for call in run_once_calls] == [status, 200]
    assert (run_once_calls[1].time - run_once_calls[0].time).total_seconds() >= minimum_wait
    assert len(looker.deliveries) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
@pytest.mark.parametrize(
    "after_handling",
    [pytest.param(True, id="after-handling"), pytest.param(False, id="before-handling")],
)
def test_run_once_not_retried_after_5xx(looker, status, after_handling):
    looker.add_fault(Fault(operation="scheduled_plan_run_once", status=status, after_handling=after_handling))

    with pytest.raises(LookerDeliveryUnknownError) as raised:
        with make_hook() as hook:
            hook.run_once(plan_body())

    assert "may or may not" in str(raised.value)
    assert PLAN_NAME in str(raised.value)
    assert raised.value.plan_name == PLAN_NAME
    assert len(calls_of(looker, "scheduled_plan_run_once")) == 1
    assert len(looker.deliveries) == (1 if after_handling else 0)


@pytest.mark.parametrize(
    ("fault", "extra", "reason"),
    [
        pytest.param(Fault(operation="scheduled_plan_run_once", drop="after"), {}, "broke", id="dropped-after-handling"),
        pytest.param(
            Fault(operation="scheduled_plan_run_once", drop="after", stall=2.0),
            {"timeout": 1},
            "did not answer",
            id="read-timeout-after-handling",
        ),
    ],
)
def test_run_once_not_retried_without_answer(looker_emulator, monkeypatch, fault, extra, reason):
    set_connection(monkeypatch, looker_emulator, **extra)
    looker_emulator.add_fault(fault)

    with pytest.raises(LookerDeliveryUnknownError) as raised:
        with make_hook() as hook:
            hook.run_once(plan_body())

    message = str(raised.value)
    assert reason in message
    assert "may or may not" in message
    assert PLAN_NAME in message
    assert len(calls_of(looker_emulator, "scheduled_plan_run_once")) == 1
    assert len(looker_emulator.deliveries) == 1


def test_connection_refused_sends_nothing(monkeypatch):
    set_raw_connection(monkeypatch, unused_port())

    with pytest.raises(LookerRequestError) as raised:
        with make_hook() as hook:
            hook.run_once(plan_body())

    assert raised.value.sent is False
    assert not isinstance(raised.value, LookerDeliveryUnknownError)
    assert "Nothing was sent" in str(raised.value)


# ---------------------------------------------------------------------------------------------
# Error messages
# ---------------------------------------------------------------------------------------------


def test_422_message_lists_looker_details(looker):
    body = plan_body()
    body["scheduled_plan_destination"][0]["address"] = "not-an-email"

    with pytest.raises(LookerApiError) as raised:
        with make_hook() as hook:
            hook.run_once(body)

    message = str(raised.value)
    assert raised.value.status == 422
    assert "422" in message
    assert "POST /api/4.0/scheduled_plans/run_once" in message
    assert "Validation Failed" in message
    assert "field scheduled_plan_destination[0].address" in message
    assert "(code invalid)" in message
    assert "'not-an-email' is not a single email address" in message
    assert f"{looker.url}/__emulator__/docs/validation" in message


def test_html_502_on_get_shown_without_tags(looker):
    looker.add_fault(Fault(operation="me", status=502, html=True))

    with pytest.raises(LookerApiError) as raised:
        with make_hook() as hook:
            hook.get_current_user()

    message = str(raised.value)
    assert raised.value.status == 502
    assert "GET /api/4.0/user" in message
    assert "502 Bad Gateway The upstream server did not answer." in message
    assert "<" not in message


def test_long_html_page_cut(stub_server, monkeypatch):
    page = "<html><body>" + "<p>Proxy error while contacting the upstream Looker server.</p>" * 100 + "</body></html>"
    server = stub_server(502, page, content_type="text/html")
    set_raw_connection(monkeypatch, server.port)

    with pytest.raises(LookerApiError) as raised:
        make_hook().get_versions()

    assert raised.value.status == 502
    assert len(raised.value.excerpt) <= 300
    assert raised.value.excerpt.endswith("...")
    assert len(str(raised.value)) < 600
    assert "<" not in str(raised.value)
