"""The asset-aware example DAGs, run with ``dag.test()`` against the Looker emulator."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

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


def _register(*dags) -> None:
    """Write DAGs to the metadata database, which ``dag.test()`` and asset events need."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull)
    for dag in dags:
        bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def test_delivery_dag_scheduled_on_asset(example):
    assert list(example.deliver_dag.timetable.asset_condition.objects) == [example.ORDERS]
    assert [task.task_id for task in example.load_dag.tasks] == ["load_orders"]
    assert example.load_dag.tasks[0].outlets == [example.ORDERS]


def test_load_dag_records_asset_event(example):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    _register(example.load_dag, example.deliver_dag)

    run = example.load_dag.test()

    assert run.state == "success"
    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == example.ORDERS.uri, AssetEvent.source_run_id == run.run_id)
            .all()
        )
    assert len(events) == 1


def test_delivery_dag_delivers(example, looker_emulator):
    _register(example.load_dag, example.deliver_dag)

    run = example.deliver_dag.test()

    assert run.state == "success"
    assert len(looker_emulator.deliveries) == 1
    delivery = looker_emulator.deliveries[0]
    assert delivery.filters == {"Date": "7 days", "State / Region": "-Not State"}
