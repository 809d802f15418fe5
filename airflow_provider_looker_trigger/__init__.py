"""Apache Airflow provider that runs Looker scheduled plans once, when the data is ready."""

from __future__ import annotations

__version__ = "0.1.0"

PACKAGE_NAME = "airflow-provider-looker-trigger"
# Name under which the provider's operators, sensors and triggers are listed in its metadata.
INTEGRATION_NAME = "Looker"


def get_provider_info() -> dict:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    from airflow_provider_looker_trigger.hooks.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

    return {
        "package-name": PACKAGE_NAME,
        "name": "Looker Trigger",
        "description": "Run Looker scheduled plans once from Airflow, downstream of the tasks that load the data.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "looker",
                "hook-class-name": "airflow_provider_looker_trigger.hooks.looker.LookerHook",
                "hook-name": "Looker",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "integrations": [
            {
                "integration-name": INTEGRATION_NAME,
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION_NAME,
                "python-modules": ["airflow_provider_looker_trigger.operators.looker"],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION_NAME,
                "python-modules": ["airflow_provider_looker_trigger.sensors.looker"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION_NAME,
                "python-modules": ["airflow_provider_looker_trigger.triggers.looker"],
            }
        ],
        "extra-links": ["airflow_provider_looker_trigger.links.looker.LookerContentLink"],
    }
