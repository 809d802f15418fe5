"""Scheduled jobs of the Looker emulator: run a prepared plan, write the outbox and finalize the job.

:class:`JobRunner` is a mixin of ``LookerEmulator`` and uses its lock, clock, outbox and job table.
"""

from __future__ import annotations

import copy
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .execution import PreparedRun, execute_query, render_tiles
from .records import Delivery, Job
from .resources import PlanRecord

if TYPE_CHECKING:
    from .emulator import LookerEmulator

log = logging.getLogger(__name__)


class JobRunner:
    """Job creation and execution for ``LookerEmulator``."""

    def _start_job(
        self: LookerEmulator, record: PlanRecord, prepared: PreparedRun | None, *, failure: str | None = None
    ) -> Job:
        with self._lock:
            job = Job(str(next(self._job_ids)), record.id, "running", self._now())
            self._jobs[job.id] = job
            record.job_ids.append(job.id)
            record.last_run_at = job.created_time
            if self.job_delay > 0:
                timer = threading.Timer(self.job_delay, self._finish_job, args=(job, record, prepared, failure))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
                return job
        self._finish_job(job, record, prepared, failure)
        return job

    def _outcome_for(self: LookerEmulator, plan: dict[str, Any]) -> tuple[str, str | None] | None:
        with self._lock:
            rules = list(self._outcomes)
        for predicate, status, detail in reversed(rules):
            if predicate(plan):
                return status, detail
        return None

    def _finish_job(
        self: LookerEmulator, job: Job, record: PlanRecord, prepared: PreparedRun | None, failure: str | None
    ) -> None:
        """Run the plan's queries, write one outbox entry per destination and finalize the job."""
        plan = prepared.plan if prepared else record.body
        destinations = plan.get("scheduled_plan_destination") or []
        status, detail = "success", None
        tile_rows: list[list[dict[str, Any]]] = []
        written: list[tuple[list[Path], Path | None, str]] = []
        try:
            outcome = self._outcome_for(plan)
            if failure is not None:
                status, detail = "failure", failure
            elif outcome is not None and outcome[0] == "failure":
                status, detail = "failure", outcome[1] or "The job failed (outcome set on the emulator)"
            else:
                if outcome is not None:
                    detail = outcome[1]
                tile_rows = [execute_query(tile, self.warehouse) for tile in prepared.tiles]
                skip_reason = _skip_reason(plan, tile_rows[0])
                if skip_reason:
                    detail = skip_reason
                    written = [([], None, "skipped") for _ in destinations]
                else:
                    written = self._write_destinations(job, record, prepared, tile_rows, destinations)
        except Exception as error:  # Report the failure on the job, as Looker does, and keep serving.
            log.exception("Looker emulator job %s of plan %s failed", job.id, record.id)
            status, detail = "failure", f"The emulator could not run the plan: {type(error).__name__}: {error}"
            written = []

        finished = self._now()
        deliveries = []
        for index, destination in enumerate(destinations):
            files, manifest, delivery_status = written[index] if status == "success" else ([], None, "failure")
            deliveries.append(
                Delivery(
                    plan_id=record.id,
                    plan=copy.deepcopy(plan),
                    source=prepared.source if prepared else "unknown",
                    content_id=prepared.content_id if prepared else "",
                    filters=dict(prepared.filters) if prepared else {},
                    ignored_filters=list(prepared.ignored_filters) if prepared else [],
                    destination=copy.deepcopy(destination),
                    files=files,
                    rows=tile_rows[0] if tile_rows else [],
                    status=delivery_status,
                    job_id=job.id,
                    status_detail=detail,
                    manifest=manifest,
                    tiles={tile.title: rows for tile, rows in zip(prepared.tiles, tile_rows)} if prepared else {},
                    time=finished,
                )
            )
        with self._jobs_changed:
            job.status = status
            job.status_detail = detail
            job.finalized_time = finished
            for delivery in deliveries:
                self._deliveries.append(delivery)
                self.outbox.append_delivery(delivery)
            self._jobs_changed.notify_all()
        log.info("Looker emulator job %s of plan %s finished: %s", job.id, record.id, status)

    def _write_destinations(
        self: LookerEmulator,
        job: Job,
        record: PlanRecord,
        prepared: PreparedRun,
        tile_rows: list[list[dict[str, Any]]],
        destinations: list[dict[str, Any]],
    ) -> list[tuple[list[Path], Path | None, str]]:
        rendered: dict[str, tuple[bytes, str]] = {}
        for destination in destinations:
            output_format = destination["format"]
            if output_format not in rendered:
                rendered[output_format] = render_tiles(prepared, tile_rows, output_format)
        written = []
        for index, destination in enumerate(destinations):
            data, extension = rendered[destination["format"]]
            attachment, manifest = self.outbox.write_destination(
                plan_id=record.id,
                job_id=job.id,
                index=index,
                destination=destination,
                plan=prepared.plan,
                title=prepared.title,
                data=data,
                extension=extension,
                row_count=len(tile_rows[0]),
            )
            written.append(([attachment], manifest, "success"))
        return written


def _skip_reason(plan: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    if plan.get("require_results") and not rows:
        return "No results, so nothing was sent because require_results is set"
    if plan.get("require_no_results") and rows:
        return "The query returned results, so nothing was sent because require_no_results is set"
    return None
