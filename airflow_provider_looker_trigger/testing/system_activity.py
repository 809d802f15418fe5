"""System Activity in the Looker emulator: inline queries on model ``system__activity``, Explore ``scheduled_plan``.

Rows are one per scheduled job joined to its plan, and one with empty job fields for a plan that never
ran. Unlike Looker there is no System Activity cache, so a job shows up as soon as it exists.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from . import filters as looker_filters
from .records import Job
from .resources import PlanRecord
from .validation import FieldError

MODEL = "system__activity"
EXPLORE = "scheduled_plan"
PERMISSION = "see_system_activity"
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000

Row = tuple[PlanRecord, Job | None]


def _number(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _time(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _yes_no(value: Any) -> str:
    return "Yes" if value else "No"


# Field name -> (filter kind, value getter). Times are filtered by their UTC date.
FIELDS: dict[str, tuple[str, Callable[[PlanRecord, Job | None], Any]]] = {
    "scheduled_plan.id": ("number", lambda plan, job: _number(plan.id)),
    "scheduled_plan.name": ("string", lambda plan, job: plan.body.get("name")),
    "scheduled_plan.run_once": ("string", lambda plan, job: _yes_no(plan.body.get("run_once"))),
    "scheduled_plan.enabled": ("string", lambda plan, job: _yes_no(plan.body.get("enabled", True))),
    "scheduled_plan.dashboard_id": ("number", lambda plan, job: _number(plan.body.get("dashboard_id"))),
    "scheduled_plan.look_id": ("number", lambda plan, job: _number(plan.body.get("look_id"))),
    "scheduled_plan.lookml_dashboard_id": ("string", lambda plan, job: plan.body.get("lookml_dashboard_id")),
    "scheduled_plan.datagroup": ("string", lambda plan, job: plan.body.get("datagroup")),
    "scheduled_job.id": ("number", lambda plan, job: _number(job.id) if job else None),
    "scheduled_job.status": ("string", lambda plan, job: job.status if job else None),
    "scheduled_job.status_detail": ("string", lambda plan, job: job.status_detail if job else None),
    "scheduled_job.created_time": ("date", lambda plan, job: _time(job.created_time) if job else None),
    "scheduled_job.finalized_time": ("date", lambda plan, job: _time(job.finalized_time) if job else None),
}


class QueryFailed(ValueError):
    """The inline query cannot run; ``errors`` become the ``errors`` list of the 422 response."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


def _filter_value(kind: str, value: Any) -> Any:
    if kind == "date" and isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    return value


def run_query(
    body: dict[str, Any], joined: Iterable[Row], today: datetime.date
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run an inline System Activity query over (plan, job) pairs and return the rows and the field list."""
    errors: list[FieldError] = []
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields or not all(isinstance(name, str) for name in fields):
        errors.append(FieldError("fields", "missing", "fields must be a non-empty array of field names"))
        fields = []
    for name in fields:
        if name not in FIELDS:
            errors.append(
                FieldError(
                    "fields",
                    "invalid",
                    f"Unknown field {name!r} in Explore {EXPLORE!r} (emulated fields: {', '.join(FIELDS)})",
                )
            )

    checks = []
    query_filters = body.get("filters") or {}
    if not isinstance(query_filters, dict):
        errors.append(FieldError("filters", "invalid", "filters must be an object of field name to filter expression"))
        query_filters = {}
    for name, expression in query_filters.items():
        if name not in FIELDS:
            errors.append(FieldError("filters", "invalid", f"Unknown filter field {name!r} in Explore {EXPLORE!r}"))
            continue
        if not isinstance(expression, str):
            errors.append(FieldError("filters", "invalid", f"The filter on {name!r} must be a string expression"))
            continue
        if not expression:
            continue
        kind = FIELDS[name][0]
        try:
            checks.append((name, kind, looker_filters.compile_filter(expression, kind, today=today)))
        except looker_filters.UnsupportedFilterExpression as error:
            errors.append(
                FieldError("filters", "unsupported_by_emulator", f"Cannot evaluate {name} = {expression!r}: {error}")
            )

    sorts = []
    for sort in body.get("sorts") or []:
        name, _, direction = str(sort).partition(" ")
        if name not in FIELDS:
            errors.append(FieldError("sorts", "invalid", f"Unknown sort field {name!r}"))
            continue
        sorts.append((name, direction.strip().lower() == "desc"))

    limit = DEFAULT_LIMIT
    if body.get("limit") not in (None, ""):
        try:
            limit = int(body["limit"])
        except (TypeError, ValueError):
            errors.append(FieldError("limit", "invalid", f"limit {body['limit']!r} must be a whole number as a string"))
        if limit < 0:
            limit = MAX_LIMIT
    limit = min(limit, MAX_LIMIT)
    if errors:
        raise QueryFailed(errors)

    rows: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for plan, job in joined:
        if not all(matcher(_filter_value(kind, FIELDS[name][1](plan, job))) for name, kind, matcher in checks):
            continue
        row = {name: FIELDS[name][1](plan, job) for name in fields}
        # Looker groups by the selected dimensions, so identical rows appear once.
        key = tuple(row.values())
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)

    for name, descending in reversed(sorts):
        rows.sort(key=lambda row, name=name: (row.get(name) is None, row.get(name)), reverse=descending)
    return rows[:limit], list(fields)
