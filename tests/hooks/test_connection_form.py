"""Tests of the Looker connection form metadata and of the hook's Test button (``test_connection``).

The Test button runs against the emulator and against small servers on 127.0.0.1 started here: an
HTML page, a server with a foreign API, a TLS front end with a self-signed certificate, a port that
accepts connections but never answers, and closed ports.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError

import airflow
from airflow_provider_looker_trigger import get_provider_info
from airflow_provider_looker_trigger.exceptions import LookerRequestError
from airflow_provider_looker_trigger.hooks.connection import LookerConnectionSettings
from airflow_provider_looker_trigger.hooks.connection_form import (
    CONN_FIELDS,
    UI_FIELD_BEHAVIOUR,
    failure_message,
)
from airflow_provider_looker_trigger.hooks.looker import LookerHook

AIRFLOW_PACKAGE = Path(airflow.__file__).parent
CONN_ID = "looker_form_test"

# ---------------------------------------------------------------------------------------------
# Form metadata
# ---------------------------------------------------------------------------------------------


def _connection_type_schema() -> dict:
    schema = json.loads((AIRFLOW_PACKAGE / "provider.yaml.schema.json").read_text())
    return schema["properties"]["connection-types"]["items"]


def _looker_entry() -> dict:
    entries = get_provider_info().get("connection-types", [])
    return next(entry for entry in entries if entry["connection-type"] == "looker")


def test_form_matches_provider_schema():
    entry = {
        "connection-type": "looker",
        "hook-class-name": "airflow_provider_looker_trigger.hooks.looker.LookerHook",
        "conn-fields": CONN_FIELDS,
        "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
    }

    jsonschema.validate(entry, _connection_type_schema())


def test_form_fields_are_hook_extras():
    from airflow_provider_looker_trigger.hooks.connection import KNOWN_EXTRAS

    assert sorted(CONN_FIELDS) == sorted(KNOWN_EXTRAS)


def test_form_relabels_standard_fields():
    assert UI_FIELD_BEHAVIOUR["relabeling"] == {"host": "Looker URL", "login": "Client ID", "password": "Client Secret"}
    assert UI_FIELD_BEHAVIOUR["hidden-fields"] == ["schema"]
    assert UI_FIELD_BEHAVIOUR["placeholders"]["host"] == "https://mycompany.cloud.looker.com"


_DECLARED = "conn-fields" in _looker_entry()


@pytest.mark.xfail(
    not _DECLARED,
    strict=True,
    reason="get_provider_info() does not yet declare the connection form (conn-fields, ui-field-behaviour)",
)
def test_provider_info_declares_form():
    entry = _looker_entry()

    assert entry.get("conn-fields") == CONN_FIELDS
    assert entry.get("ui-field-behaviour") == UI_FIELD_BEHAVIOUR
    assert entry.get("hook-name")


def test_legacy_field_behaviour_schema():
    schema = json.loads((AIRFLOW_PACKAGE / "customized_form_field_behaviours.schema.json").read_text())
    behaviour = LookerHook.get_ui_field_behaviour()

    jsonschema.validate(behaviour, schema)
    assert behaviour["relabeling"]["host"] == "Looker URL"
    assert behaviour["hidden_fields"] == ["schema"]


def test_legacy_form_widgets():
    pytest.importorskip("wtforms")

    widgets = LookerHook.get_connection_form_widgets()

    assert sorted(widgets) == ["proxies", "timeout", "verify"]
    assert widgets["timeout"].args[0] == "Timeout (seconds)"
    assert widgets["verify"].field_class.__name__ == "StringField"


def test_form_module_imports_cheaply():
    code = (
        "import sys, airflow_provider_looker_trigger.hooks.connection_form; "
        "print(sorted(name for name in ('requests', 'wtforms', 'urllib3') if name in sys.modules))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Servers on 127.0.0.1
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _handler(routes: dict[str, tuple[int, str, str]], default: tuple[int, str, str]) -> type[BaseHTTPRequestHandler]:
    """Return a handler answering each path with (status, content type, body); any other path gets ``default``."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, content_type, body = routes.get(self.path, default)
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            data = body.encode()
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "https://looker.example.com/login")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args) -> None:
            pass

    return Handler


HTML_PAGE = (200, "text/html", "<html><body><h1>Welcome to the intranet</h1></body></html>")
HTML_404 = (404, "text/html", "<html><body><h1>404 Not Found</h1></body></html>")
GOOD_VERSIONS = (200, "application/json", json.dumps({"looker_release_version": "26.12", "supported_versions": [{"version": "4.0"}]}))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _silent_port() -> Iterator[int]:
    """Yield a port that accepts TCP connections (through the listen backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    """Create a CA and a server certificate for 127.0.0.1 signed by it; return the PEM file paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Looker form test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server-key.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def _tls_front(backend_port: int, certificates: dict[str, Path]) -> Iterator[int]:
    """Yield the port of a TLS server on 127.0.0.1 that forwards each connection to ``backend_port``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve_one(client: socket.socket) -> None:
        try:
            tls = context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()
            return
        backend = socket.create_connection(("127.0.0.1", backend_port))
        upstream = threading.Thread(target=_pump, args=(tls, backend), daemon=True)
        upstream.start()
        _pump(backend, tls)
        upstream.join(timeout=5)
        tls.close()
        backend.close()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(10)
            threading.Thread(target=serve_one, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


# ---------------------------------------------------------------------------------------------
# Test button
# ---------------------------------------------------------------------------------------------


def _use_connection(monkeypatch, host: str, *, login="client-id", password="client-secret", **extra) -> None:
    conn = {"conn_type": "looker", "host": host, "login": login, "password": password, "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))


def _emulator_connection(monkeypatch, emulator, *, host=None, **extra) -> None:
    _use_connection(
        monkeypatch,
        host or emulator.url,
        login=emulator.client_id,
        password=emulator.client_secret,
        **extra,
    )


def _test_button() -> tuple[bool, str]:
    return LookerHook(CONN_ID).test_connection()


def test_button_success(looker_emulator, monkeypatch):
    _emulator_connection(monkeypatch, looker_emulator)

    ok, message = _test_button()

    assert ok, message
    assert message.startswith(f"Connected to Looker 26.")
    assert looker_emulator.url in message
    assert "as API user" in message


def test_button_logs_in_reads_logs_out(looker_emulator, monkeypatch):
    _emulator_connection(monkeypatch, looker_emulator)

    _test_button()

    operations = [call.operation for call in looker_emulator.calls]
    assert operations == ["versions", "login", "me", "logout"]


def test_button_wrong_secret(looker_emulator, monkeypatch):
    _use_connection(monkeypatch, looker_emulator.url, login=looker_emulator.client_id, password="wrong-secret")

    ok, message = _test_button()

    assert not ok
    assert "rejected the API credentials" in message
    assert "Client ID and Client Secret" in message
    assert "wrong-secret" not in message


def test_button_user_read_fails_logs_out(looker_emulator, monkeypatch):
    from airflow_provider_looker_trigger.testing import Fault

    _emulator_connection(monkeypatch, looker_emulator)
    looker_emulator.add_fault(Fault(operation="me", status=500))

    ok, message = _test_button()

    assert not ok
    assert "500" in message
    assert looker_emulator.calls[-1].operation == "logout"


def test_button_connection_refused(monkeypatch):
    port = _closed_port()
    _use_connection(monkeypatch, f"http://127.0.0.1:{port}")

    started = time.monotonic()
    ok, message = _test_button()
    elapsed = time.monotonic() - started

    assert not ok
    assert message.startswith(f"Could not connect to http://127.0.0.1:{port}")
    assert "Check Looker URL and Port" in message
    assert elapsed < 5, "the Test button retried a refused connection"


@pytest.mark.parametrize(
    ("routes", "default", "expected"),
    [
        pytest.param({}, HTML_PAGE, "responded with 200 to GET /api/4.0/versions and 'Welcome to the intranet'", id="html-page"),
        pytest.param({}, HTML_404, "responded with 404 to GET /api/4.0/versions and '404 Not Found'", id="html-404"),
        pytest.param(
            {}, (200, "application/json", '{"status": "ok"}'), "without Looker's list of API versions", id="other-json-api"
        ),
        pytest.param(
            {"/api/4.0/versions": GOOD_VERSIONS}, HTML_404, "responded with 404 to POST /api/4.0/login and '404 Not Found'", id="login-html-404"
        ),
    ],
)
def test_button_not_looker(monkeypatch, routes, default, expected):
    with _http_server(_handler(routes, default)) as port:
        _use_connection(monkeypatch, f"http://127.0.0.1:{port}")
        ok, message = _test_button()

    assert not ok
    assert expected in message
    assert "does not look like a Looker API" in message
    assert "Set Looker URL" in message


def test_button_api_4_missing(monkeypatch):
    versions = json.dumps({"looker_release_version": "22.0", "supported_versions": [{"version": "3.1"}]})
    with _http_server(_handler({"/api/4.0/versions": (200, "application/json", versions)}, HTML_404)) as port:
        _use_connection(monkeypatch, f"http://127.0.0.1:{port}")
        ok, message = _test_button()

    assert not ok
    assert "does not offer API 4.0 (it lists: 3.1)" in message


def test_button_redirect(monkeypatch):
    with _http_server(_handler({}, (301, "text/html", ""))) as port:
        _use_connection(monkeypatch, f"http://127.0.0.1:{port}")
        ok, message = _test_button()

    assert not ok
    assert "redirected GET /api/4.0/versions" in message
    assert "https://looker.example.com/login" in message


def test_button_untrusted_certificate(looker_emulator, monkeypatch, certificates):
    with _tls_front(looker_emulator.port, certificates) as port:
        _emulator_connection(monkeypatch, looker_emulator, host=f"https://127.0.0.1:{port}")
        ok, message = _test_button()

    assert not ok
    assert message.startswith(f"TLS certificate verification failed for https://127.0.0.1:{port}")
    assert "TLS verification (the verify extra)" in message
    assert "CA bundle" in message


def test_button_private_ca_bundle(looker_emulator, monkeypatch, certificates):
    with _tls_front(looker_emulator.port, certificates) as port:
        _emulator_connection(monkeypatch, looker_emulator, host=f"https://127.0.0.1:{port}", verify=str(certificates["ca"]))
        ok, message = _test_button()

    assert ok, message
    assert f"at https://127.0.0.1:{port}" in message


def test_ca_bundle_beats_environment(looker_emulator, monkeypatch, certificates, tmp_path):
    # requests replaces a session's verify setting with REQUESTS_CA_BUNDLE unless each request names it.
    other_bundle = tmp_path / "other-ca.pem"
    other_bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_bundle))
    with _tls_front(looker_emulator.port, certificates) as port:
        _emulator_connection(monkeypatch, looker_emulator, host=f"https://127.0.0.1:{port}", verify=str(certificates["ca"]))
        ok, message = _test_button()

    assert ok, message


def test_button_https_to_plain_http(looker_emulator, monkeypatch):
    _emulator_connection(monkeypatch, looker_emulator, host=f"https://127.0.0.1:{looker_emulator.port}")

    ok, message = _test_button()

    assert not ok
    assert message.startswith("The TLS handshake with")
    assert "uses https:// only for a server that speaks TLS" in message


def test_button_proxy_unreachable(looker_emulator, monkeypatch):
    proxy_port = _closed_port()
    _emulator_connection(monkeypatch, looker_emulator, proxies=f"http://user:proxy-password@127.0.0.1:{proxy_port}")

    ok, message = _test_button()

    assert not ok
    assert message.startswith(f"The proxy http://127.0.0.1:{proxy_port} failed")
    assert "Check the Proxy field (the proxies extra)" in message
    assert "proxy-password" not in message


def test_button_read_timeout(monkeypatch):
    with _silent_port() as port:
        _use_connection(monkeypatch, f"http://127.0.0.1:{port}", timeout=0.3)
        ok, message = _test_button()

    assert not ok
    assert message.startswith(f"Looker at http://127.0.0.1:{port} did not respond within 0.3 s")
    assert "Raise Timeout (the timeout extra)" in message


def test_button_invalid_connection(monkeypatch):
    _use_connection(monkeypatch, "https://looker.example.com/api/3.1")

    ok, message = _test_button()

    assert not ok
    assert "API 3.x was removed" in message


def test_button_keeps_retry_setting(looker_emulator, monkeypatch):
    _emulator_connection(monkeypatch, looker_emulator)
    hook = LookerHook(CONN_ID, max_retries=4)

    hook.test_connection()

    assert hook.max_retries == 4


def test_message_unresolvable_host():
    settings = LookerConnectionSettings(base_url="https://mycompany.cloud.lookr.com", client_id="id", client_secret="secret")
    resolution = NameResolutionError("mycompany.cloud.lookr.com", None, socket.gaierror(-2, "Name or service not known"))
    cause = requests.exceptions.ConnectionError(MaxRetryError(None, "/api/4.0/versions", resolution))
    error = LookerRequestError("Could not connect", method="GET", path="/versions", sent=False)
    error.__cause__ = cause

    message = failure_message(error, settings, CONN_ID)

    assert message.startswith("The host name 'mycompany.cloud.lookr.com' of Looker URL")
    assert "Check its spelling" in message
