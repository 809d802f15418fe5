"""Apache Airflow provider that runs Looker scheduled plans once, when the data is ready."""

from __future__ import annotations

__version__ = "0.1.0"

PACKAGE_NAME = "airflow-provider-looker-trigger"


def get_provider_info() -> dict:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Looker Trigger",
        "description": "Run Looker scheduled plans once from Airflow, downstream of the tasks that load the data.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "looker",
                "hook-class-name": "airflow_provider_looker_trigger.hooks.looker.LookerHook",
            }
        ],
        "extra-links": ["airflow_provider_looker_trigger.links.looker.LookerContentLink"],
    }
