"""Benchmark DAG runs, each in its own process: ``python bench/dag_worker.py SCENARIO --out FILE ...``.

The process runs one DAG with ``dag.test()`` on the Airflow home given by the environment (an SQLite
metadata database) and writes JSON figures to ``--out``. Scenarios:

* ``batch``: one ``RunOncePlanBatchOperator`` task delivering ``--count`` filter sets;
* ``mapped``: ``RunOncePlanOperator.partial(...).expand(filters=...)``, one task per filter set;
* ``wait``: one ``RunOncePlanOperator(wait_for_delivery=True)`` task, deferrable or not.

The operators are subclassed only to record when ``execute`` (and, after a deferral, the resume method)
starts and ends. Each subclass calls the provider's code unchanged. Outgoing connections to any
address other than 127.0.0.1 are refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clients import allow_loopback_only
from common import DASHBOARD_ID, DESTINATION, FILTERS, filter_sets

SPANS_VARIABLE = "BENCH_SPANS_FILE"
SCENARIO_VARIABLE = "BENCH_SCENARIO"

# dag.test() finds the DAG by parsing the DAGs folder, so the run writes this file there. It builds the
# same DAG from the scenario in the environment.
DAG_FILE_TEMPLATE = """\
# Benchmark DAG for Apache Airflow, written by bench/dag_worker.py for one dag.test() run.
import json
import os
import sys

sys.path.insert(0, {bench_dir!r})

from dag_worker import build_dag

dag = build_dag(json.loads(os.environ[{scenario_variable!r}]))
"""


def _record(what: str, started: float, task_id: str = "") -> None:
    """Append one span (its kind ``what``, task id, start and end in ``time.monotonic`` seconds) to the spans file."""
    span = {"what": what, "task_id": task_id, "start": started, "end": time.monotonic()}
    with open(os.environ[SPANS_VARIABLE], "a") as handle:
        handle.write(json.dumps(span) + "\n")


def _dag(dag_id: str):
    import pendulum
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)


def _warm_up():
    """Return a no-op task that runs first, so the measured tasks do not pay dag.test()'s one-time start-up."""
    from airflow.sdk import task

    @task(task_id="warm_up")
    def warm_up() -> None:
        return None

    return warm_up()


def build_batch(count: int):
    from airflow_provider_looker_trigger.operators.batch import RunOncePlanBatchOperator

    class TimedBatch(RunOncePlanBatchOperator):
        def execute(self, context):
            started = time.monotonic()
            try:
                return super().execute(context)
            finally:
                _record("execute", started)

    with _dag("bench_batch") as dag:
        _warm_up() >> TimedBatch(
            task_id="deliver_all",
            dashboard_id=DASHBOARD_ID,
            destinations=[DESTINATION],
            deliveries=[{"filters": filters} for filters in filter_sets(count)],
            strict_filters=True,
            name="bench batch",
        )
    return dag


def build_mapped(count: int):
    from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

    class TimedRunOnce(RunOncePlanOperator):
        def execute(self, context):
            started = time.monotonic()
            try:
                return super().execute(context)
            finally:
                _record("execute", started)

    with _dag("bench_mapped") as dag:
        _warm_up() >> TimedRunOnce.partial(
            task_id="deliver",
            dashboard_id=DASHBOARD_ID,
            destinations=[DESTINATION],
            strict_filters=True,
            name="bench mapped",
        ).expand(filters=filter_sets(count))
    return dag


def build_wait(deferrable: bool, poll_interval: float, timeout: float):
    from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

    class TimedWait(RunOncePlanOperator):
        def execute(self, context):
            started = time.monotonic()
            try:
                return super().execute(context)
            finally:
                # Ends when execute returns or raises TaskDeferred, which frees the worker slot.
                _record("execute", started)

        def execute_complete(self, context, event=None):
            started = time.monotonic()
            try:
                return super().execute_complete(context, event)
            finally:
                _record("execute_complete", started)

    with _dag("bench_wait_deferrable" if deferrable else "bench_wait_sync") as dag:
        _warm_up() >> TimedWait(
            task_id="deliver_and_wait",
            dashboard_id=DASHBOARD_ID,
            filters=FILTERS,
            destinations=[DESTINATION],
            name="bench wait",
            wait_for_delivery=True,
            deferrable=deferrable,
            poll_interval=poll_interval,
            delivery_timeout=timeout,
        )
    return dag


def build_dag(scenario: dict[str, Any]):
    """Return the DAG of a scenario dict: ``{"name": "batch" | "mapped" | "wait", ...}``."""
    if scenario["name"] == "batch":
        return build_batch(scenario["count"])
    if scenario["name"] == "mapped":
        return build_mapped(scenario["count"])
    return build_wait(scenario["deferrable"], scenario["poll_interval"], scenario["timeout"])


def record_task_runs() -> None:
    """Wrap dag.test()'s in-process task runner so that each task run, a resumed one included, is recorded."""
    from airflow.sdk.execution_time import supervisor

    run_in_process = supervisor.run_task_in_process

    def timed_run_task_in_process(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return run_in_process(*args, **kwargs)
        finally:
            ti = kwargs.get("ti")
            _record("task_run", started, getattr(ti, "task_id", ""))

    supervisor.run_task_in_process = timed_run_task_in_process


def run(scenario: dict[str, Any], spans_file: Path) -> dict[str, Any]:
    """Write the DAG file, run the scenario's DAG with dag.test() and return its figures."""
    os.environ[SCENARIO_VARIABLE] = json.dumps(scenario)
    os.environ[SPANS_VARIABLE] = str(spans_file)
    spans_file.write_text("")
    dags_folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags_folder.mkdir(parents=True, exist_ok=True)
    dag_file = dags_folder / "bench_dag.py"
    dag_file.write_text(
        DAG_FILE_TEMPLATE.format(bench_dir=str(Path(__file__).resolve().parent), scenario_variable=SCENARIO_VARIABLE)
    )

    dag = build_dag(scenario)
    record_task_runs()
    started = time.monotonic()
    dag_run = dag.test()
    finished = time.monotonic()

    state = getattr(dag_run, "state", None)
    spans = [json.loads(line) for line in spans_file.read_text().splitlines() if line.strip()]
    return {
        "scenario": scenario,
        "dag_test_s": finished - started,
        "dag_run_state": str(getattr(state, "value", state)),
        "spans": [
            {
                "what": span["what"],
                "task_id": span["task_id"],
                "start_s": span["start"] - started,
                "end_s": span["end"] - started,
            }
            for span in spans
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Run one benchmark DAG with dag.test() and write its figures as JSON.")
    parser.add_argument("scenario", choices=("batch", "mapped", "wait"))
    parser.add_argument("--out", type=Path, required=True, help="JSON file the figures are written to")
    parser.add_argument("--count", type=int, default=100, help="deliveries (batch, mapped)")
    parser.add_argument("--deferrable", action="store_true", help="defer while waiting (wait)")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds between status reads (wait)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the delivery at most (wait)")
    args = parser.parse_args()

    allow_loopback_only()
    scenario = {
        "name": args.scenario,
        "count": args.count,
        "deferrable": args.deferrable,
        "poll_interval": args.poll_interval,
        "timeout": args.timeout,
    }
    result = run(scenario, args.out.with_suffix(".spans.jsonl"))
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
