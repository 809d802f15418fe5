"""Hook for the Looker API 4.0: login, logout and every request the provider sends."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_looker_trigger import PACKAGE_NAME, __version__
from airflow_provider_looker_trigger.delivery import SYSTEM_ACTIVITY_PERMISSION, JobState, job_states, jobs_query
from airflow_provider_looker_trigger.exceptions import (
    LookerApiError,
    LookerAuthenticationError,
    LookerConfigurationError,
    LookerDeliveryUnknownError,
    LookerError,
    LookerNotFoundError,
    LookerPermissionError,
    LookerRequestError,
)
from airflow_provider_looker_trigger.hooks.connection import (
    API_PREFIX,
    KNOWN_EXTRAS,
    LookerConnectionSettings,
    parse_base_url,
    parse_proxies,
    parse_timeout,
    parse_verify,
)
from airflow_provider_looker_trigger.hooks.retry import build_retry

# A token is treated as expired this many seconds before Looker's ``expires_in`` runs out, so a request
# sent just before expiry does not fail. Short-lived tokens keep at least 90 % of their lifetime.
TOKEN_EXPIRY_MARGIN = 10.0
# POST endpoints that change nothing on Looker and may be retried like a GET.
_SAFE_POST_PATHS = ("/login", "/queries/run/")


class _NoNetrcAuth(requests.auth.AuthBase):
    """Keep requests from reading ``~/.netrc``; the hook sets the Authorization header itself."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class LookerHook(BaseHook):
    """Talk to the Looker API 4.0 with an API client id and secret.

    The connection's Host is the Looker URL, Login the client id and Password the client secret. The
    extras ``timeout`` (seconds), ``verify`` (true, false or a CA bundle path) and ``proxies`` configure
    the HTTP session. The hook logs in on the first request and logs out in :meth:`close`, which the
    context manager form calls::

        with LookerHook() as hook:
            plan = hook.run_once(body)

    :param looker_conn_id: id of the Airflow connection to use.
    :param max_retries: how many times a request that is safe to repeat is retried.
    :param backoff_factor: base of the exponential backoff between retries, in seconds.
    :param backoff_max: longest wait between two retries, in seconds.
    :param retry_after_max: longest ``Retry-After`` wait honoured, in seconds.
    """

    conn_name_attr = "looker_conn_id"
    default_conn_name = "looker_default"
    conn_type = "looker"
    hook_name = "Looker (run once)"

    def __init__(
        self,
        looker_conn_id: str = default_conn_name,
        *,
        max_retries: int = 5,
        backoff_factor: float = 1.0,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.looker_conn_id = looker_conn_id
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._clock = clock
        self._settings: LookerConnectionSettings | None = None
        self._session: requests.Session | None = None
        self._token: str | None = None
        self._token_expires_at = 0.0
        # Guards the session and the token, so threads sharing this hook log in once and never wipe
        # a token that another thread has just obtained.
        self._lock = threading.RLock()

    # Connection and session

    @property
    def settings(self) -> LookerConnectionSettings:
        """Settings of the Looker connection, read and checked on first use."""
        if self._settings is None:
            self._settings = self._read_settings()
        return self._settings

    def _read_settings(self) -> LookerConnectionSettings:
        conn_id = self.looker_conn_id
        conn = self.get_connection(conn_id)
        base_url = parse_base_url(_host_with_schema(conn.host, conn.schema), conn.port, conn_id=conn_id)
        if not conn.login:
            raise LookerConfigurationError(
                f"Connection {conn_id!r} has no client id: put the Looker API client id in Login."
            )
        if not conn.password:
            raise LookerConfigurationError(
                f"Connection {conn_id!r} has no client secret: put the Looker API client secret in Password."
            )
        mask_secret(conn.password)

        extras = conn.extra_dejson or {}
        unknown = sorted(set(extras) - set(KNOWN_EXTRAS))
        if unknown:
            self.log.warning(
                "Connection %s has extra field(s) %s that the Looker hook does not use; known extras: %s.",
                conn_id,
                ", ".join(unknown),
                ", ".join(KNOWN_EXTRAS),
            )
        return LookerConnectionSettings(
            base_url=base_url,
            client_id=conn.login,
            client_secret=conn.password,
            timeout=parse_timeout(extras.get("timeout"), conn_id=conn_id),
            verify=parse_verify(extras.get("verify"), conn_id=conn_id),
            proxies=parse_proxies(extras.get("proxies"), conn_id=conn_id),
        )

    def get_conn(self) -> requests.Session:
        """Return this hook's HTTP session, configured from the connection (without logging in)."""
        with self._lock:
            if self._session is None:
                self._session = self._new_session()
            return self._session

    def _new_session(self) -> requests.Session:
        settings = self.settings
        session = requests.Session()
        session.auth = _NoNetrcAuth()
        session.verify = settings.verify
        session.proxies.update(settings.proxies)
        session.headers.update(
            {
                "User-Agent": f"{PACKAGE_NAME}/{__version__}",
                "x-looker-appid": f"{PACKAGE_NAME} {__version__}",
                "Accept": "application/json",
            }
        )
        if settings.verify is False:
            self.log.warning(
                "TLS certificate verification is off for connection %s (%s); it applies to this hook's session only.",
                self.looker_conn_id,
                settings.base_url,
            )

        retry_args = {
            "max_retries": self.max_retries,
            "backoff_factor": self.backoff_factor,
            "backoff_max": self.backoff_max,
            "retry_after_max": self.retry_after_max,
            "logger": self.log,
        }
        session.mount(settings.base_url, HTTPAdapter(max_retries=build_retry(allow_post=False, **retry_args)))
        for path in _SAFE_POST_PATHS:
            session.mount(settings.api_url + path, HTTPAdapter(max_retries=build_retry(allow_post=True, **retry_args)))
        # A failed logout only leaves a token to expire on its own, so it is not worth a long wait.
        logout_retry = build_retry(allow_post=False, **{**retry_args, "max_retries": 1})
        session.mount(settings.api_url + "/logout", HTTPAdapter(max_retries=logout_retry))
        return session

    # Login and logout

    def login(self) -> None:
        """Log in with the client id and secret and keep the access token until it expires."""
        with self._lock:
            self._login()

    def _login(self) -> None:
        settings = self.settings
        response = self._send(
            "POST",
            "/login",
            data={"client_id": settings.client_id, "client_secret": settings.client_secret},
            authenticated=False,
        )
        if response.status_code in (400, 401, 403, 404):
            raise LookerAuthenticationError(
                status=response.status_code,
                method="POST",
                path=API_PREFIX + "/login",
                body=_json_or_none(response),
                text=response.text,
                hint=f"Check the client id (Login) and client secret (Password) of connection {self.looker_conn_id!r}; "
                "Looker answers 404 to unknown credentials.",
            )
        if response.status_code >= 300:
            self._parse(response, "POST", "/login")
        # The body of a login response is never quoted in an error, because a cut-off body still contains the token.
        body = _json_or_none(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise LookerAuthenticationError(
                status=response.status_code,
                method="POST",
                path=API_PREFIX + "/login",
                body=None,
                text="",
                hint="Looker's login answer was not JSON with an access_token, so the hook cannot authenticate. "
                f"Check that Host of connection {self.looker_conn_id!r} is the Looker URL and not another service.",
            )
        mask_secret(token)

        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 3600.0
        self._token = token
        self._token_expires_at = self._clock() + lifetime - min(TOKEN_EXPIRY_MARGIN, lifetime * 0.1)
        self.log.info("Logged in to Looker at %s (token valid for %.0f s).", settings.base_url, lifetime)

    def logout(self) -> None:
        """Invalidate the access token; a failed logout is logged and never raised."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        try:
            response = self._send("DELETE", "/logout", authenticated=False, headers={"Authorization": f"token {token}"})
            if response.status_code not in (200, 204):
                self.log.warning(
                    "Logout from Looker at %s returned %s; the token expires on its own.",
                    self.settings.base_url,
                    response.status_code,
                )
            else:
                self.log.info("Logged out of Looker at %s.", self.settings.base_url)
        except (LookerError, requests.RequestException) as err:
            self.log.warning("Logout from Looker at %s failed: %s; the token expires on its own.", self.settings.base_url, err)

    def close(self) -> None:
        """Log out and close the HTTP session."""
        try:
            self.logout()
        finally:
            if self._session is not None:
                self._session.close()
                self._session = None

    def __enter__(self) -> LookerHook:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _current_token(self) -> str:
        """Return a valid access token, logging in first when there is none or it has expired."""
        with self._lock:
            if not self._token_is_valid():
                self._login()
            return self._token

    def _drop_token(self, response: requests.Response) -> None:
        """Forget the token a 401 response rejected, unless another thread has already replaced it."""
        used = (response.request.headers.get("Authorization") or "").partition(" ")[2] if response.request else ""
        with self._lock:
            if self._token == used:
                self._token = None

    def _token_is_valid(self) -> bool:
        return self._token is not None and self._clock() < self._token_expires_at

    # The request path

    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        authenticated: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one request (the session's adapter retries what is safe) and return the raw response."""
        session = self.get_conn()
        all_headers = dict(headers or {})
        if authenticated:
            all_headers["Authorization"] = f"token {self._current_token()}"
        url = self.settings.api_url + path
        self.log.debug("Looker request %s %s", method, url)
        try:
            return session.request(
                method,
                url,
                json=json_body,
                data=data,
                params=params,
                headers=all_headers,
                timeout=self.settings.timeout,
                # Per request, because requests lets REQUESTS_CA_BUNDLE replace a session's verify setting.
                verify=self.settings.verify,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            raise self._request_error(method, path, err) from err

    def _request_error(self, method: str, path: str, err: requests.RequestException) -> LookerRequestError:
        where = f"{method} {API_PREFIX}{path} on {self.settings.base_url}"
        if isinstance(err, requests.exceptions.SSLError) and "WRONG_VERSION_NUMBER" in str(err):
            return LookerRequestError(
                f"TLS failed for {where}: the server did not answer in TLS, so this port serves plain HTTP "
                "or another protocol. Check the scheme (https:// or http://) and the port in Host.",
                method=method,
                path=path,
                sent=False,
            )
        if isinstance(err, requests.exceptions.SSLError):
            return LookerRequestError(
                f"TLS failed for {where}: {_reason(err)}. If Looker uses a private certificate authority, "
                "set the connection's verify extra to the path of its CA bundle.",
                method=method,
                path=path,
                sent=False,
            )
        if isinstance(err, requests.exceptions.ProxyError):
            return LookerRequestError(
                f"The proxy failed for {where}: {_reason(err)}. Check the connection's proxies extra.",
                method=method,
                path=path,
                sent=None,
            )
        if _failed_before_sending(err):
            return LookerRequestError(
                f"Could not connect to Looker for {where}: {_reason(err)}. Nothing was sent; check the "
                "connection's Host and Port and that Looker is reachable from this worker.",
                method=method,
                path=path,
                sent=False,
            )
        if isinstance(err, requests.exceptions.Timeout):
            return LookerRequestError(
                f"Looker did not answer {where} within {self.settings.timeout:g} s. Raise the connection's "
                "timeout extra if Looker is slow.",
                method=method,
                path=path,
                sent=True,
            )
        return LookerRequestError(
            f"The connection to Looker broke during {where}: {_reason(err)}.", method=method, path=path, sent=None
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        not_found_hint: str = "",
    ) -> Any:
        """Send an authenticated request and return its parsed JSON body.

        A 401 response means the token expired or was revoked: the hook logs in again and replays the
        request once, which is safe because Looker rejected the first one without executing it.
        """
        response = self._send(method, path, json_body=json_body, params=params)
        if response.status_code == 401:
            self.log.info("Looker returned 401 for %s %s%s; logging in again and replaying it once.", method, API_PREFIX, path)
            self._drop_token(response)
            response = self._send(method, path, json_body=json_body, params=params)
        return self._parse(response, method, path, not_found_hint=not_found_hint)

    def _parse(self, response: requests.Response, method: str, path: str, *, not_found_hint: str = "") -> Any:
        """Return the JSON body of a successful response, or raise the error class that fits its status."""
        status = response.status_code
        full_path = API_PREFIX + path
        if 300 <= status < 400:
            location = response.headers.get("Location", "?")
            raise LookerApiError(
                status=status,
                method=method,
                path=full_path,
                text=response.text,
                hint=f"Looker redirected to {location}: set the connection's Host to that address.",
            )
        if status >= 400:
            body = _json_or_none(response)
            error_class = {403: LookerPermissionError, 404: LookerNotFoundError}.get(status, LookerApiError)
            raise error_class(status=status, method=method, path=full_path, body=body, text=response.text, hint=not_found_hint if status == 404 else "")
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise LookerApiError(
                status=status,
                method=method,
                path=full_path,
                text=response.text,
                hint="The answer was not valid JSON; check that Host is the Looker URL and not a proxy or login page.",
            ) from None

    # Looker operations

    def run_once(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Create a run-once scheduled plan and run it now (``POST /scheduled_plans/run_once``).

        The request is never repeated once it may have reached Looker: a timeout, a dropped connection
        or a 500, 502 or 504 response raise :class:`LookerDeliveryUnknownError` naming the plan.

        :param plan: a ``WriteScheduledPlan`` body, as built by ``plan.build_run_once_body``.
        :return: the created ``ScheduledPlan``.
        """
        return self._run_once_request("/scheduled_plans/run_once", plan, plan_name=str(plan.get("name", "")))

    def run_once_by_id(self, scheduled_plan_id: str | int, overrides: Mapping[str, Any] | None = None, *, plan_name: str = "") -> dict[str, Any]:
        """Run a copy of an existing plan now, with ``overrides`` replacing its fields.

        Sends ``{}`` when there are no overrides. Like :meth:`run_once`, the request is never repeated
        once it may have reached Looker.
        """
        path = f"/scheduled_plans/{quote(str(scheduled_plan_id), safe='')}/run_once"
        return self._run_once_request(path, dict(overrides or {}), plan_name=plan_name or f"copy of plan {scheduled_plan_id}")

    def _run_once_request(self, path: str, body: Mapping[str, Any], *, plan_name: str) -> dict[str, Any]:
        unknown = (
            "Looker may or may not have delivered it: the request was sent but its answer was lost. "
            f"It is not sent again, so that nothing is delivered twice. Look for the plan named {plan_name!r} "
            "in Looker (Admin > Schedules, or System Activity) before you rerun this task."
        )
        response = self._post_once(path, body, plan_name=plan_name, unknown=unknown)
        if response.status_code == 401:
            self.log.info("Looker returned 401 for POST %s%s; logging in again and replaying it once.", API_PREFIX, path)
            self._drop_token(response)
            response = self._post_once(path, body, plan_name=plan_name, unknown=unknown)
        if response.status_code in (500, 502, 504):
            error = LookerApiError(status=response.status_code, method="POST", path=API_PREFIX + path, body=_json_or_none(response), text=response.text)
            raise LookerDeliveryUnknownError(f"{error}\n{unknown}", plan_name=plan_name, method="POST", path=API_PREFIX + path) from error
        if response.status_code >= 300:
            # Looker rejected the plan without running it: 4xx responses, and 429 or 503 once retries ran out.
            error_class = {403: LookerPermissionError, 404: LookerNotFoundError}.get(response.status_code, LookerApiError)
            raise error_class(
                status=response.status_code,
                method="POST",
                path=API_PREFIX + path,
                body=_json_or_none(response),
                text=response.text,
                hint=f"Looker rejected plan {plan_name!r}, so nothing was delivered.",
            )
        result = _json_or_none(response)
        if not isinstance(result, dict) or not result.get("id"):
            raise LookerDeliveryUnknownError(
                f"Looker answered {response.status_code} to POST {API_PREFIX}{path} without a readable plan id. {unknown}",
                plan_name=plan_name,
                method="POST",
                path=API_PREFIX + path,
            )
        return result

    def _post_once(self, path: str, body: Mapping[str, Any], *, plan_name: str, unknown: str) -> requests.Response:
        """Send a run_once POST after making sure of the token, so a failed login is never taken for a lost delivery."""
        self._current_token()
        try:
            return self._send("POST", path, json_body=body)
        except LookerRequestError as err:
            if err.sent is False:
                raise
            raise LookerDeliveryUnknownError(f"{err} {unknown}", plan_name=plan_name, method="POST", path=API_PREFIX + path) from err

    def get_scheduled_plan(self, scheduled_plan_id: str | int) -> dict[str, Any]:
        """Return a scheduled plan (``GET /scheduled_plans/{id}``)."""
        return self._request("GET", f"/scheduled_plans/{quote(str(scheduled_plan_id), safe='')}", not_found_hint=f"No scheduled plan {scheduled_plan_id!r} is visible to this API user.")

    def get_dashboard(self, dashboard_id: str | int) -> dict[str, Any]:
        """Return a dashboard, user-defined or LookML (``model::name``), with its filters."""
        return self._request("GET", f"/dashboards/{quote(str(dashboard_id), safe='')}", not_found_hint=f"No dashboard {dashboard_id!r} is visible to this API user.")

    def get_look(self, look_id: str | int) -> dict[str, Any]:
        """Return a Look (``GET /looks/{id}``)."""
        return self._request("GET", f"/looks/{quote(str(look_id), safe='')}", not_found_hint=f"No Look {look_id!r} is visible to this API user.")

    def get_datagroups(self) -> list[dict[str, Any]]:
        """Return every datagroup (``GET /datagroups``)."""
        return self._request("GET", "/datagroups")

    def update_datagroup(self, datagroup_id: str | int, *, triggered_at: int | None = None, stale_before: int | None = None) -> dict[str, Any]:
        """Set a datagroup's trigger times, in UNIX seconds (``PATCH /datagroups/{id}``)."""
        body = {key: value for key, value in (("triggered_at", triggered_at), ("stale_before", stale_before)) if value is not None}
        return self._request("PATCH", f"/datagroups/{quote(str(datagroup_id), safe='')}", json_body=body, not_found_hint=f"No datagroup {datagroup_id!r} is visible to this API user.")

    def run_inline_query(self, query: Mapping[str, Any], *, result_format: str = "json") -> Any:
        """Run a query without saving it (``POST /queries/run/{result_format}``), never from cache."""
        return self._request("POST", f"/queries/run/{result_format}", json_body=dict(query), params={"cache": "false"})

    def get_scheduled_jobs(
        self,
        *,
        plan_id: str | None = None,
        plan_name_contains: str | None = None,
        created_after: datetime.datetime | None = None,
        limit: int = 50,
    ) -> list[JobState]:
        """Return the scheduled jobs of a plan (or of plans whose name contains a text), newest first.

        Reads Looker's System Activity, which needs the ``see_system_activity`` permission; without it
        :class:`LookerPermissionError` names that permission. ``created_after`` keeps only jobs created
        at or after that moment. ``limit`` caps the number of rows System Activity returns.
        """
        query = jobs_query(plan_id=plan_id, plan_name_contains=plan_name_contains, created_after=created_after, limit=limit)
        try:
            rows = self.run_inline_query(query)
        except (LookerPermissionError, LookerNotFoundError) as err:
            raise LookerPermissionError(
                status=err.status,
                method=err.method,
                path=err.path,
                body=err.body,
                hint=f"Reading delivery status needs the {SYSTEM_ACTIVITY_PERMISSION} permission on the API user of "
                f"connection {self.looker_conn_id!r}. Grant it in Looker (Admin > Roles), or turn off waiting for the delivery.",
            ) from err
        if not isinstance(rows, list):
            raise LookerApiError(
                status=200,
                method="POST",
                path=API_PREFIX + "/queries/run/json",
                body=rows if isinstance(rows, dict) else None,
                text="" if isinstance(rows, dict) else str(rows),
                hint="System Activity answered something other than a list of rows.",
            )
        states = job_states(rows)
        if created_after is not None:
            # System Activity gives whole seconds, so a job created in the same second as created_after counts.
            cutoff = created_after.replace(microsecond=0)
            states = [state for state in states if state.created_at is None or state.created_at >= cutoff]
        return states

    def get_versions(self) -> dict[str, Any]:
        """Return the API versions the Looker instance supports (``GET /versions``)."""
        return self._parse(self._send("GET", "/versions", authenticated=False), "GET", "/versions")

    def get_current_user(self) -> dict[str, Any]:
        """Return the user the API credentials belong to (``GET /user``)."""
        return self._request("GET", "/user")

    def content_url(self, kind: str, content_id: str) -> str:
        """Return the Looker web address of a dashboard, LookML dashboard or Look."""
        base = self.settings.base_url
        if kind == "look":
            return f"{base}/looks/{quote(content_id, safe='')}"
        if kind == "query":
            return f"{base}/explore?qid={quote(content_id, safe='')}"
        return f"{base}/dashboards/{quote(content_id, safe=':')}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the labels, placeholders and hidden fields of the connection form, for Airflow before 3.2."""
        from airflow_provider_looker_trigger.hooks.connection_form import legacy_field_behaviour

        return legacy_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the wtforms fields of the extras ``timeout``, ``verify`` and ``proxies``, for Airflow before 3.2.

        Airflow stores each value in the connection's extra under the field's name, as the hook reads it.
        """
        from wtforms import StringField
        from wtforms.validators import Optional

        from airflow_provider_looker_trigger.hooks.connection_form import CONN_FIELDS

        return {
            name: StringField(field["label"], validators=[Optional()], description=field["description"])
            for name, field in CONN_FIELDS.items()
        }

    def test_connection(self) -> tuple[bool, str]:
        """Check the connection as the UI's Test button does, and return whether it works and a message.

        Reads ``GET /versions`` (which shows whether the URL is a Looker API), logs in, reads ``GET /user``
        and logs out. Each failure message names the field or extra to change. Failed requests are not
        retried, so the button shows its result within the connection's timeout; a session the hook built before
        keeps its own retry policy.
        """
        from airflow_provider_looker_trigger.hooks import connection_form

        settings = None
        max_retries, self.max_retries = self.max_retries, 0
        try:
            settings = self.settings
            versions = self.get_versions()
            problem = connection_form.versions_problem(settings, versions)
            if problem:
                return False, problem
            user = self.get_current_user()
            return True, connection_form.success_message(settings, versions, user)
        except LookerError as err:
            return False, connection_form.failure_message(err, settings, self.looker_conn_id)
        finally:
            self.close()
            self.max_retries = max_retries


def _host_with_schema(host: str | None, schema: str | None) -> str | None:
    """Join a connection's Host and Schema fields into the URL that ``parse_base_url`` checks.

    The URI form of a connection puts a path after the host into Schema, where a pasted ``/api/3.1``
    or page address would otherwise be ignored. Schema set to ``http`` or ``https``, as the HTTP
    provider uses it, is taken as the scheme.
    """
    schema = (schema or "").strip().strip("/")
    if not schema or not host:
        return host
    if schema.lower() in ("http", "https"):
        return host if "://" in host else f"{schema.lower()}://{host}"
    return f"{host.rstrip('/')}/{schema}"


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(err: Exception) -> str:
    """Return the innermost cause of a requests error, which reads better than the wrapper's text."""
    current: Any = err
    seen = 0
    while seen < 5:
        seen += 1
        inner = current.args[0] if getattr(current, "args", None) else None
        if isinstance(inner, MaxRetryError) and inner.reason is not None:
            current = inner.reason
        elif isinstance(inner, Exception):
            current = inner
        else:
            break
    return f"{type(current).__name__}: {current}"


def _failed_before_sending(err: requests.RequestException) -> bool:
    """Return whether ``err`` shows that the request never left this machine."""
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return True
    inner = err.args[0] if err.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, NewConnectionError)
