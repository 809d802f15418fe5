"""Tests of how the Looker connection's Host, Port and extras are read and checked."""

from __future__ import annotations

import pytest

from airflow.providers.common.compat.sdk import redact

from airflow_provider_looker_trigger.exceptions import LookerConfigurationError
from airflow_provider_looker_trigger.hooks.connection import (
    DEFAULT_TIMEOUT,
    LookerConnectionSettings,
    parse_base_url,
    parse_proxies,
    parse_timeout,
    parse_verify,
)

# ---------------------------------------------------------------------------------------------
# parse_base_url
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        pytest.param("mycompany.cloud.looker.com", None, "https://mycompany.cloud.looker.com", id="no-scheme"),
        pytest.param("https://mycompany.cloud.looker.com", None, "https://mycompany.cloud.looker.com", id="https"),
        pytest.param("http://127.0.0.1", None, "http://127.0.0.1", id="http"),
        pytest.param("  https://mycompany.cloud.looker.com  ", None, "https://mycompany.cloud.looker.com", id="spaces"),
        pytest.param("HTTPS://MyCompany.Looker.COM", None, "https://mycompany.looker.com", id="upper-case"),
        pytest.param("https://looker.example.com:19999", None, "https://looker.example.com:19999", id="port-in-host"),
        pytest.param("looker.example.com:19999", None, "https://looker.example.com:19999", id="port-no-scheme"),
        pytest.param("https://looker.example.com", 19999, "https://looker.example.com:19999", id="port-field"),
        pytest.param("looker.example.com", 443, "https://looker.example.com:443", id="port-field-no-scheme"),
        pytest.param("https://looker.example.com:19999", 19999, "https://looker.example.com:19999", id="ports-equal"),
        pytest.param("https://looker.example.com/", None, "https://looker.example.com", id="trailing-slash"),
        pytest.param("https://looker.example.com/api/4.0", None, "https://looker.example.com", id="api-suffix"),
        pytest.param("https://looker.example.com/api/4.0/", None, "https://looker.example.com", id="api-suffix-slash"),
        pytest.param(
            "https://looker.example.com:19999/api/4.0", None, "https://looker.example.com:19999", id="port-and-api-suffix"
        ),
        pytest.param("http://[::1]:8443", None, "http://[::1]:8443", id="ipv6"),
        pytest.param("http://127.0.0.1:8080", None, "http://127.0.0.1:8080", id="local-test-server"),
    ],
)
def test_base_url_accepts(host, port, expected):
    assert parse_base_url(host, port) == expected


@pytest.mark.parametrize("version", ["3.0", "3.1"])
@pytest.mark.parametrize("suffix", ["", "/"], ids=["no-slash", "slash"])
def test_base_url_removed_api(version, suffix):
    host = f"https://looker.example.com/api/{version}{suffix}"

    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url(host, conn_id="looker_sales")

    message = str(info.value)
    assert "3.x was removed" in message
    assert "uses API 4.0" in message
    assert f"API {version}" in message
    assert "'looker_sales'" in message


@pytest.mark.parametrize("path", ["/api/4.1", "/api/5.0", "/api/latest", "/api/4.0/login"])
def test_base_url_other_api_path(path):
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url(f"https://looker.example.com{path}")

    message = str(info.value)
    assert repr(path) in message
    assert "uses API 4.0" in message


@pytest.mark.parametrize(
    "path",
    [
        "/dashboards/73",
        "/dashboards/thelook::business_pulse",
        "/looks/12",
        "/explore/thelook/orders",
        "/browse",
        "/folders/5",
        "/admin/schedules",
        "/embed/dashboards/73",
        "/login",
    ],
)
def test_base_url_looker_page(path):
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url(f"https://looker.example.com{path}")

    message = str(info.value)
    assert "address of a Looker page" in message
    assert "https://looker.example.com" in message


def test_base_url_ports_differ():
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url("https://looker.example.com:19999", 443)

    message = str(info.value)
    assert "19999" in message
    assert "443" in message
    assert "keep one" in message


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("https://client:secret@looker.example.com", id="user-and-password"),
        pytest.param("https://client@looker.example.com", id="user"),
        pytest.param("client:secret@looker.example.com", id="no-scheme"),
    ],
)
def test_base_url_userinfo(host):
    with pytest.raises(LookerConfigurationError, match="client id in Login"):
        parse_base_url(host)


def test_base_url_userinfo_not_echoed():
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url("https://client:hunter2-secret@looker.example.com")

    assert "hunter2-secret" not in str(info.value)


@pytest.mark.parametrize("host", [None, "", "   "], ids=["none", "empty", "spaces"])
def test_base_url_empty(host):
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url(host, conn_id="looker_sales")

    message = str(info.value)
    assert "'looker_sales' has no host" in message


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param("ftp://looker.example.com", "scheme 'ftp'", id="ftp"),
        pytest.param("ws://looker.example.com", "scheme 'ws'", id="websocket"),
        pytest.param("https://", "invalid host", id="scheme-only"),
        pytest.param("https:///api/4.0", "invalid host", id="no-host-with-path"),
        pytest.param("https://looker.example.com:port", "invalid host", id="port-not-number"),
        pytest.param("https://looker.example.com:99999", "invalid host", id="port-out-of-range"),
        pytest.param("http://[::1", "invalid host", id="open-bracket"),
        pytest.param("https://looker.example.com/?x=1", "query or fragment", id="query"),
        pytest.param("https://looker.example.com/#top", "query or fragment", id="fragment"),
    ],
)
def test_base_url_garbage(host, expected):
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url(host)

    message = str(info.value)
    assert expected in message
    assert repr(host.strip()) in message


def test_settings_api_url():
    settings = LookerConnectionSettings(base_url="https://looker.example.com", client_id="id", client_secret="s3cr3t")

    assert settings.api_url == "https://looker.example.com/api/4.0"
    assert "s3cr3t" not in repr(settings)


# ---------------------------------------------------------------------------------------------
# parse_timeout
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, DEFAULT_TIMEOUT, id="unset"),
        pytest.param("", DEFAULT_TIMEOUT, id="empty"),
        pytest.param(30, 30.0, id="int"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param("45", 45.0, id="string"),
        pytest.param(" 10.5 ", 10.5, id="string-spaces"),
    ],
)
def test_timeout_accepts(value, expected):
    seconds = parse_timeout(value, conn_id="looker_default")

    assert seconds == expected
    assert isinstance(seconds, float)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0, id="zero"),
        pytest.param(-5, id="negative"),
        pytest.param("abc", id="word"),
        pytest.param("nan", id="nan"),
        pytest.param("inf", id="inf"),
        pytest.param(float("inf"), id="float-inf"),
        pytest.param(True, id="bool"),
        pytest.param([30], id="list"),
        pytest.param({"connect": 5}, id="dict"),
    ],
)
def test_timeout_rejects(value):
    with pytest.raises(LookerConfigurationError) as info:
        parse_timeout(value, conn_id="looker_sales")

    message = str(info.value)
    assert f"invalid timeout {value!r}" in message
    assert "'looker_sales'" in message


# ---------------------------------------------------------------------------------------------
# parse_verify
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, True, id="unset"),
        pytest.param("", True, id="empty"),
        pytest.param(True, True, id="bool-true"),
        pytest.param(False, False, id="bool-false"),
        pytest.param("true", True, id="string-true"),
        pytest.param("True", True, id="string-true-title"),
        pytest.param("false", False, id="string-false"),
        pytest.param("False", False, id="string-false-title"),
        pytest.param(" FALSE ", False, id="string-false-spaces"),
        pytest.param("0", False, id="string-zero"),
        pytest.param("1", True, id="string-one"),
        pytest.param("no", False, id="string-no"),
        pytest.param("yes", True, id="string-yes"),
        pytest.param("off", False, id="string-off"),
    ],
)
def test_verify_flags(value, expected):
    assert parse_verify(value, conn_id="looker_default") is expected


def test_verify_ca_file(tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")

    assert parse_verify(str(bundle), conn_id="looker_default") == str(bundle)


def test_verify_ca_folder(tmp_path):
    assert parse_verify(str(tmp_path), conn_id="looker_default") == str(tmp_path)


def test_verify_missing_path(tmp_path):
    missing = str(tmp_path / "missing-ca.pem")

    with pytest.raises(LookerConfigurationError) as info:
        parse_verify(missing, conn_id="looker_sales")

    message = str(info.value)
    assert f"invalid verify {missing!r}" in message
    assert "'looker_sales'" in message


@pytest.mark.parametrize(
    "value",
    [pytest.param("maybe", id="word"), pytest.param(1, id="int"), pytest.param(["false"], id="list")],
)
def test_verify_rejects(value):
    with pytest.raises(LookerConfigurationError, match="invalid verify"):
        parse_verify(value, conn_id="looker_default")


# ---------------------------------------------------------------------------------------------
# parse_proxies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, {}, id="unset"),
        pytest.param("", {}, id="empty"),
        pytest.param(
            {"https": "http://proxy.example.com:3128"}, {"https": "http://proxy.example.com:3128"}, id="dict"
        ),
        pytest.param(
            '{"https": "http://proxy.example.com:3128", "http": "http://proxy.example.com:3128"}',
            {"https": "http://proxy.example.com:3128", "http": "http://proxy.example.com:3128"},
            id="json-string",
        ),
        pytest.param(
            "http://proxy.example.com:3128",
            {"http": "http://proxy.example.com:3128", "https": "http://proxy.example.com:3128"},
            id="plain-url",
        ),
        pytest.param(
            {"https": "socks5h://proxy.example.com:1080"}, {"https": "socks5h://proxy.example.com:1080"}, id="socks"
        ),
        pytest.param(
            {"https": "http://user:pw@proxy.example.com:3128"},
            {"https": "http://user:pw@proxy.example.com:3128"},
            id="credentials",
        ),
    ],
)
def test_proxies_accepts(value, expected):
    assert parse_proxies(value, conn_id="looker_default") == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('["http://proxy.example.com:3128"]', id="json-list"),
        pytest.param(["http://proxy.example.com:3128"], id="list"),
        pytest.param({"https": 3128}, id="port-number"),
        pytest.param({"https": None}, id="none-value"),
        pytest.param(5, id="int"),
        pytest.param({"https": "ftp://proxy.example.com:21"}, id="ftp-scheme"),
        pytest.param({"https": "proxy.example.com:3128"}, id="no-scheme"),
        pytest.param("not a url", id="words"),
        pytest.param({"https": "http://"}, id="no-host"),
    ],
)
def test_proxies_rejects(value):
    with pytest.raises(LookerConfigurationError) as info:
        parse_proxies(value, conn_id="looker_sales")

    message = str(info.value)
    assert "prox" in message
    assert "'looker_sales'" in message


def test_proxies_password_masked():
    proxy_url = "http://proxyuser:Pr0xy-Passw0rd-7731@proxy.example.com:3128"

    proxies = parse_proxies({"https": proxy_url}, conn_id="looker_default")

    assert "Pr0xy-Passw0rd-7731" not in str(redact(proxy_url))
    assert "Pr0xy-Passw0rd-7731" not in str(redact(proxies))
    assert "proxy.example.com" in str(redact(proxy_url))


def test_proxies_password_masked_json_string():
    proxy_url = "http://proxyuser:J50n-Passw0rd-4412@proxy.example.com:3128"

    parse_proxies(f'{{"https": "{proxy_url}"}}', conn_id="looker_default")

    assert "J50n-Passw0rd-4412" not in str(redact(f"Using proxy {proxy_url}"))


def test_proxies_invalid_message_hides_password():
    with pytest.raises(LookerConfigurationError) as info:
        parse_proxies({"https": "ftp://proxyuser:Ftp-Passw0rd-9924@proxy.example.com:21"}, conn_id="looker_default")

    assert "Ftp-Passw0rd-9924" not in str(info.value)


@pytest.mark.parametrize(
    ("host", "schema", "expected"),
    [
        pytest.param("http://127.0.0.1", None, "http://127.0.0.1", id="no-schema"),
        pytest.param("looker.example.com", "https", "https://looker.example.com", id="schema-as-scheme"),
        pytest.param("http://127.0.0.1", "https", "http://127.0.0.1", id="host-scheme-wins"),
        pytest.param("https://looker.example.com", "api/4.0", "https://looker.example.com/api/4.0", id="api-path"),
        pytest.param("https://looker.example.com/", "/api/3.1/", "https://looker.example.com/api/3.1", id="slashes"),
    ],
)
def test_host_with_schema(host, schema, expected):
    from airflow_provider_looker_trigger.hooks.looker import _host_with_schema

    assert _host_with_schema(host, schema) == expected


def test_uri_path_api_31_rejected(monkeypatch):
    from airflow_provider_looker_trigger.hooks.looker import LookerHook

    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_URI_PATH", "looker://https://client:secret-value@looker.example.com/api/3.1")

    with pytest.raises(LookerConfigurationError, match="API 3.x was removed"):
        LookerHook("looker_uri_path").settings


def test_page_url_hint_keeps_port():
    with pytest.raises(LookerConfigurationError) as info:
        parse_base_url("http://127.0.0.1:46077/dashboards/73")

    assert "http://127.0.0.1:46077." in str(info.value)
