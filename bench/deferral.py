"""Part 4: worker-slot time while waiting for a delivery that takes ``job_delay`` seconds to render.

``RunOncePlanOperator(wait_for_delivery=True)`` runs with dag.test() twice against an emulator whose jobs
stay running for ``job_delay`` seconds: synchronously (the task polls System Activity in the worker)
and with ``deferrable=True`` (the task defers to ``LookerDeliveryTrigger`` and resumes in
``execute_complete``). dag.test() runs the trigger inline, in the process that runs the tasks, between
the two task runs.

Two measures of the worker slot held:

* operator code: the time spent in ``execute`` (until it returns or raises ``TaskDeferred``) plus
  ``execute_complete``;
* task runs: the time of each in-process task run of dag.test(), which adds Airflow's own work around
  the operator (state updates, XCom, rendering). A no-op task runs first, so these runs do not include
  dag.test()'s one-time start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import BENCH_DIR, clean_env, count_operations, emulator_env

TASK_ID = "deliver_and_wait"


def _run(deferrable: bool, emulator, workdir: Path, airflow_env: dict[str, str], poll_interval: float, timeout: float) -> dict[str, Any]:
    out = workdir / f"wait-{'deferrable' if deferrable else 'sync'}.json"
    command = [
        sys.executable,
        str(BENCH_DIR / "dag_worker.py"),
        "wait",
        "--out",
        str(out),
        "--poll-interval",
        str(poll_interval),
        "--timeout",
        str(timeout),
    ]
    if deferrable:
        command.append("--deferrable")
    result = subprocess.run(
        command, env=clean_env({**airflow_env, **emulator_env(emulator)}), capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not out.exists():
        raise RuntimeError(f"dag_worker wait failed:\n{result.stderr[-3000:]}")
    data = json.loads(out.read_text())
    operator_spans = [span for span in data["spans"] if span["what"] in ("execute", "execute_complete")]
    task_runs = [span for span in data["spans"] if span["what"] == "task_run" and span["task_id"] == TASK_ID]
    return {
        "dag_run_state": data["dag_run_state"],
        "dag_test_s": data["dag_test_s"],
        "operator_slot_s": sum(span["end_s"] - span["start_s"] for span in operator_spans),
        "task_run_slot_s": sum(span["end_s"] - span["start_s"] for span in task_runs),
        "task_runs": len(task_runs),
        "task_total_s": max(span["end_s"] for span in task_runs) - min(span["start_s"] for span in task_runs),
        "spans": operator_spans + task_runs,
    }


def measure(
    *,
    start_emulator,
    workdir: Path,
    airflow_env: dict[str, str],
    job_delay: float,
    poll_interval: float,
    timeout: float,
) -> dict[str, Any]:
    """Wait for one delivery synchronously, then deferred, each against a fresh emulator."""
    clients = []
    for label, deferrable in (("synchronous wait", False), ("deferrable wait", True)):
        emulator = start_emulator(job_delay=job_delay)
        try:
            figures = _run(deferrable, emulator, workdir, airflow_env, poll_interval, timeout)
            calls = emulator.calls
            jobs = emulator.jobs
        finally:
            emulator.stop()
        clients.append(
            {
                "label": label,
                **figures,
                "job_statuses": [job.status for job in jobs],
                "operations": count_operations(calls),
            }
        )
    return {"job_delay_s": job_delay, "poll_interval_s": poll_interval, "clients": clients}
