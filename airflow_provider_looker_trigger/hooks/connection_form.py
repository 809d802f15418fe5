"""The Looker connection form in the Airflow UI, and the messages of its Test button.

``CONN_FIELDS`` and ``UI_FIELD_BEHAVIOUR`` have the shape of the ``conn-fields`` and
``ui-field-behaviour`` entries of a connection type in provider info, which Airflow 3.2 and newer read
without importing the hook. Airflow stores each conn-field's value in the connection's extra under the
field's own name (``timeout``, ``verify``, ``proxies``), which are the extras the hook reads.

This module imports neither requests nor wtforms at module level, so provider discovery stays cheap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow_provider_looker_trigger.hooks.connection import LookerConnectionSettings

CONNECTION_TYPE = "looker"
EXAMPLE_URL = "https://mycompany.cloud.looker.com"
API_VERSION = "4.0"

# Values of the "conn-fields" entry: extra fields, stored in Connection.extra under these names.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Seconds to wait for each answer from Looker. Empty means 120.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
    },
    "verify": {
        "label": "TLS verification",
        "description": (
            "true (the default) checks Looker's certificate against the system's certificate authorities; "
            "the path of a CA bundle (PEM) readable on every worker checks it against that bundle, for a "
            "private certificate authority; false turns the check off for this connection."
        ),
        "schema": {"type": ["string", "null"]},
    },
    "proxies": {
        "label": "Proxy",
        "description": (
            "Proxy URL for requests to Looker, e.g. http://proxy.example.com:3128, or a JSON object per "
            'scheme such as {"https": "http://proxy.example.com:3128"}. Empty means the HTTPS_PROXY and '
            "NO_PROXY environment variables apply."
        ),
        "schema": {"type": ["string", "null"]},
    },
}

# Values of the "ui-field-behaviour" entry. Port stays visible: instances hosted on their own servers
# may serve the API on port 19999, and connections written as URI or JSON often carry the port in Port.
# A hidden Port would still be applied while the form gives no way to see or clear it.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema"],
    "relabeling": {
        "host": "Looker URL",
        "login": "Client ID",
        "password": "Client Secret",
    },
    "placeholders": {
        "host": EXAMPLE_URL,
        "port": "empty, or 19999 if Looker serves its API there",
        "login": "API client id (Admin > Users > Edit keys)",
        "password": "API client secret",
        "timeout": "120",
        "verify": "true, false or /etc/ssl/certs/looker-ca.pem",
        "proxies": "http://proxy.example.com:3128",
    },
}


def legacy_field_behaviour() -> dict[str, Any]:
    """Return ``UI_FIELD_BEHAVIOUR`` in the form of ``BaseHook.get_ui_field_behaviour`` (snake_case keys)."""
    return {
        "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
        "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
        "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
    }


# Messages of the Test button


def success_message(settings: LookerConnectionSettings, versions: Any, user: Any) -> str:
    """Return the Test button's message after login, ``GET /versions`` and ``GET /user`` all worked."""
    release = versions.get("looker_release_version") if isinstance(versions, dict) else None
    user = user if isinstance(user, dict) else {}
    name = user.get("display_name") or user.get("email") or "?"
    release_text = f"Looker {release}" if release else "Looker"
    return f"Connected to {release_text} at {settings.base_url} (API {API_VERSION}) as API user {name} (id {user.get('id', '?')})."


def versions_problem(settings: LookerConnectionSettings, versions: Any) -> str | None:
    """Return why a ``GET /versions`` response shows that the URL is not a usable Looker, or None if it is."""
    if not isinstance(versions, dict) or not isinstance(versions.get("supported_versions"), list):
        return not_looker_message(settings, "responded to GET /api/4.0/versions without Looker's list of API versions")
    offered = [item.get("version") for item in versions["supported_versions"] if isinstance(item, dict)]
    if API_VERSION not in offered:
        listed = ", ".join(str(version) for version in offered) or "none"
        return (
            f"Looker at {settings.base_url} does not offer API {API_VERSION} (it lists: {listed}). This provider "
            "uses API 4.0, the only API version of Looker 23.18 and newer: upgrade the instance or use another Looker URL."
        )
    return None


def not_looker_message(settings: LookerConnectionSettings, description: str) -> str:
    """Return the message for a server that responds, but not as the Looker API does."""
    return (
        f"{settings.base_url} {description}, so it does not look like a Looker API. Set Looker URL to the "
        f"address you open Looker at, e.g. {EXAMPLE_URL}; instances hosted on your own servers may serve the "
        "API on port 19999 (put it in Port)."
    )


def failure_message(err: BaseException, settings: LookerConnectionSettings | None, conn_id: str) -> str:
    """Return the Test button's message for an error raised while testing the connection.

    Each message names the field or extra to change. ``settings`` is None when the connection itself is
    invalid, in which case the error's own message already names the field.
    """
    from airflow_provider_looker_trigger.exceptions import (
        LookerApiError,
        LookerAuthenticationError,
        LookerRequestError,
    )

    if settings is None:
        return str(err)
    if isinstance(err, LookerRequestError):
        return _request_failure_message(err, settings)
    if isinstance(err, LookerAuthenticationError):
        return _login_failure_message(err, settings, conn_id)
    if isinstance(err, LookerApiError):
        return _answer_failure_message(err, settings)
    return f"Testing connection {conn_id!r} to {settings.base_url} failed: {err}"


def _login_failure_message(err: Any, settings: LookerConnectionSettings, conn_id: str) -> str:
    if not isinstance(err.body, dict):
        description = f"responded with {err.status} to POST /api/4.0/login" + (f" and {err.excerpt!r}" if err.excerpt else "")
        return not_looker_message(settings, description)
    return (
        f"Looker at {settings.base_url} rejected the API credentials of connection {conn_id!r} (HTTP {err.status} "
        f"to POST /api/4.0/login; Looker answers 404 to an unknown client id or secret). Check Client ID and "
        "Client Secret: they are an API key of a Looker user (Admin > Users > Edit keys), not a user name and password."
    )


def _answer_failure_message(err: Any, settings: LookerConnectionSettings) -> str:
    if 300 <= err.status < 400:
        return (
            f"{settings.base_url} redirected {err.method} {err.path} ({err.hint.strip()}). The Looker API does not "
            "redirect, so Looker URL is probably the address of a web page or an http:// address of an https:// site."
        )
    if not isinstance(err.body, dict):
        description = f"responded with {err.status} to {err.method} {err.path}"
        description += f" and {err.excerpt!r}" if err.excerpt else " and a body that is not JSON"
        return not_looker_message(settings, description)
    return f"{err}"


def _request_failure_message(err: Any, settings: LookerConnectionSettings) -> str:
    """Describe a request that got no HTTP response, from the requests exception it was raised from."""
    import requests
    from urllib3.exceptions import NameResolutionError, NewConnectionError, ReadTimeoutError

    cause = err.__cause__
    reason = _innermost(cause) if cause is not None else err
    where = settings.base_url

    if isinstance(cause, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in str(reason) or "certificate verify failed" in str(reason):
            return (
                f"TLS certificate verification failed for {where}: {_describe(reason)}. If Looker uses a "
                "certificate from a private certificate authority, set TLS verification (the verify extra) to "
                "the path of that authority's CA bundle (PEM) on the workers. false turns the check off, which "
                "exposes the client secret to anyone who can intercept the traffic."
            )
        return (
            f"The TLS handshake with {where} failed: {_describe(reason)}. Check that Looker URL uses https:// only "
            "for a server that speaks TLS on that port, and that TLS verification (the verify extra) names a valid CA bundle."
        )
    if isinstance(cause, requests.exceptions.ProxyError):
        return (
            f"The proxy {_proxies_text(settings)} failed for {where}: {_describe(reason)}. Check the Proxy field "
            "(the proxies extra): the proxy's host, port and credentials, or leave it empty to connect directly."
        )
    if isinstance(reason, NameResolutionError):
        return (
            f"The host name {urlsplit(where).hostname!r} of Looker URL {where} could not be resolved: "
            f"{_describe(reason)}. Check its spelling, e.g. {EXAMPLE_URL}, and this machine's DNS settings."
        )
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return (
            f"Connecting to {where} timed out after {settings.timeout:g} s. Check Looker URL and Port, and that "
            "a firewall lets this machine reach Looker (or set the Proxy field)."
        )
    if isinstance(reason, (NewConnectionError, ConnectionRefusedError)):
        return (
            f"Could not connect to {where}: {_describe(reason)}. Check Looker URL and Port, e.g. {EXAMPLE_URL}, "
            "and that Looker is reachable from this machine."
        )
    # With retries used up, requests reports a read timeout as a ConnectionError around urllib3's ReadTimeoutError.
    if isinstance(cause, requests.exceptions.Timeout) or isinstance(reason, ReadTimeoutError):
        return (
            f"Looker at {where} did not respond within {settings.timeout:g} s. Raise Timeout (the timeout extra) "
            "if Looker is slow."
        )
    return f"The connection to {where} failed: {err}"


def _innermost(err: BaseException) -> BaseException:
    """Return the exception at the bottom of a requests or urllib3 error's wrapping."""
    from urllib3.exceptions import MaxRetryError

    current = err
    for _ in range(6):
        inner = current.args[0] if current.args else None
        if isinstance(current, MaxRetryError) and current.reason is not None:
            current = current.reason
        elif isinstance(inner, BaseException):
            current = inner
        else:
            break
    return current


def _describe(reason: BaseException) -> str:
    # urllib3 starts connection errors with the connection object, e.g. "HTTPConnection(host=..., port=1): ",
    # which repeats the URL the message already names.
    text = re.sub(r"^(<[^>]*>|\w*Connection\([^)]*\)): ", "", str(reason))
    return text or type(reason).__name__


def _proxies_text(settings: LookerConnectionSettings) -> str:
    """Return the configured proxy addresses without credentials, for a message."""
    hosts = []
    for url in dict.fromkeys(settings.proxies.values()):
        parts = urlsplit(url)
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        hosts.append(f"{parts.scheme}://{parts.hostname}{port}")
    return ", ".join(hosts) or "from the HTTPS_PROXY environment variable"
