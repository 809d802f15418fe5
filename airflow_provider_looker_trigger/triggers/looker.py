"""Trigger that waits in the triggerer for a Looker scheduled job to finish."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.common.compat.connection import get_async_connection
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_looker_trigger.delivery import (
    EVENT_ERROR,
    EVENT_FAILURE,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    DeliveryTarget,
    JobState,
    JobStatus,
    delivery_event,
)
from airflow_provider_looker_trigger.exceptions import LookerError
from airflow_provider_looker_trigger.hooks.looker import LookerHook

DEFAULT_POLL_INTERVAL = 60.0
"""Seconds between two System Activity queries; each one counts against Looker's API quota."""


class _FetchedConnectionHook(LookerHook):
    """A Looker hook that uses a connection read beforehand, so that no blocking lookup runs in the triggerer."""

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(looker_conn_id=connection.conn_id, **kwargs)
        self._connection = connection

    def get_connection(self, conn_id: str) -> Any:  # type: ignore[override]
        return self._connection


class LookerDeliveryTrigger(BaseTrigger):
    """Poll Looker's System Activity until a scheduled job finishes, then fire one event.

    Watch either one plan (``plan_id``) or the newest job of the plans whose name contains
    ``plan_name_contains``, created at or after ``created_after``. The event payload is::

        {"status": "success" | "failure" | "timeout" | "error",
         "plan_id": "1001" or None, "job": JobState.to_dict() or None, "message": "..."}

    ``timeout`` means that ``end_time`` passed before the job finished, and ``error`` that the state could
    not be read, for example without the ``see_system_activity`` permission. The trigger logs in once,
    keeps the session for every poll (the hook logs in again when the token expires) and logs out before
    it fires. Each HTTP request runs in a worker thread, off the triggerer's event loop.

    :param end_time: deadline in UNIX seconds; the trigger polls once more at the deadline, then times out.
    :param plan_id: id of the plan whose newest job to watch.
    :param plan_name: the plan's full name, for messages only.
    :param plan_name_contains: watch the plans whose name contains this text, instead of ``plan_id``.
    :param created_after: ISO 8601 time; jobs created before it are ignored.
    :param poll_interval: seconds between two polls.
    :param looker_conn_id: id of the Looker connection.
    """

    def __init__(
        self,
        *,
        end_time: float,
        plan_id: str | None = None,
        plan_name: str | None = None,
        plan_name_contains: str | None = None,
        created_after: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        looker_conn_id: str = "looker_default",
    ) -> None:
        super().__init__()
        self.end_time = float(end_time)
        self.plan_id = None if plan_id is None else str(plan_id)
        self.plan_name = plan_name
        self.plan_name_contains = plan_name_contains
        self.created_after = created_after.isoformat() if isinstance(created_after, datetime.datetime) else created_after
        self.poll_interval = float(poll_interval)
        self.looker_conn_id = looker_conn_id
        # Checks the arguments now, in the task, rather than in the triggerer.
        self.target()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "end_time": self.end_time,
                "plan_id": self.plan_id,
                "plan_name": self.plan_name,
                "plan_name_contains": self.plan_name_contains,
                "created_after": self.created_after,
                "poll_interval": self.poll_interval,
                "looker_conn_id": self.looker_conn_id,
            },
        )

    def target(self) -> DeliveryTarget:
        """Return what this trigger watches."""
        created_after = datetime.datetime.fromisoformat(self.created_after) if self.created_after else None
        return DeliveryTarget(
            plan_id=self.plan_id,
            plan_name=self.plan_name,
            name_contains=self.plan_name_contains,
            created_after=created_after,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        payload = await self._wait()
        yield TriggerEvent(payload)

    async def _wait(self) -> dict[str, Any]:
        """Poll until the job finishes, the deadline passes or an error occurs; return the event payload."""
        target = self.target()
        hook: LookerHook | None = None
        state: JobState | None = None
        try:
            connection = await get_async_connection(self.looker_conn_id, hook=LookerHook)
            hook = _FetchedConnectionHook(connection)
            while True:
                state = await asyncio.to_thread(target.read_state, hook)
                self.log.info("Looker delivery of %s", target.describe_state(state))
                if state.status is JobStatus.SUCCESS:
                    return delivery_event(EVENT_SUCCESS, target, state, f"Looker delivered {target.describe_state(state)}.")
                if state.status is JobStatus.FAILURE:
                    return delivery_event(EVENT_FAILURE, target, state, target.failure_message(state))

                remaining = self.end_time - time.time()
                if remaining <= 0:
                    deadline = datetime.datetime.fromtimestamp(self.end_time, tz=datetime.timezone.utc)
                    message = target.timeout_message(state, f"by {deadline.isoformat(timespec='seconds')}")
                    return delivery_event(EVENT_TIMEOUT, target, state, message)
                await asyncio.sleep(min(self.poll_interval, remaining))
        except LookerError as error:
            self.log.error("Could not read the delivery state of %s: %s", target.describe(), error)
            return delivery_event(EVENT_ERROR, target, state, str(error))
        except Exception as error:
            self.log.exception("Could not read the delivery state of %s", target.describe())
            message = f"Could not read the delivery state of {target.describe()}: {type(error).__name__}: {error}"
            return delivery_event(EVENT_ERROR, target, state, message)
        finally:
            if hook is not None:
                await asyncio.to_thread(hook.close)
