"""Content served by the Looker emulator: queries, Looks, dashboards, datagroups and saved plans.

Everything here is plain data. A test can build its own :class:`Content`, or add entries to the one
returned by :func:`demo_content`, before passing it to ``LookerEmulator(content=...)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

DEMO_MODEL = "thelook"
DEMO_EXPLORE = "order_items"
DEMO_TABLE = "orders"

FILTER_KINDS = ("string", "date", "number")


@dataclass(frozen=True)
class FieldDef:
    """A Looker field backed by one warehouse column.

    ``measure`` is ``None`` for a dimension, or ``"sum"`` / ``"count"`` for a measure that the emulator
    aggregates over the rows grouped by the query's dimensions.
    """

    name: str
    column: str
    kind: str
    label: str
    measure: str | None = None


@dataclass
class QueryDef:
    """A saved Looker query over one warehouse table; ``filters`` maps field names to filter expressions."""

    id: str
    model: str
    view: str
    table: str
    fields: list[FieldDef]
    filters: dict[str, str] = field(default_factory=dict)
    sorts: list[str] = field(default_factory=list)
    limit: str | None = None

    def field_named(self, name: str) -> FieldDef | None:
        for query_field in self.fields:
            if query_field.name == name:
                return query_field
        return None


@dataclass
class LookDef:
    """A saved Look: a title over one query."""

    id: str
    title: str
    query_id: str
    description: str = ""
    folder_id: str = "1"


@dataclass
class DashboardFilterDef:
    """One entry of a dashboard's ``dashboard_filters``.

    ``dimension`` is the Looker field the filter applies to on every tile whose query has that field.
    ``kind`` selects how the filter expression is read: "string", "date" or "number".
    """

    id: str
    name: str
    dimension: str
    kind: str
    title: str | None = None
    default_value: str | None = None
    allow_multiple_values: bool = True
    required: bool = False
    model: str = DEMO_MODEL
    explore: str = DEMO_EXPLORE
    type: str = "field_filter"


@dataclass
class TileDef:
    """A dashboard tile showing one query."""

    id: str
    title: str
    query_id: str


@dataclass
class DashboardDef:
    """A user-defined dashboard (numeric-looking id) or a LookML dashboard (id ``model::name``)."""

    id: str
    title: str
    filters: list[DashboardFilterDef]
    tiles: list[TileDef]
    description: str = ""
    folder_id: str = "1"

    @property
    def is_lookml(self) -> bool:
        return "::" in self.id


@dataclass
class DatagroupDef:
    """A LookML datagroup; ``triggered_at`` and ``stale_before`` are UNIX seconds."""

    id: str
    model_name: str
    name: str
    created_at: int = 1_700_000_000
    triggered_at: int | None = None
    stale_before: int | None = None
    trigger_value: str | None = None

    @property
    def key(self) -> str:
        """Return the ``model::name`` form that a scheduled plan's ``datagroup`` field uses."""
        return f"{self.model_name}::{self.name}"


@dataclass
class Content:
    """All content one emulator serves, keyed by id."""

    queries: dict[str, QueryDef] = field(default_factory=dict)
    looks: dict[str, LookDef] = field(default_factory=dict)
    dashboards: dict[str, DashboardDef] = field(default_factory=dict)
    datagroups: dict[str, DatagroupDef] = field(default_factory=dict)
    # Saved scheduled plans in the ``WriteScheduledPlan`` shape; the emulator adds the read-only fields.
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_query(self, query: QueryDef) -> QueryDef:
        self.queries[query.id] = query
        return query

    def add_look(self, look: LookDef) -> LookDef:
        self.looks[look.id] = look
        return look

    def add_dashboard(self, dashboard: DashboardDef) -> DashboardDef:
        self.dashboards[dashboard.id] = dashboard
        return dashboard

    def add_datagroup(self, datagroup: DatagroupDef) -> DatagroupDef:
        self.datagroups[datagroup.id] = datagroup
        return datagroup

    def add_plan(self, plan_id: str, plan: dict[str, Any]) -> dict[str, Any]:
        self.plans[plan_id] = plan
        return plan

    def copy(self) -> Content:
        return copy.deepcopy(self)


def _order_fields() -> dict[str, FieldDef]:
    """Return the fields of the demo ``order_items`` Explore, keyed by Looker field name."""
    fields = [
        FieldDef("order_items.created_date", "created_date", "date", "Order Items Created Date"),
        FieldDef("users.state", "state", "string", "Users State"),
        FieldDef("products.brand", "brand", "string", "Products Brand"),
        FieldDef("products.category", "category", "string", "Products Category"),
        FieldDef("order_items.sale_price", "sale_price", "number", "Order Items Sale Price"),
        FieldDef("order_items.total_sale_price", "sale_price", "number", "Order Items Total Sale Price", "sum"),
        FieldDef("order_items.count", "order_id", "number", "Order Items Count", "count"),
    ]
    return {query_field.name: query_field for query_field in fields}


def _business_pulse_filters() -> list[DashboardFilterDef]:
    return [
        DashboardFilterDef("101", "Date", "order_items.created_date", "date", title="Date"),
        DashboardFilterDef("102", "State / Region", "users.state", "string", title="State / Region"),
        DashboardFilterDef("103", "Brand", "products.brand", "string", title="Brand"),
        DashboardFilterDef("104", "Category", "products.category", "string", title="Category"),
    ]


def demo_content() -> Content:
    """Build the demo content: dashboard 73, Look 42, LookML dashboard, datagroups and plans 501/502."""
    fields = _order_fields()
    content = Content()

    def query(query_id: str, names: list[str], sorts: list[str]) -> QueryDef:
        return content.add_query(
            QueryDef(
                id=query_id,
                model=DEMO_MODEL,
                view=DEMO_EXPLORE,
                table=DEMO_TABLE,
                fields=[fields[name] for name in names],
                sorts=sorts,
            )
        )

    query(
        "1001",
        ["order_items.created_date", "products.brand", "order_items.sale_price"],
        ["order_items.created_date desc"],
    )
    query(
        "1002",
        [
            "order_items.created_date",
            "users.state",
            "products.brand",
            "products.category",
            "order_items.sale_price",
        ],
        ["order_items.created_date desc"],
    )
    query(
        "1003",
        ["products.brand", "order_items.count", "order_items.total_sale_price"],
        ["order_items.total_sale_price desc"],
    )

    content.add_look(LookDef("42", "Daily sales", "1001", description="Sale price of every order item by day."))

    tiles = [TileDef("201", "Orders", "1002"), TileDef("202", "Sales by brand", "1003")]
    content.add_dashboard(
        DashboardDef("73", "Business Pulse", _business_pulse_filters(), tiles, description="Orders at a glance.")
    )
    lookml_tiles = [TileDef("thelook::business_pulse::orders", "Orders", "1002")]
    content.add_dashboard(
        DashboardDef("thelook::business_pulse", "Business Pulse (LookML)", _business_pulse_filters(), lookml_tiles)
    )

    content.add_datagroup(DatagroupDef("1", DEMO_MODEL, "orders_datagroup"))
    content.add_datagroup(DatagroupDef("2", DEMO_MODEL, "daily"))

    content.add_plan(
        "501",
        {
            "name": "Business Pulse for analytics",
            "user_id": "1",
            "dashboard_id": "73",
            "filters_string": "?Brand=Carhartt",
            "crontab": "0 7 * * *",
            "timezone": "UTC",
            "enabled": True,
            "scheduled_plan_destination": [
                {"type": "email", "address": "analytics@example.com", "format": "wysiwyg_pdf"},
            ],
        },
    )
    content.add_plan(
        "502",
        {
            "name": "Daily sales after the orders load",
            "user_id": "1",
            "look_id": "42",
            "datagroup": "thelook::orders_datagroup",
            "enabled": True,
            "require_results": False,
            "require_no_results": False,
            "require_change": False,
            "scheduled_plan_destination": [
                {"type": "webhook", "address": "https://hooks.example.com/daily-sales", "format": "json"},
            ],
        },
    )
    return content
