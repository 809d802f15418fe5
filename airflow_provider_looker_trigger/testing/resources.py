"""Looker API 4.0 JSON shapes of the emulator's content: dashboards, Looks, queries, plans, datagroups."""

from __future__ import annotations

import datetime
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .content import Content, DashboardDef, DatagroupDef, LookDef, QueryDef
from .validation import DESTINATION_FIELD_TYPES, PLAN_FIELD_TYPES

LOOKER_RELEASE = "26.12.3"
API_VERSION = "4.0"

API_USER = {
    "id": "1",
    "first_name": "Emulator",
    "last_name": "API User",
    "email": "api-user@example.com",
}

_CONTENT_CAN = {"show": True, "index": True, "update": True, "destroy": True}
_PLAN_CAN = {"show": True, "update": True, "destroy": True, "run_once": True}

# Writable booleans that Looker returns as true when the plan does not set them.
_PLAN_TRUE_DEFAULTS = frozenset({"enabled"})


def timestamp(moment: datetime.datetime | None) -> str | None:
    """Format a time the way Looker's JSON does: ISO 8601 with milliseconds and an offset."""
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")


def user_public(base_url: str) -> dict[str, Any]:
    return {
        "id": API_USER["id"],
        "first_name": API_USER["first_name"],
        "last_name": API_USER["last_name"],
        "display_name": f"{API_USER['first_name']} {API_USER['last_name']}",
        "avatar_url": None,
        "url": f"{base_url}/api/{API_VERSION}/users/{API_USER['id']}",
        "can": {"show": True},
    }


def user_json(base_url: str, permissions: frozenset[str]) -> dict[str, Any]:
    """Return the API user as GET /user does; ``can`` lists the emulator's permission set."""
    public = user_public(base_url)
    return {
        **public,
        "email": API_USER["email"],
        "is_disabled": False,
        "locale": "en",
        "role_ids": ["2"],
        "group_ids": ["1"],
        "home_folder_id": "1",
        "personal_folder_id": "1",
        "is_service_account": False,
        "can": {permission: True for permission in sorted(permissions)},
    }


def versions_json(base_url: str) -> dict[str, Any]:
    version = {
        "version": API_VERSION,
        "full_version": f"{API_VERSION}.{LOOKER_RELEASE}",
        "status": "current",
        "swagger_url": f"{base_url}/api/{API_VERSION}/swagger.json",
    }
    return {
        "looker_release_version": LOOKER_RELEASE,
        "current_version": version,
        "supported_versions": [version],
        "api_server_url": base_url,
        "web_server_url": base_url,
    }


def query_json(query: QueryDef, base_url: str) -> dict[str, Any]:
    fields = [query_field.name for query_field in query.fields]
    explore_query = urllib.parse.urlencode({"fields": ",".join(fields)})
    return {
        "can": {"run": True, "see_results": True, "explore": True},
        "id": query.id,
        "model": query.model,
        "view": query.view,
        "fields": fields,
        "pivots": None,
        "fill_fields": None,
        "filters": dict(query.filters) or None,
        "filter_expression": None,
        "sorts": list(query.sorts),
        "limit": query.limit,
        "column_limit": None,
        "total": None,
        "row_total": None,
        "subtotals": None,
        "vis_config": None,
        "filter_config": None,
        "visible_ui_sections": None,
        "slug": f"q{query.id}",
        "dynamic_fields": None,
        "client_id": f"emulator{query.id}",
        "share_url": f"{base_url}/x/q{query.id}",
        "expanded_share_url": f"{base_url}/explore/{query.model}/{query.view}?{explore_query}",
        "url": f"/explore/{query.model}/{query.view}?{explore_query}",
        "query_timezone": None,
        "has_table_calculations": False,
    }


def look_json(look: LookDef, content: Content, base_url: str) -> dict[str, Any]:
    query = content.queries[look.query_id]
    return {
        "can": dict(_CONTENT_CAN),
        "id": look.id,
        "title": look.title,
        "description": look.description,
        "user_id": API_USER["id"],
        "query_id": look.query_id,
        "query": query_json(query, base_url),
        "model": {"id": query.model, "label": query.model},
        "folder_id": look.folder_id,
        "public": False,
        "deleted": False,
        "is_run_on_load": False,
        "created_at": "2024-01-01T00:00:00.000+00:00",
        "updated_at": "2024-01-01T00:00:00.000+00:00",
        "short_url": f"/x/{look.id}",
        "url": f"/looks/{look.id}",
    }


def dashboard_filter_json(dashboard: DashboardDef, index: int) -> dict[str, Any]:
    dashboard_filter = dashboard.filters[index]
    return {
        "can": {"show": True, "update": not dashboard.is_lookml},
        "id": dashboard_filter.id,
        "dashboard_id": dashboard.id,
        "name": dashboard_filter.name,
        "title": dashboard_filter.title or dashboard_filter.name,
        "type": dashboard_filter.type,
        "default_value": dashboard_filter.default_value,
        "model": dashboard_filter.model,
        "explore": dashboard_filter.explore,
        "dimension": dashboard_filter.dimension,
        "field": {"name": dashboard_filter.dimension, "type": dashboard_filter.kind},
        "row": index,
        "listens_to_filters": [],
        "allow_multiple_values": dashboard_filter.allow_multiple_values,
        "required": dashboard_filter.required,
        "ui_config": {"type": "advanced", "display": "popover"},
    }


def dashboard_json(dashboard: DashboardDef, content: Content, base_url: str) -> dict[str, Any]:
    elements = []
    for tile in dashboard.tiles:
        query = content.queries[tile.query_id]
        elements.append(
            {
                "can": {"show": True},
                "id": tile.id,
                "dashboard_id": dashboard.id,
                "title": tile.title,
                "type": "vis",
                "query_id": query.id,
                "query": query_json(query, base_url),
                "look_id": None,
            }
        )
    model = None
    if dashboard.is_lookml:
        model_name = dashboard.id.split("::", 1)[0]
        model = {"id": model_name, "label": model_name}
    return {
        "can": dict(_CONTENT_CAN),
        "id": dashboard.id,
        "title": dashboard.title,
        "description": dashboard.description,
        "hidden": False,
        "deleted": False,
        "readonly": dashboard.is_lookml,
        "model": model,
        "folder_id": dashboard.folder_id,
        "user_id": API_USER["id"],
        "query_timezone": None,
        "created_at": "2024-01-01T00:00:00.000+00:00",
        "updated_at": "2024-01-01T00:00:00.000+00:00",
        "dashboard_filters": [dashboard_filter_json(dashboard, index) for index in range(len(dashboard.filters))],
        "dashboard_elements": elements,
        "url": f"/dashboards/{urllib.parse.quote(dashboard.id, safe='')}",
    }


def datagroup_json(datagroup: DatagroupDef) -> dict[str, Any]:
    return {
        "can": {"show": True, "update": True},
        "created_at": datagroup.created_at,
        "id": datagroup.id,
        "model_name": datagroup.model_name,
        "name": datagroup.name,
        "stale_before": datagroup.stale_before,
        "trigger_check_at": datagroup.triggered_at,
        "trigger_error": None,
        "trigger_value": datagroup.trigger_value,
        "triggered_at": datagroup.triggered_at,
    }


@dataclass
class PlanRecord:
    """A scheduled plan the emulator stores: its writable fields plus what Looker adds."""

    id: str
    body: dict[str, Any]
    created_at: datetime.datetime
    destination_ids: list[str]
    updated_at: datetime.datetime | None = None
    last_run_at: datetime.datetime | None = None
    title: str | None = None
    job_ids: list[str] = field(default_factory=list)


def plan_json(record: PlanRecord, base_url: str) -> dict[str, Any]:
    """Return a plan as Looker's ScheduledPlan: every writable field, write-only ones left out."""
    plan: dict[str, Any] = {}
    for name, field_type in PLAN_FIELD_TYPES.items():
        if name == "scheduled_plan_destination":
            continue
        default = (name in _PLAN_TRUE_DEFAULTS) if field_type == "boolean" else None
        value = record.body.get(name)
        plan[name] = default if value is None else value

    destinations = []
    for destination, destination_id in zip(record.body.get("scheduled_plan_destination") or [], record.destination_ids):
        item: dict[str, Any] = {"id": destination_id}
        for name, field_type in DESTINATION_FIELD_TYPES.items():
            if name == "secret_parameters":
                continue
            default = False if field_type == "boolean" else None
            value = destination.get(name)
            item[name] = default if value is None else value
        item["scheduled_plan_id"] = record.id
        # The emulator has one user, so only that user's address counts as a Looker recipient.
        item["looker_recipient"] = (
            destination.get("type") == "email" and destination.get("address") == API_USER["email"]
        )
        destinations.append(item)

    plan.update(
        {
            "scheduled_plan_destination": destinations,
            "id": record.id,
            "created_at": timestamp(record.created_at),
            "updated_at": timestamp(record.updated_at or record.created_at),
            "title": record.title,
            "user": user_public(base_url),
            "next_run_at": None,
            "last_run_at": timestamp(record.last_run_at),
            "can": dict(_PLAN_CAN),
        }
    )
    return plan
