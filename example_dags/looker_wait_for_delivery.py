"""Wait until Looker has delivered, without holding a worker slot while Looker renders.

After the nightly load, two deliveries run side by side:

* ``deliver_business_pulse`` makes Looker deliver dashboard 73 once, then defers: the triggerer
  reads the job's state from System Activity every minute until the job finishes, and the
  task fails with Looker's detail if the job failed. A retry of the task does not send the dashboard
  again when the first try's plan was delivered or is still running.
* ``orders_loaded`` triggers the ``thelook::orders_datagroup`` datagroup, and
  ``wait_for_daily_sales`` waits, deferred too, for the job of the schedule "Daily sales after the
  orders load" that the datagroup runs. It counts only jobs created since the end of the DAG run's
  data interval.

Both waits read System Activity, so the API user needs the ``see_system_activity`` permission. The
warehouse path comes from the ``LOOKER_DEMO_WAREHOUSE`` environment variable; the Looker connection
is ``looker_default``.
"""

from __future__ import annotations

import datetime
import os

import pendulum

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator, TriggerDatagroupOperator
from airflow_provider_looker_trigger.sensors.looker import LookerDeliverySensor

WAREHOUSE = os.environ.get("LOOKER_DEMO_WAREHOUSE", "/tmp/looker_demo_warehouse.sqlite")

with DAG(
    dag_id="looker_wait_for_delivery",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["looker", "example"],
) as dag:

    @task
    def load_orders(data_interval_end=None) -> int:
        """Load 120 days of orders ending with the run's day into the warehouse."""
        from airflow_provider_looker_trigger.testing.warehouse import create_schema, load_demo_orders

        create_schema(WAREHOUSE)
        return load_demo_orders(WAREHOUSE, end_date=data_interval_end.date(), days=120)

    # [START howto_operator_run_once_plan_wait]
    deliver = RunOncePlanOperator(
        task_id="deliver_business_pulse",
        dashboard_id=73,
        filters={"Date": "90 days", "Brand": "Calvin Klein"},
        destinations=[{"type": "email", "address": "business-pulse@example.com", "format": "wysiwyg_pdf"}],
        name="Business Pulse",
        wait_for_delivery=True,
        deferrable=True,
        poll_interval=60,
        delivery_timeout=datetime.timedelta(hours=1),
        retries=2,
    )
    # [END howto_operator_run_once_plan_wait]

    orders_loaded = TriggerDatagroupOperator(task_id="orders_loaded", datagroup="thelook::orders_datagroup")

    # [START howto_sensor_looker_delivery_by_name]
    wait_for_daily_sales = LookerDeliverySensor(
        task_id="wait_for_daily_sales",
        plan_name="Daily sales after the orders load",
        deferrable=True,
        poke_interval=60,
        timeout=datetime.timedelta(hours=1),
    )
    # [END howto_sensor_looker_delivery_by_name]

    loaded = load_orders()
    loaded >> deliver
    loaded >> orders_loaded >> wait_for_daily_sales


if __name__ == "__main__":
    dag.test()
