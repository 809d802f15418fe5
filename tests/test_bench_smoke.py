"""Smoke test of the benchmark: ``bench/run.py --quick`` runs every part and its figures are sane.

The run uses neither the peer venv (Google provider) nor apt-get. The curl + jq and looker-sdk
clients run when those tools are installed; their tests are skipped, saying why, when they are not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The benchmark measures imports over airflow.sdk and runs DAGs with it, so it needs Airflow 3.
pytest.importorskip("airflow.sdk", reason="the benchmark needs airflow.sdk, which Airflow 3 provides")

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
QUICK_COUNT = 10

sys.path.insert(0, str(BENCH))

import report


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "quick-results.json"
    command = [
        sys.executable,
        str(BENCH / "run.py"),
        "--quick",
        "--no-peers-venv",
        "--no-install",
        "--no-doc",
        "--import-reps",
        "2",
        "--delivery-reps",
        "2",
        "--json",
        str(out),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"bench/run.py --quick failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return json.loads(out.read_text())


def _client(part: dict[str, Any], label: str) -> dict[str, Any]:
    for client in part["clients"]:
        if client["label"] == label:
            return client
    pytest.skip(f"{label} was not measured: {part.get('skipped')}")


def test_parse_cost_of_ours_measured(quick_results):
    modules = quick_results["parts"]["imports"]["modules"]
    ours = [module for module in modules if module["label"] == "ours" and module["environment"] == "project"]

    assert len(ours) == 1
    assert ours[0]["marginal_ms"]["median"] > 0


def test_single_delivery_hook_round_trips(quick_results):
    hook = _client(quick_results["parts"]["single"], "ours (hook)")

    assert hook["round_trips"] == 3
    assert hook["statuses"] == [200, 204]
    assert hook["wall_ms"]["median"] >= quick_results["parts"]["single"]["floor_ms"]


def test_single_delivery_operator_reads_dashboard(quick_results):
    operator = _client(quick_results["parts"]["single"], "ours (operator, strict_filters)")

    assert operator["round_trips"] == 4
    assert operator["operations_per_delivery"]["dashboard"] == 1


@pytest.mark.parametrize("label", ["curl + jq", "looker-sdk"], ids=["curl-jq", "looker-sdk"])
def test_single_delivery_peer_round_trips(quick_results, label):
    if label == "curl + jq" and not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("curl or jq is not installed (apt-get install -y curl jq)")
    peer = _client(quick_results["parts"]["single"], label)

    assert peer["round_trips"] == 3
    assert peer["operations_per_delivery"]["scheduled_plan_run_once"] == 1


@pytest.mark.parametrize(
    "label", ["ours (batch operator)", "mapped RunOncePlanOperator"], ids=["batch-operator", "mapped-tasks"]
)
def test_many_deliveries_all_delivered(quick_results, label):
    client = _client(quick_results["parts"]["many"], label)

    assert client["delivered"] == QUICK_COUNT
    assert client["dag_run_state"] == "success"


def test_batch_operator_logs_in_once(quick_results):
    batch = _client(quick_results["parts"]["many"], "ours (batch operator)")

    assert batch["operations"]["login"] == 1
    assert batch["operations"]["logout"] == 1


def test_wait_deferred_holds_slot_shorter(quick_results):
    if "wait" not in quick_results["parts"]:
        pytest.skip(f"part 4 was not run: {quick_results['skipped_parts'].get('4')}")
    wait = quick_results["parts"]["wait"]
    deferred = _client(wait, "deferrable wait")
    synchronous = _client(wait, "synchronous wait")

    assert deferred["dag_run_state"] == "success"
    assert synchronous["dag_run_state"] == "success"
    assert deferred["task_runs"] == 2
    assert synchronous["task_run_slot_s"] >= wait["job_delay_s"]
    assert deferred["task_run_slot_s"] < synchronous["task_run_slot_s"]


def test_report_renders_every_part(quick_results):
    text = report.render(quick_results)

    for heading in ("### 1.", "### 2.", "### 3."):
        assert heading in text


def test_report_replaces_results_block(quick_results, tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\n{report.START_MARKER}\nold figures\n{report.END_MARKER}\n\nMethod.\n")

    report.update_doc(page, report.render(quick_results))

    text = page.read_text()
    assert "old figures" not in text
    assert "### 2." in text
    assert text.endswith(f"{report.END_MARKER}\n\nMethod.\n")


def test_benchmarks_page_has_results_block():
    text = (ROOT / "docs" / "benchmarks.md").read_text()

    assert text.count(report.START_MARKER) == 1
    assert text.count(report.END_MARKER) == 1
