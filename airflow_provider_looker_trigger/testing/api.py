"""Endpoint handlers of the Looker emulator, one method per Looker API 4.0 operation.

:class:`ApiHandlers` is a mixin of ``LookerEmulator``: the handlers read and change the emulator's state
through the attributes and helpers that class defines. Each handler returns a Response or raises ApiError.
"""

from __future__ import annotations

import copy
import hmac
import urllib.parse
from typing import TYPE_CHECKING, Any

from . import rendering, resources, system_activity
from .execution import ContentNotFound, PlanRejected, plan_today, prepare_run
from .routes import ApiCall, ApiError, validation_failed
from .server import Response
from .validation import check_datagroup_update, check_plan_fields, check_plan_rules

if TYPE_CHECKING:
    from .emulator import LookerEmulator

SYSTEM_ACTIVITY_RESULT_FORMATS = ("json", "csv", "txt")


def _not_found(description: str) -> ApiError:
    return ApiError(404, f"Not found: {description}", topic="not-found")


class ApiHandlers:
    """Handlers for the emulated endpoints; see ``routes.ROUTES`` for the paths."""

    # ---- authentication -------------------------------------------------------------------------

    def handle_login(self: LookerEmulator, call: ApiCall) -> Response:
        request = call.request
        form: dict[str, str] = {}
        if request.raw_body and request.content_type != "application/json":
            form = dict(
                urllib.parse.parse_qsl(request.raw_body.decode("utf-8", errors="replace"), keep_blank_values=True)
            )
        if "client_id" in request.query or "client_secret" in request.query:
            call.warnings.append("credentials sent in the URL query string; send them in a form-encoded body instead")
        client_id = form.get("client_id") or request.query.get("client_id") or ""
        client_secret = form.get("client_secret") or request.query.get("client_secret") or ""
        if not client_id or not client_secret:
            raise ApiError(
                400,
                "client_id and client_secret are required in a form-encoded (application/x-www-form-urlencoded) body",
                topic="login",
            )
        valid_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        valid_secret = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        if not (valid_id and valid_secret):
            # Looker returns 404, not 401, for wrong API credentials.
            raise ApiError(404, "Not found", topic="login")
        token = self._issue_token()
        return Response.json(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime, "refresh_token": None},
        )

    def handle_logout(self: LookerEmulator, call: ApiCall) -> Response:
        self._revoke_token(call.token)
        return Response.empty(204)

    def handle_versions(self: LookerEmulator, call: ApiCall) -> Response:
        return Response.json(200, resources.versions_json(self.url))

    def handle_me(self: LookerEmulator, call: ApiCall) -> Response:
        return Response.json(200, resources.user_json(self.url, self.permissions))

    # ---- content ----------------------------------------------------------------------------------

    def handle_dashboard(self: LookerEmulator, call: ApiCall) -> Response:
        dashboard = self.content.dashboards.get(call.params["dashboard_id"])
        if dashboard is None:
            raise _not_found(f"dashboard {call.params['dashboard_id']!r}")
        return Response.json(200, resources.dashboard_json(dashboard, self.content, self.url))

    def handle_dashboard_filters(self: LookerEmulator, call: ApiCall) -> Response:
        dashboard = self.content.dashboards.get(call.params["dashboard_id"])
        if dashboard is None:
            raise _not_found(f"dashboard {call.params['dashboard_id']!r}")
        filters = [resources.dashboard_filter_json(dashboard, index) for index in range(len(dashboard.filters))]
        return Response.json(200, filters)

    def handle_look(self: LookerEmulator, call: ApiCall) -> Response:
        look = self.content.looks.get(call.params["look_id"])
        if look is None:
            raise _not_found(f"Look {call.params['look_id']!r}")
        return Response.json(200, resources.look_json(look, self.content, self.url))

    def handle_query(self: LookerEmulator, call: ApiCall) -> Response:
        query = self.content.queries.get(call.params["query_id"])
        if query is None:
            raise _not_found(f"query {call.params['query_id']!r}")
        return Response.json(200, resources.query_json(query, self.url))

    # ---- scheduled plans --------------------------------------------------------------------------

    def handle_run_once(self: LookerEmulator, call: ApiCall) -> Response:
        self._take_run_once_token()
        body = call.json_body(required=True)
        record = self._run_plan(body)
        return Response.json(200, resources.plan_json(record, self.url))

    def handle_run_once_by_id(self: LookerEmulator, call: ApiCall) -> Response:
        self._take_run_once_token()
        plan_id = call.params["scheduled_plan_id"]
        with self._lock:
            stored = self._plans.get(plan_id)
            base = copy.deepcopy(stored.body) if stored else None
        if base is None:
            raise _not_found(f"scheduled plan {plan_id!r}")
        overrides = call.json_body(required=False) or {}
        errors = check_plan_fields(overrides)
        if errors:
            raise validation_failed(errors)
        # An override of scheduled_plan_destination replaces the whole list, as PATCH does.
        base.update(overrides)
        record = self._run_plan(base)
        return Response.json(200, resources.plan_json(record, self.url))

    def handle_scheduled_plan(self: LookerEmulator, call: ApiCall) -> Response:
        plan_id = call.params["scheduled_plan_id"]
        with self._lock:
            record = self._plans.get(plan_id)
            payload = resources.plan_json(record, self.url) if record else None
        if payload is None:
            raise _not_found(f"scheduled plan {plan_id!r}")
        return Response.json(200, payload)

    def _run_plan(self: LookerEmulator, body: dict[str, Any]):
        """Validate a plan body, store it as a new run-once plan and start its job."""
        errors = check_plan_fields(body)
        if any(error.code == "invalid" for error in errors):
            raise validation_failed(errors)
        errors.extend(check_plan_rules(body))
        if errors:
            raise validation_failed(errors)
        try:
            prepared = prepare_run(body, self.content, self._now())
        except ContentNotFound as error:
            raise _not_found(str(error)) from error
        except PlanRejected as error:
            raise validation_failed(error.errors) from error
        plan = copy.deepcopy(body)
        plan["run_once"] = True
        prepared.plan = plan
        record = self._store_plan(plan, title=prepared.title)
        self._start_job(record, prepared)
        return record

    # ---- datagroups -------------------------------------------------------------------------------

    def handle_all_datagroups(self: LookerEmulator, call: ApiCall) -> Response:
        with self._lock:
            payload = [resources.datagroup_json(datagroup) for datagroup in self.content.datagroups.values()]
        return Response.json(200, payload)

    def handle_datagroup(self: LookerEmulator, call: ApiCall) -> Response:
        with self._lock:
            datagroup = self.content.datagroups.get(call.params["datagroup_id"])
            payload = resources.datagroup_json(datagroup) if datagroup else None
        if payload is None:
            raise _not_found(f"datagroup {call.params['datagroup_id']!r}")
        return Response.json(200, payload)

    def handle_update_datagroup(self: LookerEmulator, call: ApiCall) -> Response:
        datagroup_id = call.params["datagroup_id"]
        if datagroup_id not in self.content.datagroups:
            raise _not_found(f"datagroup {datagroup_id!r}")
        body = call.json_body(required=True)
        errors = check_datagroup_update(body, self._now().timestamp())
        if errors:
            raise validation_failed(errors)
        payload = self._trigger_datagroup(datagroup_id, body.get("stale_before"), body.get("triggered_at"))
        return Response.json(200, payload)

    # ---- System Activity --------------------------------------------------------------------------

    def handle_run_inline_query(self: LookerEmulator, call: ApiCall) -> Response:
        result_format = call.params["result_format"]
        body = call.json_body(required=True)

        missing = [name for name in ("model", "view") if not body.get(name)]
        if missing:
            raise validation_failed(
                [system_activity.FieldError(name, "missing", f"{name} is required") for name in missing]
            )
        if body["model"] != system_activity.MODEL:
            raise _not_found(f"model {body['model']!r}; the emulator only runs queries on {system_activity.MODEL!r}")

        if system_activity.PERMISSION not in self.permissions:
            raise ApiError(
                403,
                f"The API user lacks the {system_activity.PERMISSION!r} permission needed for System Activity",
                topic="permissions",
            )
        if body["view"] != system_activity.EXPLORE:
            raise _not_found(f"Explore {body['view']!r} in model {system_activity.MODEL!r}")

        if result_format not in SYSTEM_ACTIVITY_RESULT_FORMATS:
            raise ApiError(
                400,
                f"result_format {result_format!r} is not supported by the emulator; use one of "
                + ", ".join(SYSTEM_ACTIVITY_RESULT_FORMATS),
                topic="bad-request",
            )

        now = self._now()
        with self._lock:
            joined = self._plan_job_pairs()
        try:
            rows, fields = system_activity.run_query(body, joined, plan_today({}, now))
        except system_activity.QueryFailed as error:
            raise validation_failed(error.errors) from error

        if result_format == "json":
            return Response.json(200, rows)
        data, _ = rendering.render(rows, fields, result_format, title="System Activity")
        content_type = "text/csv" if result_format == "csv" else "text/plain"
        return Response(200, data, {"Content-Type": f"{content_type}; charset=utf-8"})
