"""Operators that make Looker deliver a dashboard, Look or query once, now."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_looker_trigger.links.looker import CONTENT_URL_XCOM_KEY, LookerContentLink
from airflow_provider_looker_trigger.exceptions import LookerConfigurationError
from airflow_provider_looker_trigger.plan import (
    SOURCE_FIELDS,
    ContentSource,
    Destination,
    PlanOptions,
    build_run_once_body,
    check_filter_names,
    check_id,
    check_option_values,
    check_options,
    decode_filters,
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
    checked before the plan is sent, and a request that may have reached Looker is never sent twice.

    Give exactly one content source (``dashboard_id``, ``lookml_dashboard_id``, ``look_id`` or
    ``query_id``), or ``scheduled_plan_id`` to run a copy of a plan built in Looker, where filters,
    destinations and options given here replace the plan's own.

    :param dashboard_id: id of a user-defined dashboard, or ``model::name`` of a LookML dashboard.
    :param look_id: id of a Look.
    :param lookml_dashboard_id: ``model::name`` of a LookML dashboard.
    :param query_id: id of a saved query.
    :param scheduled_plan_id: id of an existing plan to run a copy of (``POST /scheduled_plans/{id}/run_once``).
    :param destinations: list of destination dicts with ``type`` (``email``, ``webhook``, ``s3``, ``sftp``
        or ``looker-integration://<hub id>::<action name>``), ``address`` (a list of addresses is allowed
        for email), ``format``, and optionally ``apply_formatting``, ``apply_vis``, ``message``,
        ``parameters``, and ``aws_conn_id`` (S3) or ``sftp_conn_id`` (SFTP) naming the Airflow connection
        that holds the destination's secret. Required unless ``scheduled_plan_id`` is set.
    :param filters: optional dict of dashboard filter names to Looker filter expressions, e.g.
        ``{"Date": "90 days", "State / Region": "-Not State"}``, or an already encoded query string,
        which is sent unchanged. Use :func:`~airflow_provider_looker_trigger.plan.filter_literal` for
        values that must match literally.
    :param strict_filters: for dashboards, read the dashboard's filters first and fail if a filter name
        is not among them, because Looker ignores unknown names and would deliver unfiltered rows.
        On by default.
    :param name: optional plan name, shown in Looker and in email subjects; defaults to ``dag_id.task_id``
        (or the original plan's name with ``scheduled_plan_id``). A key unique to the DAG run, task and
        map index is appended in square brackets.
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
        "scheduled_plan_id",
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
        scheduled_plan_id: int | str | None = None,
        destinations: Sequence[Mapping[str, Any]] | None = None,
        filters: Mapping[str, str] | str | None = None,
        strict_filters: bool = True,
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
        self.scheduled_plan_id = scheduled_plan_id
        self.destinations = destinations
        self.filters = filters
        self.strict_filters = strict_filters
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

        self._check_known_arguments()

    def _check_known_arguments(self) -> None:
        """Check, when the DAG file is parsed, every argument that holds no template or XCom reference.

        A mistake then shows as a DAG import error. Templated arguments are checked after rendering,
        still before any request.
        """
        check_option_values(self.options)
        if all(_is_literal(getattr(self, field)) for field in self.template_fields):
            self._check_arguments()
            return
        if _is_literal(self.filters):
            encode_filters(self.filters, allow_empty_values=self.allow_empty_filter_values)
        if self.destinations and _is_literal(self.destinations):
            parse_destinations(self.destinations)

    @property
    def by_plan_id(self) -> bool:
        return self.scheduled_plan_id is not None and self.scheduled_plan_id != ""

    def _check_arguments(self) -> tuple[ContentSource | None, list[Destination], str | None]:
        """Check the arguments that need no request; return the source, destinations and ``filters_string``."""
        filters_string = encode_filters(self.filters, allow_empty_values=self.allow_empty_filter_values)
        if self.by_plan_id:
            given = [field for field in SOURCE_FIELDS.values() if getattr(self, field) not in (None, "")]
            if given:
                raise LookerConfigurationError(
                    f"scheduled_plan_id={self.scheduled_plan_id!r} runs a plan with its own content, so "
                    f"{', '.join(given)} cannot be set too; remove one of them."
                )
            check_id("scheduled_plan_id", self.scheduled_plan_id)
            destinations = parse_destinations(self.destinations) if self.destinations else []
            return None, destinations, filters_string

        source = resolve_source(
            dashboard_id=self.dashboard_id,
            look_id=self.look_id,
            lookml_dashboard_id=self.lookml_dashboard_id,
            query_id=self.query_id,
        )
        destinations = parse_destinations(self.destinations)
        check_options(self.options, source, destinations)
        return source, destinations, filters_string

    def plan_name(self, context: Context, default: str | None = None) -> str:
        """Return the plan name: the given name (or ``default``) and the run's key in brackets."""
        ti = context["ti"]
        key = plan_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))
        if isinstance(self.name, str) and self.name.strip():
            base = self.name.strip()
        else:
            base = default or f"{ti.dag_id}.{ti.task_id}"
        return f"{base} [airflow:{key}]"

    def _get_destination_connection(self, conn_id: str) -> Any:
        from airflow.providers.common.compat.sdk import mask_secret

        conn = self.get_connection(conn_id)
        if conn.password:
            mask_secret(conn.password)
        return conn

    def get_hook(self) -> LookerHook:
        from airflow_provider_looker_trigger.hooks.looker import LookerHook

        return LookerHook(looker_conn_id=self.looker_conn_id)

    def execute(self, context: Context) -> str:
        source, destinations, filters_string = self._check_arguments()
        destinations = resolve_destination_secrets(destinations, self._get_destination_connection)

        with self.get_hook() as hook:
            original_name = None
            if self.by_plan_id:
                existing = hook.get_scheduled_plan(self.scheduled_plan_id)
                source = source_of_plan(existing, self.scheduled_plan_id)
                original_name = existing.get("name") or f"plan {self.scheduled_plan_id}"
                check_options(self.options, source, destinations)
            if self.strict_filters and source.is_dashboard and filters_string:
                self._check_dashboard_filter_names(hook, source, filters_string)

            body = self._body(context, source, destinations, filters_string, original_name)
            context["ti"].xcom_push(key=CONTENT_URL_XCOM_KEY, value=hook.content_url(source.kind, source.id))
            self.log.info(
                "Asking Looker to deliver %s once as plan %r to %s; filters: %s.",
                source.describe(),
                body["name"],
                describe_destinations(destinations) if destinations else f"the destinations of plan {self.scheduled_plan_id}",
                ", ".join(decode_filters(filters_string)) if filters_string else "none",
            )
            if self.by_plan_id:
                plan = hook.run_once_by_id(self.scheduled_plan_id, body, plan_name=body["name"])
            else:
                plan = hook.run_once(body)

        plan_id = str(plan["id"])
        self.log.info(
            "Looker accepted run-once plan %s (%r) for %s; rendering and delivery continue in Looker.",
            plan_id,
            body["name"],
            source.describe(),
        )
        return plan_id

    def _check_dashboard_filter_names(self, hook: LookerHook, source: ContentSource, filters_string: str) -> None:
        dashboard = hook.get_dashboard(source.id)
        names = [item.get("name") for item in dashboard.get("dashboard_filters") or [] if item.get("name")]
        check_filter_names(decode_filters(filters_string), names, content=f"{source.describe()} ({dashboard.get('title') or 'untitled'})")
        self.log.info("Checked filter names against %s: all %d are on the dashboard.", source.describe(), len(decode_filters(filters_string)))

    def _body(
        self,
        context: Context,
        source: ContentSource,
        destinations: list[Destination],
        filters_string: str | None,
        original_name: str | None,
    ) -> dict[str, Any]:
        if not self.by_plan_id:
            return build_run_once_body(
                name=self.plan_name(context),
                source=source,
                destinations=destinations,
                filters_string=filters_string,
                options=self.options,
            )
        body: dict[str, Any] = {"name": self.plan_name(context, default=original_name)}
        if filters_string is not None:
            body["filters_string"] = filters_string
        if destinations:
            body["scheduled_plan_destination"] = [dest.to_api() for dest in destinations]
        for option, value in vars(self.options).items():
            if value is not None:
                body[option] = value
        return body


def source_of_plan(plan: Mapping[str, Any], plan_id: Any) -> ContentSource:
    """Return the content an existing plan delivers."""
    ids = {field: plan.get(field) for field in SOURCE_FIELDS.values() if plan.get(field) not in (None, "")}
    if len(ids) != 1:
        raise LookerConfigurationError(
            f"Scheduled plan {plan_id!r} names {len(ids)} content sources ({', '.join(ids) or 'none'}); "
            "it cannot be run by id. Check it in Looker."
        )
    return resolve_source(**{field: str(value) for field, value in ids.items()})


def describe_destinations(destinations: list[Destination]) -> str:
    """Return e.g. ``"2 destination(s): email, s3"`` for a log line."""
    kinds = ", ".join(sorted({dest.kind for dest in destinations}))
    return f"{len(destinations)} destination(s): {kinds}"


class TriggerDatagroupOperator(BaseOperator):
    """Mark a Looker datagroup as triggered, so that the schedules attached to it deliver.

    Sets the datagroup's ``triggered_at`` and ``stale_before`` to the time the task runs (never the
    time the DAG file was parsed), a few seconds in the past because Looker rejects times in the future
    and worker clocks drift. Looker then runs the attached schedules on its next regenerator cycle, not
    at once, and returns no job id for them.

    :param datagroup: the datagroup's id, or ``model::datagroup_name``, which is looked up.
    :param clock_skew_seconds: how far in the past to set the times.
    :param looker_conn_id: id of the Looker connection.
    """

    template_fields: Sequence[str] = ("datagroup",)
    ui_color = "#ebe4fb"

    def __init__(
        self,
        *,
        datagroup: int | str,
        clock_skew_seconds: int = 2,
        looker_conn_id: str = "looker_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.datagroup = datagroup
        self.clock_skew_seconds = clock_skew_seconds
        self.looker_conn_id = looker_conn_id
        if _is_literal(datagroup):
            self._check_datagroup()
        if isinstance(clock_skew_seconds, bool) or not isinstance(clock_skew_seconds, int) or clock_skew_seconds < 0:
            raise LookerConfigurationError(
                f"Invalid clock_skew_seconds {clock_skew_seconds!r}: give a whole number of seconds, 0 or more."
            )

    def _check_datagroup(self) -> str:
        value = self.datagroup
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
            raise LookerConfigurationError(
                f"Invalid datagroup {value!r}: give a datagroup id or 'model::datagroup_name'."
            )
        text = str(value).strip()
        if "::" in text:
            model, _, name = text.partition("::")
            if not model or not name or "::" in name:
                raise LookerConfigurationError(
                    f"Invalid datagroup {value!r}: use the form 'model::datagroup_name', e.g. 'thelook::orders_datagroup'."
                )
        return text

    def execute(self, context: Context) -> str:
        import pendulum

        from airflow_provider_looker_trigger.hooks.looker import LookerHook

        wanted = self._check_datagroup()
        with LookerHook(looker_conn_id=self.looker_conn_id) as hook:
            datagroup_id, label = self._resolve(hook, wanted)
            moment = pendulum.now("UTC").int_timestamp - self.clock_skew_seconds
            hook.update_datagroup(datagroup_id, triggered_at=moment, stale_before=moment)

        self.log.info(
            "Triggered datagroup %s (%s) at %s. Looker runs the schedules attached to it on its next "
            "regenerator cycle, not at once, and reports no job id for them.",
            datagroup_id,
            label,
            pendulum.from_timestamp(moment).to_iso8601_string(),
        )
        return datagroup_id

    def _resolve(self, hook: LookerHook, wanted: str) -> tuple[str, str]:
        """Return the datagroup id and a ``model::name`` label, looking the name up when needed."""
        if "::" not in wanted:
            return wanted, f"datagroup id {wanted}"
        model, _, name = wanted.partition("::")
        datagroups = hook.get_datagroups() or []
        for item in datagroups:
            if item.get("model_name") == model and item.get("name") == name:
                return str(item["id"]), wanted
        known = sorted(f"{item.get('model_name')}::{item.get('name')}" for item in datagroups)
        from airflow_provider_looker_trigger.plan import closest_names

        suggestions = closest_names(wanted, known)
        hint = f" Did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
        raise LookerConfigurationError(
            f"Looker has no datagroup {wanted!r} visible to this API user.{hint} Known datagroups: {', '.join(known) or 'none'}."
        )
