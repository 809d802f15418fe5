"""Deliver Looker's "Business Pulse" dashboard as soon as the nightly load has finished.

The ``load_orders`` task stands for your ETL: it writes the day's orders into a SQLite warehouse. When
it succeeds, ``deliver_business_pulse`` makes Looker render dashboard 73 with three filters and email
it as a PDF. The warehouse path comes from the ``LOOKER_DEMO_WAREHOUSE`` environment variable; the
Looker connection is ``looker_default``.

Run it against the bundled Looker emulator with ``./scripts/demo.sh``.
"""

from __future__ import annotations

import os

import pendulum

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

WAREHOUSE = os.environ.get("LOOKER_DEMO_WAREHOUSE", "/tmp/looker_demo_warehouse.sqlite")

with DAG(
    dag_id="looker_after_load",
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

    # [START howto_operator_run_once_plan]
    deliver = RunOncePlanOperator(
        task_id="deliver_business_pulse",
        dashboard_id=73,
        filters={
            "Date": "90 days",
            "State / Region": "-Not State",
            "Brand": "Calvin Klein",
        },
        destinations=[
            {
                "type": "email",
                "address": "business-pulse@example.com",
                "format": "wysiwyg_pdf",
                "message": "Business Pulse, refreshed after the nightly load.",
            }
        ],
        name="Business Pulse",
        pdf_paper_size="letter",
        looker_conn_id="looker_default",
    )
    # [END howto_operator_run_once_plan]

    load_orders() >> deliver


if __name__ == "__main__":
    import airflow

    if airflow.__version__.startswith("3.0."):
        # Airflow 3.0's dag.test() leaves structlog unconfigured, so structlog prints every debug message
        # of the in-process supervisor, including the values that tasks register with the secrets masker.
        # Airflow 3.3 configures structlog at [logging] logging_level itself.
        import logging

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    dag.test()
