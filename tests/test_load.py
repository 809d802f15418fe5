"""Load test: 200 deliveries through RunOncePlanBatchOperator while Looker returns random 429s and 503s.

The faults are drawn from a seeded random generator and injected by call number, so every run gets the
same pattern of faults on the emulator's run_once calls. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from types import SimpleNamespace

from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.operators.batch import STATUS_SENT, RunOncePlanBatchOperator
from airflow_provider_looker_trigger.testing import Fault

DELIVERIES = 200
SEED = 20260302
# Shares of run_once calls that get 429 and 503. Every fault makes the hook send one more call.
RATE_LIMITED_SHARE = 0.10
UNAVAILABLE_SHARE = 0.05
RETRY_AFTER_CHOICES = (None, "0", "1")
STATES = ("California", "New York", "Texas", "Florida", "Washington", "Illinois")
RUN_ONCE = "scheduled_plan_run_once"


class LoadBatchOperator(RunOncePlanBatchOperator):
    def get_hook(self) -> LookerHook:
        return LookerHook(self.looker_conn_id, backoff_factor=0.01, backoff_max=0.1, retry_after_max=2.0)


class FakeTaskInstance(SimpleNamespace):
    def xcom_push(self, key, value):
        self.xcoms[key] = value


def inject_faults(emulator, calls: int) -> dict[int, Fault]:
    """Give a seeded share of the first ``calls`` run_once calls a 429 or a 503."""
    rng = random.Random(SEED)
    faults = {}
    for number in range(1, calls + 1):
        draw = rng.random()
        if draw < RATE_LIMITED_SHARE:
            fault = Fault(RUN_ONCE, calls=(number,), status=429, retry_after=rng.choice(RETRY_AFTER_CHOICES))
        elif draw < RATE_LIMITED_SHARE + UNAVAILABLE_SHARE:
            fault = Fault(RUN_ONCE, calls=(number,), status=503, retry_after=rng.choice((None, "0")))
        else:
            continue
        faults[number] = emulator.add_fault(fault)
    return faults


def test_load_200_deliveries_with_429_and_503(looker_emulator, monkeypatch, capfd):
    emulator = looker_emulator
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", emulator.connection_json())
    emulator.run_once_rate_limit = 100.0
    # Jobs render after the response, as in Looker, so a slow render does not hold a request open.
    emulator.job_delay = 0.01
    faults = inject_faults(emulator, calls=DELIVERIES * 2)
    deliveries = [
        {
            "name": f"Orders {index:03d}",
            "filters": {"State / Region": STATES[index % len(STATES)]},
            "destinations": [{"address": f"recipient-{index:03d}@example.com"}],
        }
        for index in range(DELIVERIES)
    ]
    operator = LoadBatchOperator(
        task_id="deliver_many",
        dashboard_id=73,
        filters={"Date": "30 days"},
        destination_defaults={"type": "email", "format": "csv_zip"},
        deliveries=deliveries,
        rate_limit=50,
        max_concurrency=8,
    )
    ti = FakeTaskInstance(dag_id="looker_load", run_id="manual__load", task_id="deliver_many", map_index=-1, try_number=1, xcoms={})

    started = time.monotonic()
    results = operator.execute({"ti": ti, "task_instance": ti})
    seconds = time.monotonic() - started
    assert emulator.wait_for_jobs(timeout=30)

    calls = [call for call in emulator.calls if call.operation == RUN_ONCE]
    statuses = Counter(call.status for call in calls)
    names = [delivery.plan["name"] for delivery in emulator.deliveries]
    retry_lines = re.findall(r"Retrying Looker request POST \S+/scheduled_plans/run_once \(retry \d+\) after answer (\d+)", capfd.readouterr().out)
    with capfd.disabled():
        print(
            f"\nload: {DELIVERIES} deliveries, {len(calls)} run_once calls, {statuses[429]} got 429, "
            f"{statuses[503]} got 503, {len(retry_lines)} retries, {seconds:.1f} s "
            f"({sum(fault.hits for fault in faults.values())} injected faults hit)"
        )

    assert [result["status"] for result in results] == [STATUS_SENT] * DELIVERIES
    assert len(names) == DELIVERIES
    assert len(set(names)) == DELIVERIES
    assert all(delivery.status == "success" for delivery in emulator.deliveries)
    assert statuses[429] > 0
    assert statuses[503] > 0
    assert statuses[200] == DELIVERIES
    assert len(calls) == DELIVERIES + statuses[429] + statuses[503]
    assert Counter(retry_lines) == {"429": statuses[429], "503": statuses[503]}
    # Each rejected call was sent again for the same plan, and that later call succeeded.
    accepted_after = {}
    for position, call in enumerate(calls):
        if call.status == 200:
            accepted_after[call.body["name"]] = position
    for position, call in enumerate(calls):
        if call.status in (429, 503):
            assert accepted_after[call.body["name"]] > position
    assert seconds < 60
