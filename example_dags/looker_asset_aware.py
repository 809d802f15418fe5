"""Deliver a Looker dashboard whenever another DAG has updated the data it shows.

Two DAGs share the asset ``ORDERS``. ``looker_asset_load_orders`` loads the day's orders and lists the
asset as its task's outlet, so each successful load records an asset event. ``looker_asset_deliver``
is scheduled on that asset: Airflow starts it after every such event, and it makes Looker deliver
dashboard 73. The loading team and the reporting team then own separate DAGs, and the report follows
the data instead of a clock. ``looker_after_load.py`` shows the same delivery inside one DAG.

The warehouse path comes from the ``LOOKER_DEMO_WAREHOUSE`` environment variable; the Looker
connection is ``looker_default``.
"""

from __future__ import annotations

import os

import pendulum

from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

WAREHOUSE = os.environ.get("LOOKER_DEMO_WAREHOUSE", "/tmp/looker_demo_warehouse.sqlite")

# [START howto_asset_definition]
# Airflow 2.11 (where Asset is Dataset) takes only a URI. Airflow 3 then names the asset after it.
ORDERS = Asset(uri="file:///warehouse/orders")
# [END howto_asset_definition]

with DAG(
    dag_id="looker_asset_load_orders",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["looker", "example"],
) as load_dag:

    # [START howto_asset_producer]
    @task(outlets=[ORDERS])
    def load_orders(data_interval_end=None) -> int:
        """Load 120 days of orders ending with the run's day; success records an event for ORDERS."""
        from airflow_provider_looker_trigger.testing.warehouse import create_schema, load_demo_orders

        create_schema(WAREHOUSE)
        return load_demo_orders(WAREHOUSE, end_date=data_interval_end.date(), days=120)

    load_orders()
    # [END howto_asset_producer]

# [START howto_asset_consumer]
with DAG(
    dag_id="looker_asset_deliver",
    schedule=[ORDERS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["looker", "example"],
) as deliver_dag:
    RunOncePlanOperator(
        task_id="deliver_business_pulse",
        dashboard_id=73,
        filters={"Date": "7 days", "State / Region": "-Not State"},
        destinations=[
            {
                "type": "email",
                "address": "business-pulse@example.com",
                "format": "wysiwyg_pdf",
                "message": "Business Pulse, refreshed because the orders were loaded.",
            }
        ],
        name="Business Pulse after the orders load",
    )
# [END howto_asset_consumer]


if __name__ == "__main__":
    load_dag.test()
    deliver_dag.test()
