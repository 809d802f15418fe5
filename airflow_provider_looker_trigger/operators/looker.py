"""Operators that make Looker deliver a dashboard, Look or query once, now."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_looker_trigger.links.looker import CONTENT_URL_XCOM_KEY, LookerContentLink
from airflow_provider_looker_trigger.plan import (
    ContentSource,
    Destination,
    PlanOptions,
    build_run_once_body,
    check_options,
    encode_filters,
    parse_destinations,
    resolve_destination_secrets,
    resolve_source,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_looker_trigger.hooks.looker import LookerHook


def plan_key(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> str:
    """Return a short key unique to one DAG run, task and map index, carried in the plan name."""
    seed = "\x1f".join((dag_id, run_id, task_id, str(-1 if map_index is None else map_index)))
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def _is_literal(value: Any) -> bool:
    """Return whether ``value`` is known when the DAG file is parsed (no Jinja, no XCom reference)."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if isinstance(value, Mapping):
        return all(_is_literal(k) and _is_literal(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_literal(item) for item in value)
    return False


class RunOncePlanOperator(BaseOperator):
    """Make Looker render a dashboard, LookML dashboard, Look or query once and deliver it now.

    Put it downstream of the tasks that load the data the content shows. The task creates a run-once
    scheduled plan (``POST /scheduled_plans/run_once``) and returns the new plan's id. Every argument is
    checked before any request, and a request that may have reached Looker is never sent twice.

    :param dashboard_id: id of a user-defined dashboard, or ``model::name`` of a LookML dashboard.
    :param look_id: id of a Look.
    :param lookml_dashboard_id: ``model::name`` of a LookML dashboard.
    :param query_id: id of a saved query. Exactly one of the four content ids must be set.
    :param destinations: list of destination dicts with ``type`` (``email``, ``webhook``, ``s3``, ``sftp``
        or ``looker-integration://<hub id>::<action name>``), ``address`` (a list of addresses is allowed
        for email), ``format``, and optionally ``apply_formatting``, ``apply_vis``, ``message``,
        ``parameters``, and ``aws_conn_id`` (S3) or ``sftp_conn_id`` (SFTP) naming the Airflow connection
        that holds the destination's secret.
    :param filters: optional dict of dashboard filter names to Looker filter expressions, e.g.
        ``{"Date": "90 days", "State / Region": "-Not State"}``, or an already encoded query string,
        which is sent unchanged.
    :param name: optional plan name, shown in Looker and in email subjects; defaults to ``dag_id.task_id``.
        A key unique to the DAG run, task and map index is appended in square brackets.
    :param timezone: optional IANA time zone the content's dates are computed in.
    :param pdf_paper_size: optional paper size for PDFs: letter, legal, tabloid or a0 to a5.
    :param pdf_landscape: optional, render PDFs in landscape.
    :param long_tables: optional, expand table tiles to their full length in PDFs.
    :param send_all_results: optional, send all rows instead of the content's row limit (Looks and queries).
    :param run_as_recipient: optional, run the queries as each email recipient (email destinations only).
    :param include_links: optional, add links back to Looker.
    :param require_results: optional, deliver a Look only if it has results.
    :param require_no_results: optional, deliver a Look only if it has no results.
    :param require_change: optional, deliver a Look only if its results changed since the last run.
    :param allow_empty_filter_values: accept empty filter values, which make Looker ignore that filter.
    :param looker_conn_id: id of the Looker connection.
    """

    template_fields: Sequence[str] = (
        "dashboard_id",
        "look_id",
        "lookml_dashboard_id",
        "query_id",
        "filters",
        "destinations",
        "name",
    )
    template_fields_renderers = {"filters": "json", "destinations": "json"}
    operator_extra_links = (LookerContentLink(),)
    ui_color = "#ebe4fb"

    def __init__(
        self,
        *,
        dashboard_id: int | str | None = None,
        look_id: int | str | None = None,
        lookml_dashboard_id: str | None = None,
        query_id: int | str | None = None,
        destinations: Sequence[Mapping[str, Any]] | None = None,
        filters: Mapping[str, str] | str | None = None,
        name: str | None = None,
        timezone: str | None = None,
        pdf_paper_size: str | None = None,
        pdf_landscape: bool | None = None,
        long_tables: bool | None = None,
        send_all_results: bool | None = None,
        run_as_recipient: bool | None = None,
        include_links: bool | None = None,
        require_results: bool | None = None,
        require_no_results: bool | None = None,
        require_change: bool | None = None,
        allow_empty_filter_values: bool = False,
        looker_conn_id: str = "looker_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dashboard_id = dashboard_id
        self.look_id = look_id
        self.lookml_dashboard_id = lookml_dashboard_id
        self.query_id = query_id
        self.destinations = destinations
        self.filters = filters
        self.name = name
        self.options = PlanOptions(
            timezone=timezone,
            pdf_paper_size=pdf_paper_size,
            pdf_landscape=pdf_landscape,
            long_tables=long_tables,
            send_all_results=send_all_results,
            run_as_recipient=run_as_recipient,
            include_links=include_links,
            require_results=require_results,
            require_no_results=require_no_results,
            require_change=require_change,
        )
        self.allow_empty_filter_values = allow_empty_filter_values
        self.looker_conn_id = looker_conn_id

        # Arguments known at parse time are checked now, so a mistake shows as a DAG import error;
        # templated ones are checked after rendering, still before any request.
        if all(_is_literal(getattr(self, name)) for name in self.template_fields):
            self._checked_plan_parts()

    def _checked_plan_parts(self) -> tuple[ContentSource, list[Destination], str | None]:
        """Check the content arguments and return the source, destinations and ``filters_string``."""
        source = resolve_source(
            dashboard_id=self.dashboard_id,
            look_id=self.look_id,
            lookml_dashboard_id=self.lookml_dashboard_id,
            query_id=self.query_id,
        )
        destinations = parse_destinations(self.destinations)
        filters_string = encode_filters(self.filters, allow_empty_values=self.allow_empty_filter_values)
        check_options(self.options, source, destinations)
        return source, destinations, filters_string

    def plan_name(self, context: Context) -> str:
        """Return the plan name: the given name (or ``dag_id.task_id``) and the run's key in brackets."""
        ti = context["ti"]
        key = plan_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))
        base = self.name.strip() if isinstance(self.name, str) and self.name.strip() else f"{ti.dag_id}.{ti.task_id}"
        return f"{base} [airflow:{key}]"

    def _get_destination_connection(self, conn_id: str) -> Any:
        from airflow.providers.common.compat.sdk import mask_secret

        conn = self.get_connection(conn_id)
        if conn.password:
            mask_secret(conn.password)
        return conn

    def prepare(self, context: Context) -> tuple[ContentSource, list[Destination], dict[str, Any]]:
        """Check the rendered arguments and return the source, destinations and run_once body; sends nothing."""
        source, destinations, filters_string = self._checked_plan_parts()
        destinations = resolve_destination_secrets(destinations, self._get_destination_connection)
        body = build_run_once_body(
            name=self.plan_name(context),
            source=source,
            destinations=destinations,
            filters_string=filters_string,
            options=self.options,
        )
        return source, destinations, body

    def get_hook(self) -> LookerHook:
        from airflow_provider_looker_trigger.hooks.looker import LookerHook

        return LookerHook(looker_conn_id=self.looker_conn_id)

    def execute(self, context: Context) -> str:
        source, destinations, body = self.prepare(context)
        kinds = ", ".join(sorted({dest.kind for dest in destinations}))
        filter_names = ", ".join(encode_filters_names(self.filters)) or "none"

        with self.get_hook() as hook:
            context["ti"].xcom_push(key=CONTENT_URL_XCOM_KEY, value=hook.content_url(source.kind, source.id))
            self.log.info(
                "Asking Looker to deliver %s once as plan %r to %d destination(s) (%s); filters: %s.",
                source.describe(),
                body["name"],
                len(destinations),
                kinds,
                filter_names,
            )
            plan = hook.run_once(body)

        plan_id = str(plan["id"])
        self.log.info(
            "Looker accepted run-once plan %s (%r) for %s; rendering and delivery continue in Looker.",
            plan_id,
            body["name"],
            source.describe(),
        )
        return plan_id


def encode_filters_names(filters: Any) -> list[str]:
    """Return the filter names for a log line; an encoded query string is shown as given."""
    if isinstance(filters, Mapping):
        return [str(name) for name in filters]
    if isinstance(filters, str) and filters:
        return [filters]
    return []
