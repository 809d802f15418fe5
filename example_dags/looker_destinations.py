"""Deliver Looker content to every kind of destination, from every kind of source, after a daily load.

Each delivery task below is a recipe of its own, marked with ``# [START name]`` and ``# [END name]``.
All of them run after ``load_orders``, which stands for the task that loads a day of data, and most
filter the report to exactly the day that was loaded (``LOADED_DAY``).

Connections used:

* ``looker_default``: Host is the Looker URL, Login the API client id, Password the API client secret.
* ``aws_looker_reports`` (S3 delivery): Login is the AWS access key id, Password the secret access
  key, and the extra ``{"region_name": "eu-west-1"}`` sets the bucket's region.
* ``sftp_reports`` (SFTP delivery): Login and Password of the SFTP account.

The content ids (dashboard 73, LookML dashboard ``thelook::business_pulse``, Look 42, query 1001,
scheduled plan 501, datagroup ``thelook::orders_datagroup``) are those of the Looker emulator's demo
content. Replace them with your own. To run this DAG against the emulator, start it with
``python -m airflow_provider_looker_trigger.testing --outbox /tmp/outbox --seed-demo-data`` and set
``AIRFLOW_CONN_LOOKER_DEFAULT`` to the value it prints.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator, TriggerDatagroupOperator
from airflow_provider_looker_trigger.plan import filter_literal

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Task SDK releases that do not export timetables
    from airflow.timetables.interval import CronDataIntervalTimetable

# Looker's "A to B" date filter includes A and excludes B, so this is exactly the run's data interval:
# the day before the run, with the timetable below.
LOADED_DAY = "{{ data_interval_start | ds }} to {{ data_interval_end | ds }}"

with DAG(
    dag_id="looker_destinations",
    # Each run covers the previous day. By default Airflow 3 turns a plain "@daily" into a
    # CronTriggerTimetable, whose runs have a data interval of one instant, so LOADED_DAY would be empty.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["looker", "example"],
) as dag:

    @task
    def load_orders(data_interval_start=None, data_interval_end=None) -> None:
        """Stand in for the task that loads the orders of the data interval into the warehouse."""
        print(f"Loading orders from {data_interval_start} to {data_interval_end}.")

    loaded = load_orders()

    # [START howto_deliver_dashboard_email_list]
    # A dashboard as a PDF to several people: each address becomes its own destination in Looker.
    email_dashboard = RunOncePlanOperator(
        task_id="email_business_pulse",
        dashboard_id=73,
        filters={"Date": LOADED_DAY, "State / Region": "-Not State"},
        destinations=[
            {
                "type": "email",
                "address": ["sales-leads@example.com", "finance@example.com"],
                "format": "wysiwyg_pdf",
                "message": "Business Pulse for the day that was just loaded.",
            }
        ],
        name="Business Pulse, daily",
        pdf_paper_size="a4",
    )
    # [END howto_deliver_dashboard_email_list]

    # [START howto_filter_literal]
    # Looker reads a comma as "or", so this value would match "Washington" or "D.C.". filter_literal
    # escapes the comma so that Looker matches the whole text.
    email_one_region = RunOncePlanOperator(
        task_id="email_one_region",
        dashboard_id=73,
        filters={"Date": LOADED_DAY, "State / Region": filter_literal("Washington, D.C.")},
        destinations=[{"type": "email", "address": "dc-office@example.com", "format": "wysiwyg_pdf"}],
        name="Business Pulse, Washington D.C.",
    )
    # [END howto_filter_literal]

    # [START howto_deliver_look_webhook]
    # A Look as JSON to a webhook, only when it has rows: Looker skips the delivery otherwise.
    # Webhook addresses must be https:// URLs.
    look_to_webhook = RunOncePlanOperator(
        task_id="post_daily_sales",
        look_id=42,
        destinations=[{"type": "webhook", "address": "https://hooks.example.com/looker/daily-sales", "format": "json"}],
        require_results=True,
    )
    # [END howto_deliver_look_webhook]

    # [START howto_deliver_query_s3]
    # A saved query as CSV to S3. The AWS key comes from the connection named by aws_conn_id, never
    # from DAG code, and is sent to Looker as a secret parameter.
    query_to_s3 = RunOncePlanOperator(
        task_id="export_orders_to_s3",
        query_id=1001,
        destinations=[
            {
                "type": "s3",
                "address": "s3://acme-looker-exports/orders/",
                "format": "csv",
                "aws_conn_id": "aws_looker_reports",
            }
        ],
        send_all_results=True,
    )
    # [END howto_deliver_query_s3]

    # [START howto_deliver_lookml_dashboard_sftp]
    # A LookML dashboard (id "model::name") as one CSV per tile in a zip, to an SFTP server whose
    # login and password come from the connection named by sftp_conn_id.
    lookml_dashboard_to_sftp = RunOncePlanOperator(
        task_id="upload_business_pulse_sftp",
        dashboard_id="thelook::business_pulse",
        filters={"Date": LOADED_DAY},
        destinations=[
            {
                "type": "sftp",
                "address": "sftp://sftp.example.com/incoming/looker/",
                "format": "csv_zip",
                "sftp_conn_id": "sftp_reports",
            }
        ],
    )
    # [END howto_deliver_lookml_dashboard_sftp]

    # [START howto_deliver_action_hub]
    # A dashboard image through an Action Hub integration. The type names the hub's id and the action,
    # as GET /integrations lists them, and parameters are the fields of the action's form.
    dashboard_to_action_hub = RunOncePlanOperator(
        task_id="share_business_pulse_slack",
        dashboard_id=73,
        filters={"Date": LOADED_DAY},
        destinations=[
            {
                "type": "looker-integration://1::slack_app",
                "format": "wysiwyg_png",
                "parameters": {"channel": "#daily-business-pulse"},
            }
        ],
    )
    # [END howto_deliver_action_hub]

    # [START howto_run_existing_plan]
    # A copy of a plan built in Looker (scheduled plan 501), with the filters and recipients given
    # here replacing the plan's own. The plan itself stays unchanged.
    existing_plan = RunOncePlanOperator(
        task_id="run_plan_501_for_the_day",
        scheduled_plan_id=501,
        filters={"Date": LOADED_DAY, "Brand": "Carhartt"},
        destinations=[{"type": "email", "address": "carhartt-team@example.com", "format": "wysiwyg_pdf"}],
    )
    # [END howto_run_existing_plan]

    # [START howto_trigger_datagroup]
    # Every schedule built in Looker on this datagroup delivers on Looker's next regenerator cycle.
    trigger_datagroup = TriggerDatagroupOperator(
        task_id="trigger_orders_datagroup",
        datagroup="thelook::orders_datagroup",
    )
    # [END howto_trigger_datagroup]

    loaded >> [
        email_dashboard,
        email_one_region,
        look_to_webhook,
        query_to_s3,
        lookml_dashboard_to_sftp,
        dashboard_to_action_hub,
        existing_plan,
        trigger_datagroup,
    ]


if __name__ == "__main__":
    dag.test()
