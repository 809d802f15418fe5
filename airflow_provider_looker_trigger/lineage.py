"""OpenLineage lineage of a Looker delivery: the dashboard, Look or query delivered is the task's output.

The dataset namespace is ``looker://<host>[:<port>]`` from the Looker base URL (the port only when the
URL names one), and the name is the content's path in Looker: ``dashboards/73``,
``dashboards/thelook::business_pulse`` for a LookML dashboard, ``looks/12`` or ``queries/45``.

Nothing here imports OpenLineage at module level. When ``apache-airflow-providers-openlineage`` is not
installed the lineage functions return None, which Airflow treats as "no lineage".
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

NAMESPACE_SCHEME = "looker"
# Content kinds of plan.ContentSource, mapped to the first segment of the dataset name.
_NAME_PREFIXES = {
    "dashboard": "dashboards",
    "lookml_dashboard": "dashboards",
    "look": "looks",
    "query": "queries",
}


def content_namespace(base_url: str) -> str:
    """Return the OpenLineage namespace of a Looker instance, e.g. ``looker://mycompany.cloud.looker.com``."""
    parts = urlsplit(base_url if "://" in base_url else "https://" + base_url)
    if not parts.hostname:
        raise ValueError(f"Looker base URL {base_url!r} has no host name.")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{NAMESPACE_SCHEME}://{host}" + (f":{parts.port}" if parts.port else "")


def content_name(kind: str, content_id: str | int) -> str:
    """Return the OpenLineage dataset name of Looker content, e.g. ``dashboards/73``."""
    try:
        prefix = _NAME_PREFIXES[kind]
    except KeyError:
        raise ValueError(f"Unknown Looker content kind {kind!r}; expected one of {', '.join(_NAME_PREFIXES)}.") from None
    return f"{prefix}/{content_id}"


def content_lineage(base_url: str, kind: str, content_id: str | int) -> OperatorLineage | None:
    """Return lineage with the delivered content as the only output, or None without OpenLineage.

    :param base_url: the Looker base URL, as ``LookerHook.settings.base_url`` returns it.
    :param kind: ``dashboard``, ``lookml_dashboard``, ``look`` or ``query`` (``ContentSource.kind``).
    :param content_id: the content's id.
    """
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset
    except ImportError:
        return None

    dataset = Dataset(namespace=content_namespace(base_url), name=content_name(kind, content_id))
    return OperatorLineage(outputs=[dataset])


def content_lineage_from_url(content_url: str | None) -> OperatorLineage | None:
    """Return :func:`content_lineage` for a web address from ``LookerHook.content_url``, or None.

    Operators push that address to XCom, so lineage can be reported after a deferred task resumes on
    a new operator instance. An address of another form gives None.
    """
    parsed = parse_content_url(content_url)
    if parsed is None:
        return None
    return content_lineage(*parsed)


def parse_content_url(content_url: str | None) -> tuple[str, str, str] | None:
    """Split a ``LookerHook.content_url`` address into (base URL, kind, id), or return None."""
    if not content_url:
        return None
    parts = urlsplit(content_url)
    for marker, kind in (("/dashboards/", "dashboard"), ("/looks/", "look")):
        base, found, content_id = parts.path.rpartition(marker)
        if found and content_id:
            content_id = unquote(content_id)
            if kind == "dashboard" and "::" in content_id:
                kind = "lookml_dashboard"
            return f"{parts.scheme}://{parts.netloc}{base}", kind, content_id
    if parts.path.endswith("/explore"):
        query_ids = parse_qs(parts.query).get("qid")
        if query_ids:
            base = parts.path[: -len("/explore")]
            return f"{parts.scheme}://{parts.netloc}{base}", "query", query_ids[0]
    return None
