"""Part 3: many deliveries under the emulator's run_once rate limit (10 calls per second by default).

Each client starts with a fresh emulator, so its token bucket is full (a burst of 10 calls, then 10
per second). Clients:

* ``ours (batch operator)``: one ``RunOncePlanBatchOperator`` task run with dag.test(): one login, the
  dashboard read once for the filter check, paced run_once calls from a thread pool;
* ``looker-sdk loop``: one SDK session calling ``scheduled_plan_run_once`` in a plain loop. The SDK
  does not retry, so each 429 response is a lost delivery;
* ``mapped RunOncePlanOperator``: ``partial().expand()`` over the filter sets, one task instance per
  delivery, run with dag.test(), which runs the task instances one at a time.

The delivery window is the time from the first delivering task's start to the last one's end, taken
from spans the worker records around ``execute``. The floor is ``count / rate``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import BENCH_DIR, clean_env, count_operations, emulator_env

RUN_ONCE_OPERATIONS = ("scheduled_plan_run_once", "scheduled_plan_run_once_by_id")


def _delivery_counts(calls: list[Any]) -> dict[str, Any]:
    run_once = [call for call in calls if call.operation in RUN_ONCE_OPERATIONS]
    return {
        "delivered": sum(1 for call in run_once if call.status == 200),
        "rejected_429": sum(1 for call in calls if call.status == 429),
        "round_trips": len(calls),
        "operations": count_operations(calls),
    }


def _run_dag(scenario: str, count: int, emulator, workdir: Path, airflow_env: dict[str, str]) -> dict[str, Any]:
    out = workdir / f"many-{scenario}.json"
    result = subprocess.run(
        [sys.executable, str(BENCH_DIR / "dag_worker.py"), scenario, "--out", str(out), "--count", str(count)],
        env=clean_env({**airflow_env, **emulator_env(emulator)}),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not out.exists():
        raise RuntimeError(f"dag_worker {scenario} failed:\n{result.stderr[-3000:]}")
    data = json.loads(out.read_text())
    executes = [span for span in data["spans"] if span["what"] == "execute"]
    task_runs = [span for span in data["spans"] if span["what"] == "task_run" and span["task_id"] != "warm_up"]
    return {
        "dag_run_state": data["dag_run_state"],
        "dag_test_s": data["dag_test_s"],
        "window_s": max(span["end_s"] for span in executes) - min(span["start_s"] for span in executes),
        "task_runs_window_s": max(span["end_s"] for span in task_runs) - min(span["start_s"] for span in task_runs),
        "execute_s_total": sum(span["end_s"] - span["start_s"] for span in executes),
        "task_instances": len(task_runs),
    }


def _run_sdk_loop(python: str, count: int, emulator, workdir: Path) -> dict[str, Any]:
    out = workdir / "many-sdk-loop.json"
    result = subprocess.run(
        [python, str(BENCH_DIR / "clients.py"), "sdk-loop", "--out", str(out), "--count", str(count)],
        env=clean_env(emulator_env(emulator)),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"sdk-loop failed:\n{result.stderr[-3000:]}")
    data = json.loads(out.read_text())
    return {"window_s": data["wall_s"], "sdk_delivered": data["delivered"], "sdk_errors": data["errors"]}


def measure(
    *,
    start_emulator,
    workdir: Path,
    airflow_env: dict[str, str],
    count: int,
    rate: float,
    batch_available: bool,
    sdk_python: str | None,
    skipped: dict[str, str],
) -> dict[str, Any]:
    """Deliver ``count`` filter sets with each available client, each against a fresh emulator."""
    runs: list[tuple[str, Any]] = []
    if batch_available:
        runs.append(("ours (batch operator)", lambda emulator: _run_dag("batch", count, emulator, workdir, airflow_env)))
    if sdk_python:
        runs.append(("looker-sdk loop", lambda emulator: _run_sdk_loop(sdk_python, count, emulator, workdir)))
    runs.append(("mapped RunOncePlanOperator", lambda emulator: _run_dag("mapped", count, emulator, workdir, airflow_env)))

    clients = []
    for label, run in runs:
        emulator = start_emulator(run_once_rate_limit=rate)
        try:
            figures = run(emulator)
            calls = emulator.calls
        finally:
            emulator.stop()
        clients.append({"label": label, **figures, **_delivery_counts(calls)})
    return {
        "count": count,
        "rate_per_s": rate,
        "floor_s": count / rate,
        "clients": clients,
        "skipped": {key: value for key, value in skipped.items() if key in ("batch operator", "looker-sdk")},
    }
