"""Routing table of the Looker emulator and the per-request context handlers receive."""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .server import Request, Response
from .validation import FieldError

API_PREFIX = "/api/4.0"


class ApiError(Exception):
    """An error response in Looker's shape: ``{"message", "documentation_url"}`` plus ``errors`` for 422."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        topic: str = "errors",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.topic = topic

    def to_response(self, documentation_url: str) -> Response:
        payload: dict[str, Any] = {"message": self.message, "documentation_url": documentation_url}
        if self.errors is not None:
            payload["errors"] = [error.to_json(documentation_url) for error in self.errors]
        return Response.json(self.status, payload, self.headers)


def validation_failed(errors: list[FieldError]) -> ApiError:
    return ApiError(422, "Validation Failed", errors=errors, topic="validation")


@dataclass
class ApiCall:
    """Context passed to a handler: the request, its route match and its place in the call sequence."""

    request: Request
    operation: str
    call_number: int
    params: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    warnings: list[str] = field(default_factory=list)

    def json_body(self, *, required: bool) -> dict[str, Any] | None:
        """Return the JSON object body; raise 400 for a form body, invalid JSON or a non-object."""
        raw = self.request.raw_body
        if not raw.strip():
            if required:
                raise ApiError(400, "A JSON request body is required", topic="bad-request")
            return None
        if self.request.content_type == "application/x-www-form-urlencoded":
            raise ApiError(
                400,
                "The request body must be JSON (Content-Type: application/json), not form-encoded",
                topic="bad-request",
            )
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ApiError(400, f"The request body is not valid JSON: {error}", topic="bad-request") from error
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object", topic="bad-request")
        return body


@dataclass(frozen=True)
class Route:
    """One API operation: HTTP method, path pattern and Looker operation id."""

    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: str
    auth: bool = True


def _route(
    method: str, template: str, operation: str, handler: str, *, auth: bool = True, prefix: str = API_PREFIX
) -> Route:
    # Each {name} in the template matches one path segment, still percent-encoded.
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(prefix + template).replace(r"\{", "{").replace(r"\}", "}"))
    return Route(method, re.compile(regex + r"\Z"), operation, handler, auth)


ROUTES: tuple[Route, ...] = (
    _route("POST", "/login", "login", "handle_login", auth=False),
    _route("DELETE", "/logout", "logout", "handle_logout"),
    # The official Python SDK's session logs out at the unversioned path.
    _route("DELETE", "/logout", "logout", "handle_logout", prefix="/api"),
    _route("GET", "/versions", "versions", "handle_versions", auth=False),
    _route("GET", "/versions", "versions", "handle_versions", auth=False, prefix="/api"),
    _route("GET", "/user", "me", "handle_me"),
    _route("GET", "/dashboards/{dashboard_id}", "dashboard", "handle_dashboard"),
    _route(
        "GET", "/dashboards/{dashboard_id}/dashboard_filters", "dashboard_dashboard_filters", "handle_dashboard_filters"
    ),
    _route("GET", "/looks/{look_id}", "look", "handle_look"),
    _route("GET", "/queries/{query_id}", "query", "handle_query"),
    _route("POST", "/queries/run/{result_format}", "run_inline_query", "handle_run_inline_query"),
    _route("POST", "/scheduled_plans/run_once", "scheduled_plan_run_once", "handle_run_once"),
    _route(
        "POST",
        "/scheduled_plans/{scheduled_plan_id}/run_once",
        "scheduled_plan_run_once_by_id",
        "handle_run_once_by_id",
    ),
    _route("GET", "/scheduled_plans/{scheduled_plan_id}", "scheduled_plan", "handle_scheduled_plan"),
    _route("GET", "/datagroups", "all_datagroups", "handle_all_datagroups"),
    _route("GET", "/datagroups/{datagroup_id}", "datagroup", "handle_datagroup"),
    _route("PATCH", "/datagroups/{datagroup_id}", "update_datagroup", "handle_update_datagroup"),
)


def match_route(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """Find the route for a request.

    Returns the route and its decoded path parameters, or (None, {}, path_exists) where path_exists
    distinguishes a 405 (known path, other method) from a 404.
    """
    path_exists = False
    for route in ROUTES:
        matched = route.pattern.match(path)
        if matched is None:
            continue
        if route.method != method:
            path_exists = True
            continue
        params = {name: urllib.parse.unquote(value) for name, value in matched.groupdict().items()}
        return route, params, True
    return None, {}, path_exists
