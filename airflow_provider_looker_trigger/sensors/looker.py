"""Sensor that waits until Looker has delivered a scheduled plan fired elsewhere."""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_looker_trigger.delivery import (
    DELIVERY_XCOM_KEY,
    DeliveryTarget,
    JobState,
    JobStatus,
    LookerDeliverySensorFailedError,
    LookerDeliveryTimeoutError,
    state_from_event,
)
from airflow_provider_looker_trigger.exceptions import LookerConfigurationError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

DEFAULT_TIMEOUT = 3600.0
"""Seconds the sensor waits by default: an hour, instead of Airflow's ``[sensors] default_timeout`` of seven days."""


def _is_set(value: Any) -> bool:
    return value is not None and value != ""


class LookerDeliverySensor(BaseSensorOperator):
    """Wait until Looker has delivered a scheduled plan that something else fired.

    Use it after a :class:`~airflow_provider_looker_trigger.operators.looker.TriggerDatagroupOperator`,
    whose schedules Looker runs on its next regenerator cycle, or for a run-once plan sent by another
    task. Give one of:

    * ``plan_id``: the sensor watches that plan's newest job;
    * ``plan_name``: the sensor watches the newest job of the plans whose name contains this text,
      created at or after ``created_after``. Give a name that matches one plan only.

    The state is read from Looker's System Activity, which needs the ``see_system_activity``
    permission. The sensor keeps waiting while there is no job yet or the job is running. When the
    job has delivered, the sensor pushes it to XCom under the key ``looker_delivery`` and returns its
    plan id. When the job failed, the sensor fails with Looker's ``status_detail`` and without
    retries; ``soft_fail`` turns that failure, and a timeout, into a skip.

    :param plan_id: id of the plan to watch.
    :param plan_name: text that the watched plans' names contain, instead of ``plan_id``.
    :param created_after: ignore jobs created before this moment (a datetime or an ISO 8601 string;
        templated). With ``plan_name`` it defaults to the DAG run's ``data_interval_end``, or else its
        logical date or ``run_after``; with ``plan_id`` every job counts unless it is given. Jobs
        are compared by Looker's clock, so a Looker clock that runs behind Airflow's can hide a job
        created in the same seconds.
    :param looker_conn_id: id of the Looker connection.
    :param deferrable: wait in the triggerer instead of a worker slot, polling every ``poke_interval``
        seconds. The default comes from the ``[operators] default_deferrable`` option.
    :param timeout: seconds to wait before failing; one hour unless given.
    """

    template_fields: Sequence[str] = ("plan_id", "plan_name", "created_after")
    ui_color = "#ebe4fb"

    def __init__(
        self,
        *,
        plan_id: int | str | None = None,
        plan_name: str | None = None,
        created_after: datetime.datetime | str | None = None,
        looker_conn_id: str = "looker_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        super().__init__(**kwargs)
        self.plan_id = plan_id
        self.plan_name = plan_name
        self.created_after = created_after
        self.looker_conn_id = looker_conn_id
        self.deferrable = bool(deferrable)
        self._last_state: JobState | None = None
        self._check_plan_arguments()

    def _check_plan_arguments(self) -> None:
        if _is_set(self.plan_id) == _is_set(self.plan_name):
            raise LookerConfigurationError(
                f"LookerDeliverySensor needs exactly one of plan_id and plan_name, got plan_id={self.plan_id!r} "
                f"and plan_name={self.plan_name!r}. Give plan_id for one plan, or plan_name for the newest job "
                "of the plans whose name contains it."
            )

    def target(self, context: Context) -> DeliveryTarget:
        """Return what the sensor watches, with ``created_after`` resolved for this DAG run."""
        self._check_plan_arguments()
        if _is_set(self.plan_id):
            created_after = _parse_time(self.created_after) if _is_set(self.created_after) else None
            return DeliveryTarget(plan_id=str(self.plan_id).strip(), created_after=created_after)
        return DeliveryTarget(name_contains=str(self.plan_name), created_after=self._created_after(context))

    def _created_after(self, context: Context) -> datetime.datetime:
        if _is_set(self.created_after):
            return _parse_time(self.created_after)
        dag_run = context.get("dag_run")
        for moment in (
            context.get("data_interval_end"),
            context.get("logical_date"),
            getattr(dag_run, "run_after", None),
            getattr(dag_run, "start_date", None),
        ):
            if moment is not None:
                return _parse_time(moment)
        raise LookerConfigurationError(
            "LookerDeliverySensor cannot tell from this DAG run since when to look for jobs: give created_after."
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow_provider_looker_trigger.hooks.looker import LookerHook

        target = self.target(context)
        with LookerHook(looker_conn_id=self.looker_conn_id) as hook:
            state = target.read_state(hook)
        self._last_state = state
        self.log.info("Looker delivery of %s", target.describe_state(state))

        if state.status is JobStatus.FAILURE:
            raise LookerDeliverySensorFailedError(target.failure_message(state), state=state)
        if state.status is not JobStatus.SUCCESS:
            return False
        self._delivered(context, state)
        return PokeReturnValue(is_done=True, xcom_value=state.plan_id)

    def execute(self, context: Context) -> Any:
        if self.deferrable:
            self._defer(context)  # raises TaskDeferred
        try:
            return super().execute(context)
        except AirflowSensorTimeout as error:
            target = self.target(context)
            raise AirflowSensorTimeout(f"{error} {target.timeout_message(self._last_state, f'within {self.timeout:g} s')}") from error

    def _defer(self, context: Context) -> None:
        from airflow_provider_looker_trigger.triggers.looker import LookerDeliveryTrigger

        target = self.target(context)
        self.log.info(
            "Deferring to the triggerer, which waits up to %g s for Looker to deliver %s, checking every %g s.",
            self.timeout,
            target.describe(),
            self.poke_interval,
        )
        trigger = LookerDeliveryTrigger(
            end_time=time.time() + self.timeout,
            plan_id=target.plan_id,
            plan_name_contains=target.name_contains,
            created_after=target.created_after.isoformat() if target.created_after else None,
            poll_interval=self.poke_interval,
            looker_conn_id=self.looker_conn_id,
        )
        self.defer(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> str:
        """Finish the sensor after the triggerer's wait: succeed on a delivery, raise on anything else."""
        try:
            state = state_from_event(event, failure_error=LookerDeliverySensorFailedError)
        except LookerDeliveryTimeoutError as error:
            raise AirflowSensorTimeout(str(error)) from error
        self._delivered(context, state)
        return state.plan_id

    def _delivered(self, context: Context, state: JobState) -> None:
        context["ti"].xcom_push(key=DELIVERY_XCOM_KEY, value=state.to_dict())
        self.log.info("Looker delivered %s.", DeliveryTarget(plan_id=state.plan_id, plan_name=state.plan_name).describe_state(state))


def _parse_time(value: Any) -> datetime.datetime:
    """Return ``value`` (a datetime or an ISO 8601 string) as an aware datetime; naive means UTC."""
    if isinstance(value, str):
        import pendulum

        try:
            value = pendulum.parse(value.strip())
        except (ValueError, TypeError) as error:
            raise LookerConfigurationError(
                f"Invalid created_after {value!r}: give a datetime or an ISO 8601 time such as 2026-01-31T06:00:00+00:00."
            ) from error
    if not isinstance(value, datetime.datetime):
        raise LookerConfigurationError(
            f"Invalid created_after {value!r}: give a datetime or an ISO 8601 time such as 2026-01-31T06:00:00+00:00."
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value
