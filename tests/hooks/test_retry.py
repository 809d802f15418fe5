"""Tests of the hook's retry policy: which failures are retried, how long it waits, what it logs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import HTTPResponse

from airflow_provider_looker_trigger.hooks import retry as retry_module
from airflow_provider_looker_trigger.hooks.retry import LookerRetry, build_retry

RUN_ONCE_PATH = "/api/4.0/scheduled_plans/run_once"
LOGGER_NAME = "tests.looker.retry"


def policy(*, allow_post=False, max_retries=5, backoff_factor=1.0, backoff_max=30.0, retry_after_max=60.0, logger=None):
    return build_retry(
        max_retries=max_retries,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        retry_after_max=retry_after_max,
        allow_post=allow_post,
        logger=logger,
    )


def response(status, headers=None):
    return HTTPResponse(body=b"", headers=headers or {}, status=status, preload_content=False)


# ---------------------------------------------------------------------------------------------
# is_retry decisions
# ---------------------------------------------------------------------------------------------

RETRY_DECISIONS = [
    # Looker rejects these before it executes the request, so every method retries.
    ("POST", 429, False, True),
    ("POST", 503, False, True),
    ("GET", 429, False, True),
    ("GET", 503, False, True),
    ("DELETE", 429, False, True),
    ("PATCH", 503, False, True),
    # These may come after execution: only idempotent methods, or POST when allowed.
    ("GET", 500, False, True),
    ("GET", 502, False, True),
    ("GET", 504, False, True),
    ("DELETE", 500, False, True),
    ("DELETE", 502, False, True),
    ("DELETE", 504, False, True),
    ("PATCH", 500, False, True),
    ("PATCH", 502, False, True),
    ("PATCH", 504, False, True),
    ("POST", 500, False, False),
    ("POST", 502, False, False),
    ("POST", 504, False, False),
    ("POST", 500, True, True),
    ("POST", 502, True, True),
    ("POST", 504, True, True),
    # Client errors never retry.
    ("GET", 400, False, False),
    ("GET", 404, False, False),
    ("GET", 422, False, False),
    ("POST", 400, True, False),
    ("POST", 404, True, False),
    ("POST", 422, True, False),
    ("POST", 401, False, False),
    ("GET", 501, False, False),
    ("GET", 200, False, False),
]


@pytest.mark.parametrize(
    ("method", "status", "allow_post", "expected"),
    [
        pytest.param(*row, id=f"{row[0]}-{row[1]}-{'post-allowed' if row[2] else 'post-not-allowed'}")
        for row in RETRY_DECISIONS
    ],
)
def test_is_retry(method, status, allow_post, expected):
    assert policy(allow_post=allow_post).is_retry(method, status) is expected


@pytest.mark.parametrize("method", ["get", "post"])
def test_is_retry_lower_case_method(method):
    assert policy().is_retry(method, 502) is (method == "get")


# ---------------------------------------------------------------------------------------------
# Errors without a response
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ReadTimeoutError(None, RUN_ONCE_PATH, "Read timed out."), id="read-timeout"),
        pytest.param(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), id="connection-reset"),
    ],
)
def test_read_error_post_not_retried(error):
    with pytest.raises(type(error)):
        policy(allow_post=False).increment("POST", RUN_ONCE_PATH, error=error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ReadTimeoutError(None, "/api/4.0/login", "Read timed out."), id="read-timeout"),
        pytest.param(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), id="connection-reset"),
    ],
)
def test_read_error_post_allowed(error):
    retry = policy(allow_post=True).increment("POST", "/api/4.0/login", error=error)

    assert len(retry.history) == 1


def test_read_error_get_retried():
    error = ReadTimeoutError(None, "/api/4.0/looks/12", "Read timed out.")

    retry = policy(allow_post=False).increment("GET", "/api/4.0/looks/12", error=error)

    assert retry.read == 4


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ConnectTimeoutError("Connect timed out."), id="connect-timeout"),
        pytest.param(NewConnectionError(None, "Connection refused"), id="connection-refused"),
    ],
)
def test_connect_error_post_retried(error):
    retry = policy(allow_post=False).increment("POST", RUN_ONCE_PATH, error=error)

    assert len(retry.history) == 1
    assert retry.connect == 4


def test_other_error_not_retried():
    with pytest.raises(MaxRetryError):
        policy().increment("GET", "/api/4.0/looks/12", error=OSError("unexpected"))


def test_retries_exhausted():
    retry = policy(max_retries=2)
    retry = retry.increment("POST", RUN_ONCE_PATH, response=response(429))
    retry = retry.increment("POST", RUN_ONCE_PATH, response=response(429))

    with pytest.raises(MaxRetryError):
        retry.increment("POST", RUN_ONCE_PATH, response=response(429))


# ---------------------------------------------------------------------------------------------
# Waiting: Retry-After and backoff
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("5", 5, id="below-cap"),
        pytest.param("60", 60, id="at-cap"),
        pytest.param("3600", 60, id="above-cap"),
        pytest.param("0", 0, id="zero"),
    ],
)
def test_retry_after_capped(header, expected):
    retry = policy(retry_after_max=60.0)

    assert retry.get_retry_after(response(429, {"Retry-After": header})) == expected


def test_retry_after_cap_survives_increment():
    retry = policy(retry_after_max=7.0)

    retry = retry.increment("POST", RUN_ONCE_PATH, response=response(503))

    assert retry.retry_after_max == 7.0
    assert retry.get_retry_after(response(503, {"Retry-After": "120"})) == 7.0


def test_retry_after_sleep_capped(monkeypatch):
    slept = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)

    policy(retry_after_max=4.0).sleep(response(429, {"Retry-After": "900"}))

    assert slept == [4.0]


def backoff_sequence(retry, count):
    delays = []
    for _ in range(count):
        retry = retry.increment("GET", "/api/4.0/looks/12", response=response(503))
        delays.append(retry.get_backoff_time())
    return delays


def test_backoff_none_before_retry():
    assert policy().get_backoff_time() == 0.0


def test_backoff_grows_and_caps():
    retry = LookerRetry(total=10, status=10, backoff_factor=0.5, backoff_max=5.0, backoff_jitter=0.0)

    delays = backoff_sequence(retry, 7)

    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999], ids=["no-jitter", "half-jitter", "full-jitter"])
def test_backoff_jitter_bounded(monkeypatch, draw):
    monkeypatch.setattr(retry_module.random, "random", lambda: draw)
    retry = policy(max_retries=10, backoff_factor=1.0, backoff_max=8.0)

    delays = backoff_sequence(retry, 6)

    expected = [min(8.0, 2**attempt + draw) for attempt in range(6)]
    assert delays == pytest.approx(expected)
    assert max(delays) <= 8.0


def test_backoff_sleep_capped(monkeypatch):
    slept = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", slept.append)
    retry = policy(max_retries=10, backoff_factor=1.0, backoff_max=3.0)
    for _ in range(5):
        retry = retry.increment("GET", "/api/4.0/looks/12", response=response(502))

    retry.sleep(response(502))

    assert len(slept) == 1
    assert slept[0] <= 3.0


# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def retry_logger(caplog) -> logging.Logger:
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    return logging.getLogger(LOGGER_NAME)


def retry_records(caplog):
    return [record for record in caplog.records if record.name == LOGGER_NAME]


def test_log_each_retry(caplog, retry_logger):
    retry = policy(logger=retry_logger)

    retry = retry.increment("POST", RUN_ONCE_PATH + "?fields=id", response=response(429))
    retry.increment("POST", RUN_ONCE_PATH, response=response(503))

    first, second = retry_records(caplog)
    assert first.levelno == logging.WARNING
    assert "POST" in first.getMessage()
    assert RUN_ONCE_PATH in first.getMessage()
    assert "fields=id" not in first.getMessage()
    assert "(retry 1)" in first.getMessage()
    assert "answer 429" in first.getMessage()
    assert "(retry 2)" in second.getMessage()
    assert "answer 503" in second.getMessage()


def test_log_retry_after(caplog, retry_logger):
    retry = policy(logger=retry_logger, retry_after_max=60.0)

    retry.increment("GET", "/api/4.0/looks/12", response=response(429, {"Retry-After": "3600"}))

    (record,) = retry_records(caplog)
    assert "Retry-After '3600'" in record.getMessage()
    assert "at most 60 s" in record.getMessage()


def test_log_connect_error(caplog, retry_logger):
    retry = policy(logger=retry_logger)

    retry.increment("POST", RUN_ONCE_PATH, error=NewConnectionError(None, "Connection refused"))

    (record,) = retry_records(caplog)
    message = record.getMessage()
    assert "POST" in message
    assert RUN_ONCE_PATH in message
    assert "(retry 1)" in message
    assert "NewConnectionError" in message


def test_log_none_when_not_retried(caplog, retry_logger):
    retry = policy(logger=retry_logger)

    with pytest.raises(ReadTimeoutError):
        retry.increment("POST", RUN_ONCE_PATH, error=ReadTimeoutError(None, RUN_ONCE_PATH, "Read timed out."))

    assert retry_records(caplog) == []


def test_logger_kept_by_new(retry_logger):
    retry = policy(logger=retry_logger)

    assert retry.new().logger is retry_logger


# ---------------------------------------------------------------------------------------------
# Through requests, against a local server
# ---------------------------------------------------------------------------------------------


class ScriptedHandler(BaseHTTPRequestHandler):
    """Respond to each request with the next status in the server's script and count requests by method."""

    def _respond(self) -> None:
        server = self.server
        with server.lock:
            server.counts[self.command] = server.counts.get(self.command, 0) + 1
            status = server.script.pop(0) if server.script else 200
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"id": "1"}' if status == 200 else b'{"message": "failed"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _respond
    do_POST = _respond

    def log_message(self, format, *args):  # noqa: A002 - the name is fixed by BaseHTTPRequestHandler
        pass


@pytest.fixture
def scripted_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    server.lock = threading.Lock()
    server.counts = {}
    server.script = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def session_for(server, *, allow_post):
    session = requests.Session()
    session.trust_env = False
    retry = policy(allow_post=allow_post, max_retries=3, backoff_factor=0.0, backoff_max=0.0)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_post_5xx_sent_once(scripted_server, status):
    scripted_server.script = [status, 200]
    session, base = session_for(scripted_server, allow_post=False)

    with session:
        result = session.post(base + RUN_ONCE_PATH, json={"name": "x"}, timeout=5)

    assert result.status_code == status
    assert scripted_server.counts == {"POST": 1}


@pytest.mark.parametrize("status", [429, 503])
def test_server_post_rejected_retried(scripted_server, status):
    scripted_server.script = [status, status, 200]
    session, base = session_for(scripted_server, allow_post=False)

    with session:
        result = session.post(base + RUN_ONCE_PATH, json={"name": "x"}, timeout=5)

    assert result.status_code == 200
    assert scripted_server.counts == {"POST": 3}


def test_server_get_5xx_retried(scripted_server):
    scripted_server.script = [502, 500, 200]
    session, base = session_for(scripted_server, allow_post=False)

    with session:
        result = session.get(base + "/api/4.0/looks/12", timeout=5)

    assert result.status_code == 200
    assert scripted_server.counts == {"GET": 3}


def test_server_retries_exhausted(scripted_server):
    scripted_server.script = [503] * 10
    session, base = session_for(scripted_server, allow_post=False)

    with session:
        result = session.get(base + "/api/4.0/looks/12", timeout=5)

    assert result.status_code == 503
    assert scripted_server.counts == {"GET": 4}
