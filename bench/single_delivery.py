"""Part 2: one delivery against the emulator with injected latency on every request.

Each client delivers the same dashboard with the same filters and destination. The emulator adds
``latency`` seconds before writing every response (a ``Fault`` on operation "*"), and counts the
HTTP round trips from its recorded calls. Clients:

* ``ours (hook)``: ``LookerHook`` login, ``run_once``, logout;
* ``ours (operator, strict_filters)``: ``RunOncePlanOperator.execute``, which also reads the dashboard
  to check the filter names;
* ``ours (operator, no filter check)``: the same with ``strict_filters=False``;
* ``curl + jq``: ``bench/deliver.sh``, timed as a whole process (bash, three curl runs, jq);
* ``looker-sdk``: ``init40``, ``scheduled_plan_run_once``, logout.

The Python clients time each delivery inside their process; every client process first makes one
untimed delivery, so lazy imports and connection pools are warm. The curl + jq script also runs once
untimed per round.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    DASHBOARD_ID,
    DESTINATION,
    FILTERS,
    clean_env,
    count_operations,
    emulator_env,
    summarize,
)

ROUND_TRIP_FLOOR = 3  # login, run_once, logout


def _python_client(python: str, mode: str, reps: int, emulator, workdir: Path, airflow_env: dict[str, str]) -> dict[str, Any]:
    out = workdir / f"single-{mode}.json"
    env = clean_env({**airflow_env, **emulator_env(emulator)})
    before = len(emulator.calls)
    result = subprocess.run(
        [python, str(BENCH_DIR / "clients.py"), mode, "--out", str(out), "--reps", str(reps), "--warmup", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"client {mode} failed:\n{result.stderr[-3000:]}")
    data = json.loads(out.read_text())
    calls = emulator.calls[before:]
    return {"timings_ms": [t * 1000 for t in data["timings"]], "deliveries": reps + 1, "calls": calls}


def _shell_client(reps: int, emulator) -> dict[str, Any]:
    env = clean_env(emulator_env(emulator))
    before = len(emulator.calls)
    timings = []
    for index in range(reps + 1):
        command = [
            "bash",
            str(BENCH_DIR / "deliver.sh"),
            DASHBOARD_ID,
            json.dumps(FILTERS),
            DESTINATION["address"],
            DESTINATION["format"],
            f"bench curl {index}",
        ]
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"deliver.sh failed with exit code {result.returncode}:\n{result.stderr[-2000:]}")
        if index > 0:
            timings.append(elapsed * 1000)
    return {"timings_ms": timings, "deliveries": reps + 1, "calls": emulator.calls[before:]}


def _summary(label: str, raw: dict[str, Any]) -> dict[str, Any]:
    operations = count_operations(raw["calls"])
    statuses = sorted({call.status for call in raw["calls"]})
    return {
        "label": label,
        "wall_ms": summarize(raw["timings_ms"]),
        "timings_ms": raw["timings_ms"],
        "round_trips": len(raw["calls"]) / raw["deliveries"],
        "operations_per_delivery": {name: count / raw["deliveries"] for name, count in sorted(operations.items())},
        "statuses": statuses,
    }


def measure(
    *,
    start_emulator,
    workdir: Path,
    airflow_env: dict[str, str],
    reps: int,
    rounds: int,
    latency: float,
    sdk_python: str | None,
    shell_ready: bool,
    skipped: dict[str, str],
) -> dict[str, Any]:
    """Run every available client ``reps`` times against one emulator with ``latency`` s per response.

    The repetitions are split into ``rounds``, and each round runs every client once, in turn. A change
    in the machine's load during the run then affects every client alike.
    """
    from airflow_provider_looker_trigger.testing import Fault

    emulator = start_emulator(run_once_rate_limit=None)
    emulator.add_fault(Fault(operation="*", delay=latency))

    def python_client(python: str, mode: str):
        return lambda count: _python_client(python, mode, count, emulator, workdir, airflow_env)

    runners = [
        ("ours (hook)", python_client(sys.executable, "hook")),
        ("ours (operator, strict_filters)", python_client(sys.executable, "operator")),
        ("ours (operator, no filter check)", python_client(sys.executable, "operator-no-check")),
    ]
    if shell_ready:
        runners.append(("curl + jq", lambda count: _shell_client(count, emulator)))
    if sdk_python:
        runners.append(("looker-sdk", python_client(sdk_python, "sdk")))

    rounds = max(1, min(rounds, reps))
    per_round = [reps // rounds + (1 if index < reps % rounds else 0) for index in range(rounds)]
    merged: dict[str, dict[str, Any]] = {label: {"timings_ms": [], "deliveries": 0, "calls": []} for label, _ in runners}
    try:
        for count in per_round:
            for label, runner in runners:
                raw = runner(count)
                merged[label]["timings_ms"].extend(raw["timings_ms"])
                merged[label]["deliveries"] += raw["deliveries"]
                merged[label]["calls"].extend(raw["calls"])
    finally:
        emulator.stop()
    return {
        "latency_s": latency,
        "reps": reps,
        "rounds": rounds,
        "round_trip_floor": ROUND_TRIP_FLOOR,
        "floor_ms": ROUND_TRIP_FLOOR * latency * 1000,
        "clients": [_summary(label, merged[label]) for label, _ in runners],
        "skipped": {key: value for key, value in skipped.items() if key in ("curl + jq", "looker-sdk")},
    }
