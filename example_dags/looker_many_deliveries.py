"""Deliver the Business Pulse dashboard to one recipient per region, filtered to that region.

Two DAGs show the two ways to send many deliveries of the same dashboard after a load:

* ``looker_many_deliveries`` uses ``RunOncePlanBatchOperator``: one task, one Looker login, the
  requests paced below Looker's run_once rate limit, and per-region results in the XCom ``results``.
  A retry sends only the regions that were not sent yet.
* ``looker_many_deliveries_mapped`` maps ``RunOncePlanOperator`` over the regions: one task instance
  per region, each with its own login, retries and log, and the option to wait for each delivery.

Both start with ``load_orders``, which stands for the task that loads the orders into the warehouse.
Dashboard 73 and its "State / Region" filter exist in the Looker emulator's demo content; replace them
with your own. To run these DAGs against the emulator, start it with
``python -m airflow_provider_looker_trigger.testing --outbox /tmp/outbox --seed-demo-data`` and set
``AIRFLOW_CONN_LOOKER_DEFAULT`` to the value it prints.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_looker_trigger.operators.batch import RunOncePlanBatchOperator
from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator

# Region (the value of the dashboard's "State / Region" filter) -> the team that gets its report.
RECIPIENTS = {
    "California": "pulse-california@example.com",
    "New York": "pulse-new-york@example.com",
    "Texas": "pulse-texas@example.com",
    "Florida": "pulse-florida@example.com",
    "Washington": "pulse-washington@example.com",
    "Illinois": "pulse-illinois@example.com",
}

with DAG(
    dag_id="looker_many_deliveries",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["looker", "example"],
) as batch_dag:

    @task
    def load_orders() -> None:
        """Stand in for the task that loads the orders into the warehouse."""
        print("Loading orders.")

    # [START howto_operator_run_once_plan_batch]
    deliver_by_region = RunOncePlanBatchOperator(
        task_id="deliver_business_pulse_by_region",
        # Shared by every delivery: the dashboard, the date filter and the destination type and format.
        dashboard_id=73,
        filters={"Date": "30 days"},
        destination_defaults={"type": "email", "format": "wysiwyg_pdf"},
        # One delivery per region: its filter, its recipient and its plan name.
        deliveries=[
            {
                "name": f"Business Pulse, {region}",
                "filters": {"State / Region": region},
                "destinations": [{"address": address}],
            }
            for region, address in RECIPIENTS.items()
        ],
        max_concurrency=4,
        rate_limit=5,
    )
    # [END howto_operator_run_once_plan_batch]

    load_orders() >> deliver_by_region


with DAG(
    dag_id="looker_many_deliveries_mapped",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["looker", "example"],
) as mapped_dag:

    @task
    def load_region_orders() -> list[dict[str, str]]:
        """Stand in for the load; return the filters of the regions to deliver, one dict per region."""
        return [{"Date": "30 days", "State / Region": region} for region in RECIPIENTS]

    # [START howto_operator_run_once_plan_mapped]
    # One mapped task instance per region. The templates read the instance's own filters (task.filters)
    # to pick the region's recipient and plan name. Each plan name also gets a key with the map index.
    RunOncePlanOperator.partial(
        task_id="deliver_business_pulse_by_region",
        dashboard_id=73,
        destinations=[
            {
                "type": "email",
                "address": "{{ params.recipients[task.filters['State / Region']] }}",
                "format": "wysiwyg_pdf",
            }
        ],
        name="Business Pulse, {{ task.filters['State / Region'] }}",
        params={"recipients": RECIPIENTS},
    ).expand(filters=load_region_orders())
    # [END howto_operator_run_once_plan_mapped]


if __name__ == "__main__":
    batch_dag.test()
    mapped_dag.test()
