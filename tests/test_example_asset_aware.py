"""The asset-aware example DAGs, run with ``dag.test()`` against the Looker emulator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from airflow_compat import count_asset_events, register_dags, scheduled_assets

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example_dags" / "looker_asset_aware.py"

pytestmark = pytest.mark.usefixtures("airflow_db")


@pytest.fixture
def example(looker_emulator, monkeypatch, tmp_path):
    """Import the example with looker_default pointing at the emulator and a private warehouse file."""
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    monkeypatch.setenv("LOOKER_DEMO_WAREHOUSE", str(tmp_path / "warehouse.sqlite"))
    spec = importlib.util.spec_from_file_location("looker_asset_aware_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_delivery_dag_scheduled_on_asset(example):
    assert scheduled_assets(example.deliver_dag) == [example.ORDERS]
    assert [task.task_id for task in example.load_dag.tasks] == ["load_orders"]
    assert example.load_dag.tasks[0].outlets == [example.ORDERS]


def test_load_dag_records_asset_event(example):
    register_dags(example.load_dag, example.deliver_dag)

    run = example.load_dag.test()

    assert run.state == "success"
    assert count_asset_events(example.ORDERS.uri, run.run_id) == 1


def test_delivery_dag_delivers(example, looker_emulator):
    register_dags(example.load_dag, example.deliver_dag)

    run = example.deliver_dag.test()

    assert run.state == "success"
    assert len(looker_emulator.deliveries) == 1
    delivery = looker_emulator.deliveries[0]
    assert delivery.filters == {"Date": "7 days", "State / Region": "-Not State"}
