"""Tests of the OpenLineage lineage of Looker deliveries.

With apache-airflow-providers-openlineage installed the lineage objects are checked; without it the
lineage functions must return None and import nothing from OpenLineage.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.lineage import (
    content_lineage,
    content_lineage_from_url,
    content_name,
    content_namespace,
    parse_content_url,
)

OPENLINEAGE_INSTALLED = importlib.util.find_spec("airflow.providers.openlineage") is not None
needs_openlineage = pytest.mark.skipif(not OPENLINEAGE_INSTALLED, reason="apache-airflow-providers-openlineage is not installed")
without_openlineage = pytest.mark.skipif(OPENLINEAGE_INSTALLED, reason="apache-airflow-providers-openlineage is installed")


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        pytest.param("https://mycompany.cloud.looker.com", "looker://mycompany.cloud.looker.com", id="cloud"),
        pytest.param("https://looker.example.com:19999", "looker://looker.example.com:19999", id="port"),
        pytest.param("http://127.0.0.1:8080", "looker://127.0.0.1:8080", id="local"),
        pytest.param("https://looker.example.com/looker", "looker://looker.example.com", id="path-prefix"),
        pytest.param("http://[::1]:8443", "looker://[::1]:8443", id="ipv6"),
        pytest.param("looker.example.com", "looker://looker.example.com", id="no-scheme"),
    ],
)
def test_namespace_from_base_url(base_url, expected):
    assert content_namespace(base_url) == expected


@pytest.mark.parametrize(
    ("kind", "content_id", "expected"),
    [
        pytest.param("dashboard", 73, "dashboards/73", id="dashboard"),
        pytest.param("lookml_dashboard", "thelook::business_pulse", "dashboards/thelook::business_pulse", id="lookml"),
        pytest.param("look", "12", "looks/12", id="look"),
        pytest.param("query", "45", "queries/45", id="query"),
    ],
)
def test_name_of_content(kind, content_id, expected):
    assert content_name(kind, content_id) == expected


def test_name_unknown_kind():
    with pytest.raises(ValueError, match="Unknown Looker content kind 'board'"):
        content_name("board", "1")


@pytest.mark.parametrize(
    ("kind", "content_id"),
    [
        pytest.param("dashboard", "73", id="dashboard"),
        pytest.param("lookml_dashboard", "thelook::business_pulse", id="lookml"),
        pytest.param("look", "12", id="look"),
        pytest.param("query", "45", id="query"),
        pytest.param("look", "a/b c", id="encoded-id"),
    ],
)
def test_content_url_round_trip(monkeypatch, kind, content_id):
    conn = {"conn_type": "looker", "host": "https://looker.example.com:19999", "login": "id", "password": "secret"}
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_LINEAGE", json.dumps(conn))
    url = LookerHook("looker_lineage").content_url(kind, content_id)

    assert parse_content_url(url) == ("https://looker.example.com:19999", kind, content_id)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("https://looker.example.com/browse", id="other-page"),
        pytest.param("https://looker.example.com/explore?fields=a", id="explore-without-qid"),
    ],
)
def test_content_url_unrecognised(url):
    assert parse_content_url(url) is None
    assert content_lineage_from_url(url) is None


@needs_openlineage
def test_lineage_output_dataset():
    lineage = content_lineage("https://mycompany.cloud.looker.com", "dashboard", "73")

    assert lineage is not None
    assert lineage.inputs == []
    assert len(lineage.outputs) == 1
    assert lineage.outputs[0].namespace == "looker://mycompany.cloud.looker.com"
    assert lineage.outputs[0].name == "dashboards/73"


@needs_openlineage
def test_lineage_from_content_url():
    lineage = content_lineage_from_url("https://looker.example.com/explore?qid=45")

    assert lineage is not None
    assert lineage.outputs[0].namespace == "looker://looker.example.com"
    assert lineage.outputs[0].name == "queries/45"


@without_openlineage
def test_lineage_without_openlineage():
    assert content_lineage("https://mycompany.cloud.looker.com", "dashboard", "73") is None
    assert content_lineage_from_url("https://mycompany.cloud.looker.com/dashboards/73") is None


def test_lineage_module_imports_cheaply():
    code = (
        "import sys, airflow_provider_looker_trigger.lineage; "
        "print(sorted(name for name in sys.modules if name.startswith(('openlineage', 'airflow.providers.openlineage'))))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
