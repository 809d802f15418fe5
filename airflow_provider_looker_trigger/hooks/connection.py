"""Read and check the settings of a Looker connection: URL, credentials, timeout, TLS and proxies."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import mask_secret

from airflow_provider_looker_trigger.exceptions import LookerConfigurationError

API_PREFIX = "/api/4.0"
DEFAULT_TIMEOUT = 120.0
KNOWN_EXTRAS = ("timeout", "verify", "proxies")
_REMOVED_API_VERSIONS = ("3.0", "3.1")
# Path prefixes of Looker pages (not the API) that users paste into Host by mistake.
_UI_PATHS = ("/dashboards", "/looks", "/explore", "/browse", "/folders", "/admin", "/embed", "/login")


@dataclass(frozen=True)
class LookerConnectionSettings:
    """Settings read from an Airflow connection of type ``looker``."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    verify: bool | str = True
    proxies: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX


def parse_base_url(host: str | None, port: int | None = None, *, conn_id: str = "looker_default") -> str:
    """Return the Looker base URL (scheme, host, port) from a connection's Host and Port fields.

    Host may carry a scheme (https is assumed without one), a port, a trailing slash and a pasted
    ``/api/4.0`` suffix. A host that names API 3.0 or 3.1, a Looker page, or another API version is rejected.
    """
    raw = (host or "").strip()
    if not raw:
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has no host: set Host to your Looker URL, e.g. https://mycompany.cloud.looker.com."
        )
    text = raw if "://" in raw else "https://" + raw
    # Messages quote the host without anything before an "@", where a pasted secret would be.
    raw = re.sub(r"//[^/@]*@", "//***@", text) if "@" in text else raw
    try:
        parts = urlsplit(text)
        host_port = parts.port
    except ValueError as err:
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has invalid host {raw!r} ({err}): use the form https://mycompany.cloud.looker.com[:port]."
        ) from None

    if parts.scheme not in ("https", "http"):
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has host {raw!r} with scheme {parts.scheme!r}: use https:// (or http:// for a local test server)."
        )
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has invalid host {raw!r}: give only the Looker URL, with the client id in "
            "Login and the client secret in Password."
        )
    if parts.query or parts.fragment:
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has host {raw!r} with a query or fragment: give only the Looker URL."
        )

    path = parts.path.rstrip("/")
    if path == "/api" or path.startswith("/api/"):
        version = path[len("/api/") :]
        if version in _REMOVED_API_VERSIONS:
            raise LookerConfigurationError(
                f"Connection {conn_id!r} has host {raw!r}, which names Looker API {version}. API 3.x was removed "
                "from Looker; this provider uses API 4.0, so remove the /api/... suffix from Host."
            )
        if version != "4.0":
            raise LookerConfigurationError(
                f"Connection {conn_id!r} has host {raw!r}, which names API path {path!r}: this provider uses "
                "API 4.0, so remove the /api/... suffix from Host."
            )
        path = ""
    if any(path == ui or path.startswith(ui + "/") for ui in _UI_PATHS):
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has host {raw!r}, which is the address of a Looker page: keep only "
            f"the scheme, host and port, e.g. {parts.scheme}://{parts.netloc.rpartition('@')[2]}."
        )

    if port is not None and host_port is not None and int(port) != host_port:
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has port {host_port} in Host but {port} in Port: keep one of them."
        )
    final_port = host_port if host_port is not None else port
    hostname = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = hostname if final_port in (None, "") else f"{hostname}:{int(final_port)}"
    return f"{parts.scheme}://{netloc}{path}"


def parse_timeout(value: Any, *, conn_id: str) -> float:
    """Return the request timeout in seconds from the ``timeout`` extra."""
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if isinstance(value, bool) or not seconds > 0 or seconds == float("inf"):
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has invalid timeout {value!r}: give a positive number of seconds, e.g. 120."
        )
    return seconds


def parse_verify(value: Any, *, conn_id: str) -> bool | str:
    """Return the TLS verification setting: a bool, or the path of a CA bundle file or folder."""
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        if os.path.exists(value):
            return value
    raise LookerConfigurationError(
        f"Connection {conn_id!r} has invalid verify {value!r}: use true, false or the path of an existing CA bundle."
    )


def parse_proxies(value: Any, *, conn_id: str) -> dict[str, str]:
    """Return the ``proxies`` extra as requests expects it: ``{"https": "http://proxy:3128"}``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = {"http": value, "https": value}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise LookerConfigurationError(
            f"Connection {conn_id!r} has invalid proxies: give a proxy URL or a JSON object such as "
            '{"https": "http://proxy.example.com:3128"}.'
        )
    for url in value.values():
        parts = urlsplit(url)
        if parts.password:
            mask_secret(parts.password)
        if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
            raise LookerConfigurationError(
                f"Connection {conn_id!r} has a proxy URL for host {parts.hostname or '?'!r} that is invalid: "
                "use http://host:port (credentials may go before the host)."
            )
    return dict(value)
