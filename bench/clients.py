"""Benchmark clients, each run in its own process: ``python bench/clients.py MODE --out FILE ...``.

Modes:

* ``hook``: this provider's ``LookerHook``: login, ``run_once``, logout, per delivery.
* ``operator``: ``RunOncePlanOperator.execute`` with ``strict_filters`` on (adds a GET of the dashboard);
* ``operator-no-check``: the same with ``strict_filters`` off.
* ``sdk``: the official ``looker_sdk``: ``init40`` from ``LOOKERSDK_*`` variables, ``scheduled_plan_run_once``
  (which logs in first), and logout.
* ``sdk-loop``: one ``looker_sdk`` session calling ``scheduled_plan_run_once`` once per filter set. The
  SDK has no retries, so a rejected call is counted and the loop goes on.

Each timed delivery is measured inside the process with ``time.perf_counter``, so interpreter start and
imports are left out. The results go to ``--out`` as JSON, because the hook's log lines use stdout.
Outgoing connections to any address other than 127.0.0.1 are refused.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DASHBOARD_ID, DESTINATION, FILTERS, filter_sets

_ALLOWED_HOSTS = ("127.0.0.1",)


def allow_loopback_only() -> None:
    """Make every TCP connection to an address other than 127.0.0.1 fail in this process."""
    original_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _ALLOWED_HOSTS:
            raise OSError(f"the benchmark allows connections to 127.0.0.1 only, not {address!r}")
        return original_connect(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign]


def filters_string(filters: dict[str, str]) -> str:
    """Encode filters as Looker's ``filters_string``, each name and value percent-encoded."""
    return "?" + urlencode(filters, quote_via=quote, safe="")


class TaskInstanceStub:
    """The few task-instance attributes ``RunOncePlanOperator.execute`` reads from its context."""

    def __init__(self, run_id: str) -> None:
        self.dag_id = "bench"
        self.run_id = run_id
        self.task_id = "deliver"
        self.map_index = -1
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def run_hook(index: int) -> str:
    from airflow_provider_looker_trigger.hooks.looker import LookerHook
    from airflow_provider_looker_trigger.plan import (
        PlanOptions,
        build_run_once_body,
        encode_filters,
        parse_destinations,
        resolve_source,
    )

    body = build_run_once_body(
        name=f"bench hook {index}",
        source=resolve_source(dashboard_id=DASHBOARD_ID),
        destinations=parse_destinations([DESTINATION]),
        filters_string=encode_filters(FILTERS),
        options=PlanOptions(),
    )
    with LookerHook() as hook:
        plan = hook.run_once(body)
    return str(plan["id"])


def make_operator(strict_filters: bool):
    from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

    return RunOncePlanOperator(
        task_id="deliver",
        dashboard_id=DASHBOARD_ID,
        filters=FILTERS,
        destinations=[DESTINATION],
        strict_filters=strict_filters,
        name="bench operator",
    )


def run_sdk(index: int) -> str:
    import looker_sdk
    from looker_sdk.sdk.api40 import models

    sdk = looker_sdk.init40()
    try:
        plan = sdk.scheduled_plan_run_once(
            models.WriteScheduledPlan(
                name=f"bench sdk {index}",
                dashboard_id=DASHBOARD_ID,
                filters_string=filters_string(FILTERS),
                scheduled_plan_destination=[models.ScheduledPlanDestination(**DESTINATION)],
            )
        )
    finally:
        sdk.auth.logout()
    return str(plan.id)


def time_deliveries(mode: str, reps: int, warmup: int) -> dict[str, Any]:
    """Run ``warmup`` untimed and ``reps`` timed deliveries one after another."""
    if mode in ("operator", "operator-no-check"):
        operator = make_operator(strict_filters=mode == "operator")

        def deliver(index: int) -> str:
            return operator.execute({"ti": TaskInstanceStub(f"bench_{index}")})

    else:
        deliver = run_hook if mode == "hook" else run_sdk

    plan_ids = []
    timings = []
    for index in range(warmup + reps):
        started = time.perf_counter()
        plan_ids.append(deliver(index))
        elapsed = time.perf_counter() - started
        if index >= warmup:
            timings.append(elapsed)
    return {"mode": mode, "warmup": warmup, "reps": reps, "timings": timings, "plan_ids": plan_ids}


def sdk_loop(count: int) -> dict[str, Any]:
    """Call ``scheduled_plan_run_once`` once per filter set in one SDK session, without retries."""
    import looker_sdk
    from looker_sdk.sdk.api40 import models

    delivered = 0
    errors: dict[str, int] = {}
    started = time.perf_counter()
    sdk = looker_sdk.init40()
    try:
        for index, filters in enumerate(filter_sets(count)):
            try:
                sdk.scheduled_plan_run_once(
                    models.WriteScheduledPlan(
                        name=f"bench sdk loop {index}",
                        dashboard_id=DASHBOARD_ID,
                        filters_string=filters_string(filters),
                        scheduled_plan_destination=[models.ScheduledPlanDestination(**DESTINATION)],
                    )
                )
                delivered += 1
            except looker_sdk.error.SDKError as err:
                key = str(err).splitlines()[0][:120]
                errors[key] = errors.get(key, 0) + 1
    finally:
        elapsed = time.perf_counter() - started
        sdk.auth.logout()
    return {"mode": "sdk-loop", "count": count, "delivered": delivered, "errors": errors, "wall_s": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description="Run one benchmark client and write its timings as JSON.")
    parser.add_argument("mode", choices=("hook", "operator", "operator-no-check", "sdk", "sdk-loop"))
    parser.add_argument("--out", type=Path, required=True, help="JSON file the results are written to")
    parser.add_argument("--reps", type=int, default=10, help="timed deliveries (all modes but sdk-loop)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed deliveries first (all modes but sdk-loop)")
    parser.add_argument("--count", type=int, default=100, help="deliveries in the loop (sdk-loop)")
    args = parser.parse_args()

    allow_loopback_only()
    if args.mode == "sdk-loop":
        result = sdk_loop(args.count)
    else:
        result = time_deliveries(args.mode, args.reps, args.warmup)
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
