"""Operators that make Looker deliver a dashboard, Look or query once, now."""

from __future__ import annotations

import datetime
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_looker_trigger.exceptions import (
    LookerConfigurationError,
    LookerDeliveryUnknownError,
    LookerError,
    LookerPermissionError,
    note_not_delivered,
)
from airflow_provider_looker_trigger.links.looker import CONTENT_URL_XCOM_KEY, LookerContentLink
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

    from airflow_provider_looker_trigger.delivery import DeliveryTarget, JobState
    from airflow_provider_looker_trigger.hooks.looker import LookerHook

ON_UNVERIFIED_RETRY_CHOICES = ("fail", "send")


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


def _positive_seconds(name: str, value: Any) -> float:
    """Return ``value`` (a number of seconds or a timedelta) as float seconds, or raise if it is not above 0."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise LookerConfigurationError(f"Invalid {name} {value!r}: give a number of seconds greater than 0.")
    return float(value)


class RunOncePlanOperator(BaseOperator):
    """Make Looker render a dashboard, LookML dashboard, Look or query once and deliver it now.

    Put it downstream of the tasks that load the data the content shows. The task creates a run-once
    scheduled plan (``POST /scheduled_plans/run_once``) and returns the new plan's id. Every argument is
    checked before the plan is sent, and a request that may have reached Looker is never sent twice.

    Give exactly one content source (``dashboard_id``, ``lookml_dashboard_id``, ``look_id`` or
    ``query_id``), or ``scheduled_plan_id`` to run a copy of a plan built in Looker, where filters,
    destinations and options given here replace the plan's own.

    **Waiting for the delivery.** Looker's response to run_once only means that it accepted the plan;
    a scheduled job renders and delivers it afterwards. With ``wait_for_delivery=True`` the task reads
    the job's state from System Activity every ``poll_interval`` seconds until the job finishes. When
    Looker delivered, the task succeeds and pushes the job (``JobState.to_dict()``, with ``job_id`` and
    ``status``) to XCom under the key ``looker_delivery``. The return value stays the plan id. The task
    fails with Looker's ``status_detail`` when the job failed. When ``delivery_timeout`` seconds pass
    first, it fails saying that the delivery state is unknown, with the plan to look for in Looker.
    Reading System Activity needs the ``see_system_activity`` permission. ``deferrable=True`` waits in
    the triggerer instead of holding a worker slot, and implies ``wait_for_delivery``. The synchronous
    wait keeps one Looker session and logs out at the end; the deferred wait logs out before deferring.

    **Retries do not deliver twice.** Every plan name carries ``[airflow:<key>]``, a key unique to the
    DAG run, task and map index. From the second try on (``try_number > 1``, which includes a cleared
    task), the task first reads the jobs of plans with its key from System Activity. When an earlier
    try's plan was delivered or is still running, the task does not send it again: it logs why,
    returns that plan's id and, when waiting, waits for that plan. Only when every earlier plan failed,
    or none reached Looker, is the plan sent again. Without the ``see_system_activity`` permission the
    earlier tries cannot be checked, and ``on_unverified_retry`` decides. ``"fail"`` (the default)
    fails the try with a message that names the plan key to look for in Looker and the permission.
    ``"send"`` logs a warning and sends, which may deliver the report twice. To deliver again on
    purpose after a successful delivery, clear the task with ``check_earlier_tries=False`` or start a
    new DAG run.

    NOTE: both the wait and the retry check see only what System Activity shows. Where Looker serves
    System Activity from a cache or from a store refreshed periodically, a new job can show up late:
    a wait then ends with the state unknown, and a retry that starts before the earlier try's plan
    shows up sends the plan again. Airflow's default ``retry_delay`` (``[core] default_task_retry_delay``,
    300 s) leaves time for a short delay.

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
    :param wait_for_delivery: wait until Looker's job has delivered the plan, and fail if it failed.
    :param deferrable: wait in the triggerer instead of a worker; implies ``wait_for_delivery``. The
        default comes from the ``[operators] default_deferrable`` option.
    :param poll_interval: seconds between two reads of the job's state (a number or a timedelta). Each
        read is one API call that counts against Looker's quota.
    :param delivery_timeout: seconds to wait for the job to finish (a number or a timedelta).
    :param check_earlier_tries: from the second try on, check whether an earlier try's plan was
        delivered or is still running before sending.
    :param on_unverified_retry: what a retry does when earlier tries cannot be checked because the API
        user lacks ``see_system_activity``: ``"fail"`` or ``"send"``.
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
        wait_for_delivery: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | datetime.timedelta = 60.0,
        delivery_timeout: float | datetime.timedelta = 3600.0,
        check_earlier_tries: bool = True,
        on_unverified_retry: str = "fail",
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
        self.deferrable = bool(deferrable)
        self.wait_for_delivery = bool(wait_for_delivery) or self.deferrable
        self.poll_interval = _positive_seconds("poll_interval", poll_interval)
        self.delivery_timeout = _positive_seconds("delivery_timeout", delivery_timeout)
        self.check_earlier_tries = bool(check_earlier_tries)
        if on_unverified_retry not in ON_UNVERIFIED_RETRY_CHOICES:
            raise LookerConfigurationError(
                f"Invalid on_unverified_retry {on_unverified_retry!r}: use 'fail' to fail a retry whose earlier "
                "tries cannot be checked, or 'send' to send anyway."
            )
        self.on_unverified_retry = on_unverified_retry

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

    def _plan_key(self, context: Context) -> str:
        """Return the key of this DAG run, task and map index that the plan name carries."""
        ti = context["ti"]
        return plan_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))

    def plan_name(self, context: Context, default: str | None = None) -> str:
        """Return the plan name: the given name (or ``default``) and the run's key in brackets."""
        from airflow_provider_looker_trigger.delivery import plan_key_marker
        ti = context["ti"]
        if isinstance(self.name, str) and self.name.strip():
            base = self.name.strip()
        else:
            base = default or f"{ti.dag_id}.{ti.task_id}"
        return f"{base} {plan_key_marker(self._plan_key(context))}"

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Report the delivered dashboard, Look or query to OpenLineage as the task's output dataset."""
        from airflow_provider_looker_trigger.lineage import content_lineage_from_url

        content_url = task_instance.xcom_pull(
            task_ids=task_instance.task_id, key=CONTENT_URL_XCOM_KEY, map_indexes=task_instance.map_index
        )
        return content_lineage_from_url(content_url)

    def _get_destination_connection(self, conn_id: str) -> Any:
        from airflow.providers.common.compat.sdk import BaseHook, mask_secret

        conn = BaseHook.get_connection(conn_id)
        if conn.password:
            mask_secret(conn.password)
        return conn

    def get_hook(self) -> LookerHook:
        from airflow_provider_looker_trigger.hooks.looker import LookerHook

        return LookerHook(looker_conn_id=self.looker_conn_id)

    # Clock and sleep of the synchronous wait; tests replace them to wait without sleeping.
    _clock: Callable[[], float] = staticmethod(time.monotonic)
    _sleep: Callable[[float], None] = staticmethod(time.sleep)

    def execute(self, context: Context) -> str:
        from airflow_provider_looker_trigger.delivery import DeliveryTarget
        source, destinations, filters_string = self._check_arguments()
        destinations = resolve_destination_secrets(destinations, self._get_destination_connection)

        with self.get_hook() as hook:
            if source is not None:
                # Pushed before any request, so the task's link works even when Looker fails.
                context["ti"].xcom_push(key=CONTENT_URL_XCOM_KEY, value=hook.content_url(source.kind, source.id))
            try:
                original_name = None
                if self.by_plan_id:
                    existing = hook.get_scheduled_plan(self.scheduled_plan_id)
                    source = source_of_plan(existing, self.scheduled_plan_id)
                    original_name = existing.get("name") or f"plan {self.scheduled_plan_id}"
                    check_options(self.options, source, destinations)
                if self.strict_filters and source.is_dashboard and filters_string:
                    self._check_dashboard_filter_names(hook, source, filters_string)
            except LookerError as error:
                raise note_not_delivered(error)

            body = self._body(context, source, destinations, filters_string, original_name)
            if self.by_plan_id:
                context["ti"].xcom_push(key=CONTENT_URL_XCOM_KEY, value=hook.content_url(source.kind, source.id))

            earlier = self._earlier_try_plan(context, hook, body["name"])
            if earlier is not None:
                target = DeliveryTarget(plan_id=earlier.plan_id, plan_name=earlier.plan_name or body["name"])
            else:
                try:
                    plan_id = self._send(hook, source, destinations, filters_string, body)
                except LookerDeliveryUnknownError:
                    raise
                except LookerError as error:
                    # This try's plan did not reach Looker or was rejected, so it delivered nothing.
                    raise note_not_delivered(error)
                target = DeliveryTarget(plan_id=plan_id, plan_name=body["name"])

            if not self.wait_for_delivery:
                return target.plan_id
            if earlier is not None and earlier.status.is_terminal:
                self._finish_delivery(context, target, earlier)
                return target.plan_id
            if not self.deferrable:
                self._finish_delivery(context, target, self._wait_for_delivery(hook, target))
                return target.plan_id

        # Deferring raises TaskDeferred; the with block above has already logged out.
        self._defer(target)
        return target.plan_id

    def _send(
        self,
        hook: LookerHook,
        source: ContentSource,
        destinations: list[Destination],
        filters_string: str | None,
        body: dict[str, Any],
    ) -> str:
        """Send the run_once request and return the id of the plan Looker created."""
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

    def _earlier_try_plan(self, context: Context, hook: LookerHook, plan_name: str) -> JobState | None:
        """Return the job of an earlier try's plan that was delivered or is still running, or None to send.

        Only tries after the first one check. Without ``see_system_activity`` the check is impossible:
        ``on_unverified_retry="fail"`` raises, ``"send"`` logs a warning and sends.
        """
        from airflow_provider_looker_trigger.delivery import (
            SYSTEM_ACTIVITY_PERMISSION,
            judge_earlier_attempts,
            plan_key_marker,
        )
        try_number = getattr(context["ti"], "try_number", None) or 1
        if not self.check_earlier_tries or try_number <= 1:
            return None

        marker = plan_key_marker(self._plan_key(context))
        try:
            states = hook.get_scheduled_jobs(plan_name_contains=marker)
        except LookerPermissionError as error:
            if self.on_unverified_retry == "send":
                self.log.warning(
                    "Try %d of this task cannot check whether an earlier try already made Looker deliver plan %r: %s "
                    "It sends the plan again because on_unverified_retry='send', so the report may be delivered twice.",
                    try_number,
                    plan_name,
                    error,
                )
                return None
            raise self._permission_error(
                error,
                f"Try {try_number} of this task cannot check whether an earlier try already made Looker deliver: "
                f"earlier tries named their plans with {marker!r} (this try's plan would be {plan_name!r}), and "
                f"finding them needs the {SYSTEM_ACTIVITY_PERMISSION} permission on the API user of connection "
                f"{self.looker_conn_id!r}. Nothing was sent in this try. Look for plans whose name contains {marker} "
                "in Looker (Admin > Schedules), grant the permission in Admin > Roles so that retries can check, "
                "or set on_unverified_retry='send' to send anyway, which may deliver the report twice.",
            ) from error

        verdict = judge_earlier_attempts(states)
        if verdict.send:
            self.log.info("Try %d of this task sends plan %r: %s.", try_number, plan_name, verdict.reason)
            return None
        self.log.info("Try %d of this task does not send plan %r again: %s.", try_number, plan_name, verdict.reason)
        return verdict.state

    def _wait_for_delivery(self, hook: LookerHook, target: DeliveryTarget) -> JobState:
        """Poll until the plan's job finishes in this worker, keeping the hook's session; return the job."""
        from airflow_provider_looker_trigger.delivery import (
            LookerDeliveryStatusError,
            LookerDeliveryTimeoutError,
            wait_for_job,
        )

        self.log.info(
            "Waiting up to %g s for Looker to deliver %s, checking every %g s.",
            self.delivery_timeout,
            target.describe(),
            self.poll_interval,
        )
        try:
            return wait_for_job(
                hook,
                target,
                timeout=self.delivery_timeout,
                poll_interval=self.poll_interval,
                log=self.log,
                clock=self._clock,
                sleep=self._sleep,
            )
        except LookerPermissionError as error:
            raise self._permission_error(
                error, f"Looker accepted {target.describe()}, but whether it delivered is unknown. {error.hint}"
            ) from error
        except LookerDeliveryTimeoutError as error:
            raise LookerDeliveryTimeoutError(f"{error}{self._retry_note()}", state=error.state) from error
        except (LookerDeliveryStatusError, LookerDeliveryUnknownError):
            raise
        except LookerError as error:
            # The plan was accepted, so a failed status check tells nothing about the delivery itself.
            raise LookerDeliveryStatusError(
                f"Looker accepted {target.describe()}, but checking whether it delivered failed: {error} "
                f"Whether the report was delivered is unknown: look for the plan in Looker (Admin > Schedules) "
                f"before you rerun this task.{self._retry_note()}"
            ) from error

    def _defer(self, target: DeliveryTarget) -> None:
        from airflow_provider_looker_trigger.triggers.looker import LookerDeliveryTrigger

        self.log.info(
            "Deferring to the triggerer, which waits up to %g s for Looker to deliver %s, checking every %g s.",
            self.delivery_timeout,
            target.describe(),
            self.poll_interval,
        )
        trigger = LookerDeliveryTrigger(
            end_time=time.time() + self.delivery_timeout,
            plan_id=target.plan_id,
            plan_name=target.plan_name,
            poll_interval=self.poll_interval,
            looker_conn_id=self.looker_conn_id,
        )
        self.defer(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Finish the task after the triggerer's wait: succeed on a delivery, raise on anything else."""
        from airflow_provider_looker_trigger.delivery import (
            DeliveryTarget,
            LookerDeliveryTimeoutError,
            state_from_event,
        )
        try:
            state = state_from_event(event)
        except LookerDeliveryTimeoutError as error:
            raise LookerDeliveryTimeoutError(f"{error}{self._retry_note()}", state=error.state) from error
        target = DeliveryTarget(plan_id=state.plan_id, plan_name=state.plan_name)
        self._finish_delivery(context, target, state)
        return state.plan_id

    def _finish_delivery(self, context: Context, target: DeliveryTarget, state: JobState) -> None:
        """Push a delivered job to XCom, or raise with Looker's detail when the job failed."""
        from airflow_provider_looker_trigger.delivery import (
            DELIVERY_XCOM_KEY,
            JobStatus,
            LookerDeliveryFailedError,
        )
        if state.status is not JobStatus.SUCCESS:
            raise LookerDeliveryFailedError(target.failure_message(state), state=state)
        context["ti"].xcom_push(key=DELIVERY_XCOM_KEY, value=state.to_dict())
        self.log.info("Looker delivered %s.", target.describe_state(state))

    def _retry_note(self) -> str:
        if not self.check_earlier_tries:
            return ""
        return " A retry of this task checks this plan first, and sends the report again only if this plan failed."

    def _permission_error(self, error: LookerPermissionError, hint: str) -> LookerPermissionError:
        """Return a copy of ``error`` whose hint explains what the missing permission means for this task."""
        return LookerPermissionError(
            status=error.status, method=error.method, path=error.path, body=error.body, text="", hint=hint
        )

    def _check_dashboard_filter_names(self, hook: LookerHook, source: ContentSource, filters_string: str) -> None:
        dashboard = hook.get_dashboard(source.id)
        names = [item.get("name") for item in dashboard.get("dashboard_filters") or [] if item.get("name")]
        check_filter_names(decode_filters(filters_string), names, content=f"{source.describe()} ({dashboard.get('title') or 'untitled'})")
        self.log.info("Checked filter names against %s: the dashboard has every one of the %d given.", source.describe(), len(decode_filters(filters_string)))

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
