"""An operator that makes Looker deliver many run-once plans in one task, with one login."""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_looker_trigger.delivery import EarlierAttempt, judge_earlier_attempts, plan_key_marker
from airflow_provider_looker_trigger.exceptions import (
    LookerAuthenticationError,
    LookerConfigurationError,
    LookerDeliveryUnknownError,
    LookerError,
    LookerPermissionError,
    note_not_delivered,
)
from airflow_provider_looker_trigger.links.looker import CONTENT_URL_XCOM_KEY, LookerContentLink
from airflow_provider_looker_trigger.operators.looker import (
    ON_UNVERIFIED_RETRY_CHOICES,
    _is_literal,
    describe_destinations,
    plan_key,
)
from airflow_provider_looker_trigger.plan import (
    DESTINATION_KEYS,
    SOURCE_FIELDS,
    ContentSource,
    Destination,
    PlanOptions,
    build_run_once_body,
    check_filter_names,
    check_option_values,
    check_options,
    closest_names,
    decode_filters,
    encode_filters,
    parse_destinations,
    resolve_destination_secrets,
    resolve_source,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_looker_trigger.delivery import JobState
    from airflow_provider_looker_trigger.hooks.looker import LookerHook

OPTION_NAMES = tuple(option.name for option in dataclasses.fields(PlanOptions))
CONTENT_KEYS = tuple(SOURCE_FIELDS.values())
# Keys one item of ``deliveries`` may have: what RunOncePlanOperator takes for one plan.
ITEM_KEYS = (*CONTENT_KEYS, "filters", "destinations", "name", *OPTION_NAMES)

# Item result statuses, as pushed to XCom.
STATUS_SENT = "sent"
"""Looker accepted the item's run_once request in this try."""
STATUS_SENT_EARLIER = "sent_earlier"
"""An earlier try's plan for the item was delivered or is still running, so it was not sent again."""
STATUS_FAILED = "failed"
"""Looker rejected the item, or the request never reached Looker, so nothing was delivered."""
STATUS_UNKNOWN = "unknown"
"""The request may have reached Looker but its response was lost, so it may or may not have been delivered."""
STATUS_NOT_SENT = "not_sent"
"""The task was stopped before the item was sent."""

# requests' HTTPAdapter keeps at most 10 connections per host (its default pool_maxsize), and the
# hook's session uses that default, so more threads would open and discard extra connections.
MAX_CONCURRENCY = 10
# Maximum number of rows get_scheduled_jobs returns (the default limit of delivery.jobs_query). A
# response this long may be cut off, so the jobs are then read one item at a time.
JOBS_QUERY_ROW_LIMIT = 50
# Maximum number of failed items listed in the task's error message. The results XCom lists them all.
MAX_FAILURES_IN_MESSAGE = 20


@dataclasses.dataclass(frozen=True)
class BatchItem:
    """One checked item of ``deliveries``: everything needed to build its plan body."""

    index: int
    name: str | None
    source: ContentSource
    destinations: list[Destination]
    filters_string: str | None
    options: PlanOptions

    def label(self) -> str:
        return f"deliveries[{self.index}]" + (f" ({self.name!r})" if self.name else "")


class _Pacer:
    """Spread request start times evenly at ``rate`` per second, across every thread that calls :meth:`wait`."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_start: float | None = None

    def wait(self) -> None:
        """Block until this caller's start time, which is one interval after the previous caller's."""
        with self._lock:
            now = self._clock()
            start = now if self._next_start is None else max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            self._sleep(start - now)


def serialize_logins(hook: LookerHook) -> None:
    """Make ``hook`` safe to share between threads that send requests at the same time.

    ``LookerHook`` logs in again whenever its token has expired or Looker returned 401. Without a
    lock, threads that see the expired token together would each log in, and all but one of the
    tokens would never be logged out. This wraps the hook's ``login`` so that one thread logs in while
    the others wait, and the others then use the new token instead of logging in themselves.

    The HTTP session itself is shared: its connection pool is thread-safe, and the hook's session is
    created by the first login, which the caller makes before starting any thread.
    """
    lock = threading.Lock()
    login_unlocked = hook.login

    def login() -> None:
        with lock:
            # Another thread may have logged in while this one waited for the lock.
            if hook._token_is_valid():
                return
            login_unlocked()

    # NOTE: the hook's 401 handling clears the token without the lock. When two threads get 401 at
    # once, one may clear the token the other just obtained. That token is then never logged out, and
    # it expires after the lifetime Looker gave it (expires_in, 3600 s on the instances seen so far).
    hook.login = login  # type: ignore[method-assign]


def item_key(task_key: str, index: int) -> str:
    """Return the key one item's plan name carries: the task's plan key and the item index."""
    return f"{task_key}-{index}"


class RunOncePlanBatchOperator(BaseOperator):
    """Make Looker deliver many run-once plans in one task: one login, paced requests, per-item results.

    Typical use is one dashboard sent to one recipient per region with that region's filter.
    ``deliveries`` is a list of dicts with the keys :class:`RunOncePlanOperator` takes for one plan:
    a content id (``dashboard_id``, ``lookml_dashboard_id``, ``look_id`` or ``query_id``), ``filters``,
    ``destinations``, ``name`` and the plan options (``timezone``, ``pdf_paper_size``, ...). Arguments
    of the operator with the same names are shared defaults:

    * an item's content id replaces the shared content;
    * filter dicts are merged, and the item's value wins for a name in both. An encoded filter string
      on either side is not merged: the item's filters, when given, replace the shared ones;
    * an item's ``destinations`` replace the shared ones, and ``destination_defaults`` fill keys that a
      destination dict leaves out, e.g. ``{"type": "email", "format": "wysiwyg_pdf"}`` so that each
      item only gives ``{"address": ...}``;
    * ``name`` and every option: the item's value, when not ``None``, replaces the shared one.

    Every item is checked before any request, and all invalid items are reported together, each by
    its index. With ``strict_filters`` the filter names are checked against each dashboard, read once,
    before any plan is sent. The plans are then sent from up to ``max_concurrency`` threads over one
    Looker session, starting at most ``rate_limit`` requests per second. Looker rate-limits run_once
    without documenting the number, and Looker's own admin tools assume 10 calls per second. A failed
    item does not stop the others, unless Looker rejects the login.

    Each plan's name ends with ``[airflow:<key>-<index>]``, where the key is unique to the DAG run,
    task and map index. The task pushes a list of ``{index, name, plan_id, status, error}`` to the
    XCom key ``results`` and returns it. ``status`` is ``sent``, ``sent_earlier``, ``failed``,
    ``unknown`` (Looker may or may not have delivered it) or ``not_sent`` (the task was stopped, or
    Looker rejected the login during the batch). When any item failed, the task fails after every
    item was attempted, listing the failed ones.

    A retry (try number 2 or more, which includes clearing the task) does not send again the items an
    earlier try sent. It reads the jobs of the plans named with this task's key from Looker's System
    Activity, and skips each item whose earlier plan was delivered or is still running. Reading System
    Activity needs the ``see_system_activity`` permission. Without it, ``on_unverified_retry`` decides:
    ``"fail"`` (the default) fails the retry without sending anything, and ``"send"`` sends every item
    again, so items an earlier try delivered are delivered twice. The log states which rule applied.
    To send every item again on purpose, clear the task with ``check_earlier_tries=False`` or start a
    new DAG run.

    The task ends when Looker has accepted every plan, and does not wait for the deliveries themselves.
    RunOncePlanOperator with ``wait_for_delivery=True``, mapped over the items, waits for each one.

    :param deliveries: list of item dicts, see above; templated, and may come from an XCom.
    :param destination_defaults: keys added to every destination dict that does not set them.
    :param max_concurrency: number of threads that send plans, 1 to 10.
    :param rate_limit: maximum run_once requests started per second.
    :param check_earlier_tries: from the second try on, skip the items an earlier try sent.
    :param on_unverified_retry: ``"fail"`` or ``"send"``, see above.
    :param strict_filters: for dashboards, fail on filter names the dashboard does not have.
    :param allow_empty_filter_values: accept empty filter values, which make Looker ignore that filter.
    :param looker_conn_id: id of the Looker connection.

    The other parameters (``dashboard_id``, ``look_id``, ``lookml_dashboard_id``, ``query_id``,
    ``filters``, ``destinations``, ``name`` and the plan options) are the shared defaults and mean
    what they mean for :class:`RunOncePlanOperator`.
    """

    # dag.test() on Airflow 3.0 deep-copies operators, and a threading.Event cannot be copied that way.
    shallow_copy_attrs: Sequence[str] = ("_stop_requested",)
    template_fields: Sequence[str] = (
        "deliveries",
        "dashboard_id",
        "look_id",
        "lookml_dashboard_id",
        "query_id",
        "filters",
        "destinations",
        "destination_defaults",
        "name",
    )
    template_fields_renderers = {
        "deliveries": "json",
        "filters": "json",
        "destinations": "json",
        "destination_defaults": "json",
    }
    operator_extra_links = (LookerContentLink(),)
    ui_color = "#ebe4fb"

    def __init__(
        self,
        *,
        deliveries: Sequence[Mapping[str, Any]] | Any,
        dashboard_id: int | str | None = None,
        look_id: int | str | None = None,
        lookml_dashboard_id: str | None = None,
        query_id: int | str | None = None,
        destinations: Sequence[Mapping[str, Any]] | None = None,
        destination_defaults: Mapping[str, Any] | None = None,
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
        max_concurrency: int = 4,
        rate_limit: float = 10.0,
        check_earlier_tries: bool = True,
        on_unverified_retry: str = "fail",
        looker_conn_id: str = "looker_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deliveries = deliveries
        self.dashboard_id = dashboard_id
        self.look_id = look_id
        self.lookml_dashboard_id = lookml_dashboard_id
        self.query_id = query_id
        self.destinations = destinations
        self.destination_defaults = destination_defaults
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
        self.max_concurrency = max_concurrency
        self.rate_limit = rate_limit
        self.check_earlier_tries = bool(check_earlier_tries)
        self.on_unverified_retry = on_unverified_retry
        self.looker_conn_id = looker_conn_id
        self._stop_requested = threading.Event()

        self._check_operator_arguments()
        self._check_known_arguments()

    # Checks that need no request

    def _check_operator_arguments(self) -> None:
        """Check the arguments that control the batch itself, which are never templated."""
        value = self.max_concurrency
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
            raise LookerConfigurationError(
                f"Invalid max_concurrency {value!r}: give a whole number from 1 to {MAX_CONCURRENCY}, "
                f"because the Looker session keeps at most {MAX_CONCURRENCY} connections."
            )
        rate = self.rate_limit
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
            raise LookerConfigurationError(
                f"Invalid rate_limit {rate!r}: give the maximum number of run_once requests per second as a "
                "positive number, e.g. 10 (Looker's limit) or 5."
            )
        if self.on_unverified_retry not in ON_UNVERIFIED_RETRY_CHOICES:
            raise LookerConfigurationError(
                f"Invalid on_unverified_retry {self.on_unverified_retry!r}: use 'fail' to fail a retry that "
                "cannot read which items were sent, or 'send' to send every item again."
            )
        check_option_values(self.options)

    def _check_known_arguments(self) -> None:
        """Check, when the DAG file is parsed, the arguments that hold no template or XCom reference."""
        if all(_is_literal(getattr(self, field)) for field in self.template_fields):
            self._check_items()
            return
        if _is_literal(self.destination_defaults):
            self._check_destination_defaults()
        if _is_literal(self.deliveries):
            self._check_deliveries_shape()

    def _check_destination_defaults(self) -> dict[str, Any]:
        defaults = self.destination_defaults
        if defaults is None:
            return {}
        if not isinstance(defaults, Mapping):
            raise LookerConfigurationError(
                f"Invalid destination_defaults {defaults!r}: give a dict of destination keys, e.g. "
                "{'type': 'email', 'format': 'wysiwyg_pdf'}."
            )
        unknown = sorted(set(defaults) - set(DESTINATION_KEYS))
        if unknown:
            raise LookerConfigurationError(
                f"destination_defaults has unknown key(s) {', '.join(map(repr, unknown))}; accepted keys: "
                f"{', '.join(DESTINATION_KEYS)}."
            )
        return dict(defaults)

    def _check_deliveries_shape(self) -> list[Mapping[str, Any]]:
        """Return ``deliveries`` as a list of dicts with known keys, or raise listing every bad item."""
        deliveries = self.deliveries
        if isinstance(deliveries, Mapping) or not isinstance(deliveries, (list, tuple)) or not deliveries:
            raise LookerConfigurationError(
                f"Invalid deliveries {deliveries!r}: give a non-empty list of dicts, one per plan, e.g. "
                "[{'filters': {'State / Region': 'California'}, 'destinations': [{'address': 'west@example.com'}]}]."
            )
        errors = []
        for index, item in enumerate(deliveries):
            if not isinstance(item, Mapping):
                errors.append(f"deliveries[{index}] is {item!r}: each item is a dict of plan arguments.")
                continue
            for key in sorted(set(item) - set(ITEM_KEYS), key=str):
                errors.append(f"deliveries[{index}] has unknown key {key!r}: {_unknown_key_hint(key)}")
        if errors:
            raise _item_errors(errors, len(deliveries))
        return list(deliveries)

    def _check_items(self) -> list[BatchItem]:
        """Check every item with the shared defaults applied, and raise one error listing every invalid item."""
        self._check_shared_arguments()
        deliveries = self._check_deliveries_shape()
        defaults = self._check_destination_defaults()
        items: list[BatchItem] = []
        errors: list[str] = []
        for index, item in enumerate(deliveries):
            try:
                items.append(self._check_item(index, item, defaults))
            except LookerConfigurationError as err:
                errors.append(f"deliveries[{index}]{_name_suffix(item.get('name'))}: {err}")
        if errors:
            raise _item_errors(errors, len(deliveries))
        return items

    def _check_shared_arguments(self) -> None:
        """Check the shared filters and destinations once, so that a mistake in them is reported once."""
        encode_filters(self.filters, allow_empty_values=self.allow_empty_filter_values)
        if self.destinations:
            defaults = self._check_destination_defaults()
            parse_destinations([_with_defaults(item, defaults) for item in _as_list(self.destinations)])
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise LookerConfigurationError(f"Invalid name {self.name!r}: give a non-empty string or leave it unset.")

    def _check_item(self, index: int, item: Mapping[str, Any], defaults: Mapping[str, Any]) -> BatchItem:
        if any(item.get(key) not in (None, "") for key in CONTENT_KEYS):
            content = {key: item.get(key) for key in CONTENT_KEYS}
        else:
            content = {key: getattr(self, key) for key in CONTENT_KEYS}
        source = resolve_source(**content)

        filters = _merge_filters(self.filters, item.get("filters"))
        filters_string = encode_filters(filters, allow_empty_values=self.allow_empty_filter_values)

        raw_destinations = item.get("destinations")
        if raw_destinations is None:
            raw_destinations = self.destinations
        if raw_destinations is None:
            raise LookerConfigurationError(
                "no destinations: give the item a 'destinations' list, or give the operator shared destinations."
            )
        destinations = parse_destinations([_with_defaults(dest, defaults) for dest in _as_list(raw_destinations)])

        name = item.get("name")
        if name is None:
            name = self.name
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise LookerConfigurationError(f"Invalid name {name!r}: give a non-empty string or leave it out.")

        shared = vars(self.options)
        options = PlanOptions(**{key: item[key] if item.get(key) is not None else shared[key] for key in OPTION_NAMES})
        check_options(options, source, destinations)
        return BatchItem(index, name.strip() if name else None, source, destinations, filters_string, options)

    # Execution

    def get_hook(self) -> LookerHook:
        from airflow_provider_looker_trigger.hooks.looker import LookerHook

        return LookerHook(looker_conn_id=self.looker_conn_id)

    def _get_destination_connection(self, conn_id: str) -> Any:
        from airflow.providers.common.compat.sdk import BaseHook, mask_secret

        # BaseOperator has no get_connection in Airflow 3, so the look-up goes through BaseHook.
        conn = BaseHook.get_connection(conn_id)
        if conn.password:
            mask_secret(conn.password)
        return conn

    def _resolve_secrets(self, items: list[BatchItem]) -> list[BatchItem]:
        """Fill destination secrets from Airflow connections, reading each connection once."""
        connections: dict[str, Any] = {}

        def get_connection(conn_id: str) -> Any:
            if conn_id not in connections:
                connections[conn_id] = self._get_destination_connection(conn_id)
            return connections[conn_id]

        resolved = []
        errors = []
        for item in items:
            try:
                destinations = resolve_destination_secrets(item.destinations, get_connection)
            except LookerConfigurationError as err:
                errors.append(f"{item.label()}: {err}")
                continue
            resolved.append(dataclasses.replace(item, destinations=destinations))
        if errors:
            raise _item_errors(errors, len(items))
        return resolved

    def plan_name(self, context: Context, item: BatchItem) -> str:
        """Return an item's plan name: its name (or ``dag_id.task_id``) and the item's key in brackets."""
        ti = context["ti"]
        base = item.name or f"{ti.dag_id}.{ti.task_id}"
        return f"{base} {plan_key_marker(item_key(self._task_key(context), item.index))}"

    @staticmethod
    def _task_key(context: Context) -> str:
        ti = context["ti"]
        return plan_key(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))

    def on_kill(self) -> None:
        self._stop_requested.set()

    def execute(self, context: Context) -> list[dict[str, Any]]:
        items = self._resolve_secrets(self._check_items())
        bodies = {
            item.index: build_run_once_body(
                name=self.plan_name(context, item),
                source=item.source,
                destinations=item.destinations,
                filters_string=item.filters_string,
                options=item.options,
            )
            for item in items
        }

        hook = self.get_hook()
        with hook:
            try:
                # The first login also creates the HTTP session, before any thread shares it.
                hook.login()
                serialize_logins(hook)
                if self.strict_filters:
                    self._check_dashboard_filter_names(hook, items)
            except LookerError as err:
                self.log.error("None of the %d deliveries was sent: %s", len(items), str(err).splitlines()[0])
                raise note_not_delivered(err)
            # Its error states only that this try sent nothing, because earlier tries may have delivered some items.
            earlier = self._judge_earlier_tries(hook, context, items)
            sources = {item.source for item in items}
            if len(sources) == 1:
                (source,) = sources
                context["ti"].xcom_push(key=CONTENT_URL_XCOM_KEY, value=hook.content_url(source.kind, source.id))

            results = self._results_of_earlier_tries(items, earlier, bodies)
            to_send = [item for item in items if item.index not in results]
            self.log.info(
                "Sending %d of %d deliveries to Looker from up to %d threads, at most %g requests per second.",
                len(to_send),
                len(items),
                min(self.max_concurrency, max(1, len(to_send))),
                self.rate_limit,
            )
            results.update(self._send_all(hook, to_send, bodies))

        ordered = [results[item.index] for item in items]
        context["ti"].xcom_push(key="results", value=ordered)
        self._log_summary(ordered)
        self._raise_for_failures(ordered)
        return ordered

    def _results_of_earlier_tries(
        self, items: list[BatchItem], earlier: Mapping[int, EarlierAttempt], bodies: Mapping[int, dict[str, Any]]
    ) -> dict[int, dict[str, Any]]:
        """Return the results of the items an earlier try sent, which this try does not send again."""
        results = {}
        for item in items:
            attempt = earlier.get(item.index)
            if attempt is None or attempt.send:
                continue
            plan_id = attempt.state.plan_id if attempt.state else None
            results[item.index] = _result(item, bodies[item.index], STATUS_SENT_EARLIER, plan_id=plan_id)
            self.log.info("%s is not sent again: %s.", item.label(), attempt.reason)
        return results

    def _check_dashboard_filter_names(self, hook: LookerHook, items: list[BatchItem]) -> None:
        """Check filter names against each dashboard, read once, and raise one error listing every bad item."""
        dashboards: dict[str, tuple[str, list[str]]] = {}
        errors = []
        for item in items:
            if not item.source.is_dashboard or not item.filters_string:
                continue
            if item.source.id not in dashboards:
                dashboard = hook.get_dashboard(item.source.id)
                filter_names = [entry.get("name") for entry in dashboard.get("dashboard_filters") or [] if entry.get("name")]
                title = f"{item.source.describe()} ({dashboard.get('title') or 'untitled'})"
                dashboards[item.source.id] = (title, filter_names)
            title, filter_names = dashboards[item.source.id]
            try:
                check_filter_names(decode_filters(item.filters_string), filter_names, content=title)
            except LookerConfigurationError as err:
                errors.append(f"{item.label()}: {err}")
        if errors:
            raise _item_errors(errors, len(items))
        if dashboards:
            self.log.info("Checked the filter names of every item against %d dashboard(s).", len(dashboards))

    def _judge_earlier_tries(self, hook: LookerHook, context: Context, items: list[BatchItem]) -> dict[int, EarlierAttempt]:
        """Return, per item index, whether an earlier try of this task already sent it (empty on the first try)."""
        try_number = getattr(context["ti"], "try_number", 1) or 1
        if not self.check_earlier_tries or try_number <= 1:
            return {}
        task_key = self._task_key(context)
        prefix = f"[airflow:{task_key}-"
        try:
            states = hook.get_scheduled_jobs(plan_name_contains=prefix)
            if len(states) >= JOBS_QUERY_ROW_LIMIT:
                # One query per item: slower, but each item has only a few jobs, well under the limit.
                states = []
                for item in items:
                    states.extend(hook.get_scheduled_jobs(plan_name_contains=plan_key_marker(item_key(task_key, item.index))))
        except LookerPermissionError as err:
            if self.on_unverified_retry == "send":
                self.log.warning(
                    "This is try %d, but Looker's System Activity cannot be read (%s), so it is unknown which items "
                    "an earlier try sent. on_unverified_retry='send': all %d items are sent again, and items an "
                    "earlier try delivered are delivered twice.",
                    try_number,
                    str(err).splitlines()[0],
                    len(items),
                )
                return {}
            raise LookerPermissionError(
                status=err.status,
                method=err.method,
                path=err.path,
                body=err.body,
                hint=f"Try {try_number} of this task cannot check which of the {len(items)} deliveries an earlier "
                f"try already sent: finding their plans needs the see_system_activity permission on the API user "
                f"of connection {self.looker_conn_id!r}. Nothing was sent in this try. Look for plans whose name "
                f"contains {prefix!r} in Looker (Admin > Schedules), grant the permission in Admin > Roles so that "
                "retries can check, or set on_unverified_retry='send' to send every item again (items an earlier "
                "try delivered are then delivered twice).",
            ) from err

        by_index: dict[int, list[JobState]] = {}
        pattern = re.compile(re.escape(prefix) + r"(\d+)\]")
        for state in states:
            matched = pattern.search(state.plan_name or "")
            if matched:
                by_index.setdefault(int(matched.group(1)), []).append(state)
        judged = {item.index: judge_earlier_attempts(by_index.get(item.index, [])) for item in items}
        skipped = sum(1 for attempt in judged.values() if not attempt.send)
        self.log.info(
            "Try %d: System Activity shows %d plan job(s) from earlier tries; %d of %d items are not sent again.",
            try_number,
            len(states),
            skipped,
            len(items),
        )
        return judged

    def _send_all(self, hook: LookerHook, items: list[BatchItem], bodies: Mapping[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Send the items from a thread pool, paced, and return one result per item, whatever happened to it.

        The pacer spaces first attempts only. The hook retries a 429 or 503 response after its own
        backoff or ``Retry-After``. When Looker rejects the credentials during the batch, the items not
        yet sent are not sent, because each would try to log in again with the same credentials.
        """
        from concurrent.futures import ThreadPoolExecutor

        if not items:
            return {}
        pacer = _Pacer(self.rate_limit)
        login_rejected: list[str] = []

        def not_sent_reason() -> str | None:
            if self._stop_requested.is_set():
                return "The task was stopped before this item was sent."
            if login_rejected:
                return f"Not sent, because Looker rejected the login during the batch: {login_rejected[0]}"
            return None

        def send(item: BatchItem) -> dict[str, Any]:
            body = bodies[item.index]
            reason = not_sent_reason()
            if reason is None:
                pacer.wait()
                reason = not_sent_reason()
            if reason is not None:
                return _result(item, body, STATUS_NOT_SENT, error=reason)
            try:
                plan = hook.run_once(body)
            except LookerDeliveryUnknownError as err:
                self.log.error("%s: %s", item.label(), err)
                return _result(item, body, STATUS_UNKNOWN, error=str(err))
            except LookerAuthenticationError as err:
                login_rejected.append(str(err).splitlines()[0])
                self.log.error("%s was not sent: %s", item.label(), err)
                return _result(item, body, STATUS_FAILED, error=str(err))
            except LookerError as err:
                self.log.error("%s was not delivered: %s", item.label(), err)
                return _result(item, body, STATUS_FAILED, error=str(err))
            except Exception as err:  # one item's unexpected error must not stop the other items
                self.log.exception("%s failed with an unexpected error.", item.label())
                return _result(item, body, STATUS_UNKNOWN, error=f"{type(err).__name__}: {err}")
            self.log.info(
                "%s: Looker accepted plan %s (%r) for %s to %s.",
                item.label(),
                plan["id"],
                body["name"],
                item.source.describe(),
                describe_destinations(item.destinations),
            )
            return _result(item, body, STATUS_SENT, plan_id=str(plan["id"]))

        workers = min(self.max_concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="looker-batch") as pool:
            return {item.index: result for item, result in zip(items, pool.map(send, items), strict=True)}

    def _log_summary(self, results: list[dict[str, Any]]) -> None:
        counts = {status: 0 for status in (STATUS_SENT, STATUS_SENT_EARLIER, STATUS_FAILED, STATUS_UNKNOWN, STATUS_NOT_SENT)}
        for result in results:
            counts[result["status"]] += 1
        failed = [result["index"] for result in results if result["status"] not in (STATUS_SENT, STATUS_SENT_EARLIER)]
        self.log.info(
            "Looker batch finished: %d item(s); sent %d, sent by an earlier try %d, failed %d, outcome unknown %d, "
            "not sent %d.%s",
            len(results),
            counts[STATUS_SENT],
            counts[STATUS_SENT_EARLIER],
            counts[STATUS_FAILED],
            counts[STATUS_UNKNOWN],
            counts[STATUS_NOT_SENT],
            f" Items not delivered: {', '.join(map(str, failed))}." if failed else "",
        )

    def _raise_for_failures(self, results: list[dict[str, Any]]) -> None:
        failed = [result for result in results if result["status"] not in (STATUS_SENT, STATUS_SENT_EARLIER)]
        if not failed:
            return
        unknown = [result["index"] for result in failed if result["status"] == STATUS_UNKNOWN]
        lines = [f"{len(failed)} of {len(results)} Looker deliveries failed; the other items were sent."]
        if unknown:
            lines.append(
                f"Looker may or may not have delivered items {', '.join(map(str, unknown))}: their requests were "
                "sent but the answers were lost. Look for their plan names in Looker (Admin > Schedules) before "
                "sending them by hand; a retry of this task skips the ones System Activity shows as sent."
            )
        for result in failed[:MAX_FAILURES_IN_MESSAGE]:
            verdict = {
                STATUS_UNKNOWN: "may or may not have been delivered",
                STATUS_FAILED: "not delivered",
                STATUS_NOT_SENT: "not sent",
            }[result["status"]]
            error = (result["error"] or "").replace("\n", "\n    ")
            lines.append(f"- deliveries[{result['index']}] {result['name']!r} ({verdict}): {error}")
        if len(failed) > MAX_FAILURES_IN_MESSAGE:
            lines.append(f"... and {len(failed) - MAX_FAILURES_IN_MESSAGE} more; the XCom 'results' lists every item.")
        raise LookerError("\n".join(lines))


def _result(item: BatchItem, body: Mapping[str, Any], status: str, *, plan_id: str | None = None, error: str | None = None) -> dict[str, Any]:
    return {"index": item.index, "name": body["name"], "plan_id": plan_id, "status": status, "error": error}


def _merge_filters(shared: Any, own: Any) -> Any:
    """Return the item's filters: dicts merged with the item's values winning, otherwise the item's if given."""
    if own is None:
        return shared
    if isinstance(shared, Mapping) and isinstance(own, Mapping):
        return {**shared, **own}
    return own


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise LookerConfigurationError(
        f"Invalid destinations {value!r}: give a non-empty list of dicts such as "
        "[{'type': 'email', 'address': 'team@example.com', 'format': 'wysiwyg_pdf'}]."
    )


def _with_defaults(destination: Any, defaults: Mapping[str, Any]) -> Any:
    if not defaults or not isinstance(destination, Mapping):
        return destination
    return {**defaults, **destination}


def _name_suffix(name: Any) -> str:
    return f" ({name!r})" if isinstance(name, str) and name else ""


def _unknown_key_hint(key: Any) -> str:
    if key == "scheduled_plan_id":
        return "running copies of a saved plan is not supported in a batch; use RunOncePlanOperator with scheduled_plan_id."
    suggestions = closest_names(str(key), list(ITEM_KEYS))
    hint = f"did you mean {' or '.join(map(repr, suggestions))}? " if suggestions else ""
    return f"{hint}accepted keys: {', '.join(ITEM_KEYS)}."


def _item_errors(errors: list[str], total: int) -> LookerConfigurationError:
    heading = f"{len(errors)} problem(s) in the {total} deliveries; nothing was sent:"
    return LookerConfigurationError("\n".join([heading, *(f"- {error}" for error in errors)]))
