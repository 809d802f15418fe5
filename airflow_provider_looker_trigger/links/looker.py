"""Extra link from a Looker task to the content it delivered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey

# XCom key under which the operators store the Looker web address of the delivered content.
CONTENT_URL_XCOM_KEY = "looker_content_url"


class LookerContentLink(BaseOperatorLink):
    """Open the delivered dashboard, LookML dashboard or Look in Looker."""

    name = "Looker content"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(ti_key=ti_key, key=CONTENT_URL_XCOM_KEY) or ""
