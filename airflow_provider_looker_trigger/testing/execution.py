"""Plan execution in the Looker emulator: filter resolution, queries over the warehouse and rendering.

A run has two steps. :func:`prepare_run` checks everything that depends on the content (ids, filter names,
filter expressions) while the HTTP request is still open, so problems become 404 or 422 responses.
:func:`execute_query` and :func:`render_destination` then produce the rows and files when the job runs.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import filters as looker_filters
from . import rendering, warehouse
from .content import Content, DashboardDef, FieldDef, QueryDef
from .validation import FieldError, content_kind

# Looks and queries accept filter keys written as the field name or as in Looker's Explore URLs, f[field].
# NOTE: Looker does not document the key format of filters_string for Looks, so both forms are accepted.
_LOOK_FILTER_PREFIX = "f["

class ContentNotFound(LookupError):
    """The plan names a Look, dashboard or query that the emulator does not have."""


class PlanRejected(ValueError):
    """The plan cannot run as sent; ``errors`` become the ``errors`` list of the 422 response."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


Matcher = Callable[[object], bool]


@dataclass
class TileRun:
    """One query of a run with the filter matchers that apply to it, keyed by field name."""

    title: str
    query: QueryDef
    matchers: dict[str, Matcher] = field(default_factory=dict)


@dataclass
class PreparedRun:
    """A plan checked against the content and ready to execute."""

    plan: dict[str, Any]
    source: str
    content_id: str
    title: str
    filters: dict[str, str]
    ignored_filters: list[str]
    tiles: list[TileRun]
    today: datetime.date


def plan_today(plan: dict[str, Any], now: datetime.datetime) -> datetime.date:
    """Return the current date in the plan's time zone (UTC when the plan has none)."""
    timezone_name = plan.get("timezone") or "UTC"
    return now.astimezone(zoneinfo.ZoneInfo(timezone_name)).date()


def _compile(expression: str, filter_name: str, query_field: FieldDef, today: datetime.date) -> Matcher:
    try:
        return looker_filters.compile_filter(expression, query_field.kind, today=today)
    except looker_filters.UnsupportedFilterExpression as error:
        raise PlanRejected(
            [
                FieldError(
                    "filters_string",
                    "unsupported_by_emulator",
                    f"The Looker emulator cannot evaluate the {query_field.kind} filter {filter_name!r} = "
                    f"{expression!r}: {error}",
                )
            ]
        ) from error


def _parse_plan_filters(plan: dict[str, Any]) -> dict[str, str]:
    filters_string = plan.get("filters_string")
    legacy = plan.get("dashboard_filters")
    source_field = "filters_string"
    if filters_string in (None, "") and legacy not in (None, ""):
        filters_string = legacy
        source_field = "dashboard_filters"
    if filters_string in (None, ""):
        return {}
    try:
        return looker_filters.parse_filters_string(filters_string)
    except ValueError as error:
        raise PlanRejected(
            [FieldError(source_field, "invalid", f"{source_field} {filters_string!r} is invalid: {error}")]
        ) from error


def prepare_run(plan: dict[str, Any], content: Content, now: datetime.datetime) -> PreparedRun:
    """Resolve a validated plan against the content.

    Raises ContentNotFound for an unknown content id and PlanRejected for filters the emulator cannot run.
    """
    kind = content_kind(plan)
    if kind is None:
        raise PlanRejected([FieldError("look_id", "missing", "The plan names no content")])
    content_id = str(plan[f"{kind}_id"])
    today = plan_today(plan, now)
    requested = _parse_plan_filters(plan)

    if kind in ("dashboard", "lookml_dashboard"):
        dashboard = content.dashboards.get(content_id)
        if dashboard is None or dashboard.is_lookml != (kind == "lookml_dashboard"):
            label = "LookML dashboard" if kind == "lookml_dashboard" else "Dashboard"
            raise ContentNotFound(f"{label} {content_id!r} not found")
        return _prepare_dashboard(plan, kind, dashboard, content, requested, today)

    if kind == "look":
        look = content.looks.get(content_id)
        if look is None:
            raise ContentNotFound(f"Look {content_id!r} not found")
        query = content.queries[look.query_id]
        title = look.title
    else:
        query = content.queries.get(content_id)
        if query is None:
            raise ContentNotFound(f"Query {content_id!r} not found")
        title = f"Query {query.id}"
    tile, applied, ignored = _prepare_query_filters(query, title, requested, today)
    return PreparedRun(plan, kind, content_id, title, applied, ignored, [tile], today)


def _prepare_query_filters(
    query: QueryDef, title: str, requested: dict[str, str], today: datetime.date
) -> tuple[TileRun, dict[str, str], list[str]]:
    tile = TileRun(title, query)
    for field_name, expression in query.filters.items():
        query_field = query.field_named(field_name)
        if query_field is not None and expression:
            tile.matchers[field_name] = _compile(expression, field_name, query_field, today)

    applied: dict[str, str] = {}
    ignored: list[str] = []
    for key, expression in requested.items():
        field_name = (
            key[len(_LOOK_FILTER_PREFIX) : -1] if key.startswith(_LOOK_FILTER_PREFIX) and key.endswith("]") else key
        )
        query_field = query.field_named(field_name)
        if query_field is None:
            ignored.append(key)
            continue
        if query_field.measure is not None:
            raise PlanRejected(
                [
                    FieldError(
                        "filters_string",
                        "unsupported_by_emulator",
                        f"The Looker emulator cannot filter on the measure {field_name!r}",
                    )
                ]
            )
        applied[key] = expression
        tile.matchers.pop(field_name, None)
        if expression:
            tile.matchers[field_name] = _compile(expression, key, query_field, today)
    return tile, applied, ignored


def _prepare_dashboard(
    plan: dict[str, Any],
    kind: str,
    dashboard: DashboardDef,
    content: Content,
    requested: dict[str, str],
    today: datetime.date,
) -> PreparedRun:
    by_name = {dashboard_filter.name: dashboard_filter for dashboard_filter in dashboard.filters}
    ignored = [name for name in requested if name not in by_name]
    applied = {name: value for name, value in requested.items() if name in by_name}

    effective: dict[str, str] = {}
    missing: list[FieldError] = []
    for dashboard_filter in dashboard.filters:
        value = applied.get(dashboard_filter.name, dashboard_filter.default_value or "")
        if value:
            effective[dashboard_filter.name] = value
        elif dashboard_filter.required:
            missing.append(
                FieldError(
                    "filters_string",
                    "missing",
                    f"The dashboard filter {dashboard_filter.name!r} is required and has no value or default",
                )
            )
    if missing:
        raise PlanRejected(missing)

    tiles: list[TileRun] = []
    for tile in dashboard.tiles:
        query = content.queries[tile.query_id]
        tile_run = TileRun(tile.title, query)
        for field_name, expression in query.filters.items():
            query_field = query.field_named(field_name)
            if query_field is not None and expression:
                tile_run.matchers[field_name] = _compile(expression, field_name, query_field, today)
        for dashboard_filter in dashboard.filters:
            query_field = query.field_named(dashboard_filter.dimension)
            if query_field is None or dashboard_filter.name not in effective:
                continue
            expression = effective[dashboard_filter.name]
            tile_run.matchers[query_field.name] = _compile(expression, dashboard_filter.name, query_field, today)
        tiles.append(tile_run)
    return PreparedRun(plan, kind, dashboard.id, dashboard.title, applied, ignored, tiles, today)


def _filter_value(value: object, kind: str) -> object:
    """Convert a warehouse value to what a compiled filter of ``kind`` expects."""
    if kind == "date" and isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    return value


def _sort_key(value: object) -> tuple[int, object]:
    return (1, 0) if value is None else (0, value)


def execute_query(tile: TileRun, warehouse_path: Path) -> list[dict[str, Any]]:
    """Run one tile's query over the warehouse and return rows keyed by Looker field name."""
    query = tile.query
    columns: list[str] = []
    for query_field in query.fields:
        if query_field.column not in columns:
            columns.append(query_field.column)
    checks: list[tuple[str, str, Matcher]] = []
    for name, matcher in tile.matchers.items():
        query_field = query.field_named(name)
        if query_field is None:
            raise ValueError(f"query {query.id} has no field {name!r} to filter on")
        checks.append((query_field.column, query_field.kind, matcher))
        if query_field.column not in columns:
            columns.append(query_field.column)

    records = warehouse.query_rows(warehouse_path, query.table, columns)
    matching_records = [
        record
        for record in records
        if all(matcher(_filter_value(record[column], kind)) for column, kind, matcher in checks)
    ]

    dimensions = [query_field for query_field in query.fields if query_field.measure is None]
    measures = [query_field for query_field in query.fields if query_field.measure is not None]
    if measures:
        rows = _aggregate(matching_records, dimensions, measures)
    else:
        rows = [
            {query_field.name: record[query_field.column] for query_field in dimensions} for record in matching_records
        ]

    for sort in reversed(query.sorts):
        name, _, direction = sort.partition(" ")
        rows.sort(key=lambda row, name=name: _sort_key(row.get(name)), reverse=direction.strip().lower() == "desc")
    if query.limit:
        rows = rows[: int(query.limit)]
    return rows


def _aggregate(
    records: list[dict[str, Any]], dimensions: list[FieldDef], measures: list[FieldDef]
) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        key = tuple(record[dimension.column] for dimension in dimensions)
        groups.setdefault(key, []).append(record)
    rows = []
    for key, members in groups.items():
        row = {dimension.name: value for dimension, value in zip(dimensions, key)}
        for measure in measures:
            if measure.measure == "count":
                row[measure.name] = len(members)
            else:
                row[measure.name] = round(sum(member[measure.column] or 0 for member in members), 2)
        rows.append(row)
    return rows


def render_tiles(run: PreparedRun, tile_rows: list[list[dict[str, Any]]], output_format: str) -> tuple[bytes, str]:
    """Render the rows of a run in ``output_format`` and return the bytes and the file extension.

    ``tile_rows`` contains the rows of each entry of ``run.tiles``, in the same order.

    Looks and queries render their single query. For dashboards, csv_zip contains one CSV per tile and the
    other formats render the first tile, with a note inside a stand-in PDF or PNG naming the others.
    """
    if output_format == "csv_zip":
        tiles = [
            (tile.title, rows, [query_field.name for query_field in tile.query.fields])
            for tile, rows in zip(run.tiles, tile_rows)
        ]
        return rendering.render_csv_zip(tiles), rendering.FORMAT_EXTENSIONS["csv_zip"]
    first = run.tiles[0]
    rows = tile_rows[0]
    columns = [query_field.name for query_field in first.query.fields]
    note = None
    others = [tile.title for tile in run.tiles[1:]]
    if output_format in ("wysiwyg_pdf", "assembled_pdf", "wysiwyg_png") and others:
        # The stand-in's first line already states that it is not a Looker rendering, so the note only adds the missing tiles.
        note = "Tiles not shown: " + ", ".join(others) + "."
    return rendering.render(rows, columns, output_format, title=run.title, stand_in_note=note)
