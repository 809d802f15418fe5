"""Tests of the operator's parts that run without Looker: plan keys, literal detection, parse-time checks."""

from __future__ import annotations

import re

import pytest

from airflow_provider_looker_trigger.exceptions import LookerConfigurationError
from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator, _is_literal, plan_key
from airflow_provider_looker_trigger.plan import PlanOptions

EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}
RUN_ID = "scheduled__2024-05-15T06:00:00+00:00"


# ---------------------------------------------------------------------------------------------
# plan_key
# ---------------------------------------------------------------------------------------------


def test_plan_key_format():
    key = plan_key("sales", RUN_ID, "deliver", None)

    assert re.fullmatch(r"[0-9a-f]{12}", key)


def test_plan_key_stable():
    assert plan_key("sales", RUN_ID, "deliver", 3) == plan_key("sales", RUN_ID, "deliver", 3)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(("marketing", RUN_ID, "deliver", None), id="dag-id"),
        pytest.param(("sales", "manual__2024-05-15T07:00:00+00:00", "deliver", None), id="run-id"),
        pytest.param(("sales", RUN_ID, "deliver_pdf", None), id="task-id"),
        pytest.param(("sales", RUN_ID, "deliver", 0), id="map-index-0"),
        pytest.param(("sales", RUN_ID, "deliver", 1), id="map-index-1"),
    ],
)
def test_plan_key_differs(other):
    assert plan_key("sales", RUN_ID, "deliver", None) != plan_key(*other)


def test_plan_key_unmapped_is_minus_one():
    assert plan_key("sales", RUN_ID, "deliver", None) == plan_key("sales", RUN_ID, "deliver", -1)


def test_plan_key_no_concatenation_clash():
    assert plan_key("ab", "c", "d", None) != plan_key("a", "bc", "d", None)
    assert plan_key("a", "b", "cd", None) != plan_key("a", "bc", "d", None)


# ---------------------------------------------------------------------------------------------
# _is_literal
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, True, id="none"),
        pytest.param(73, True, id="int"),
        pytest.param(2.5, True, id="float"),
        pytest.param(True, True, id="bool"),
        pytest.param("73", True, id="string"),
        pytest.param("thelook::business_pulse", True, id="lookml-id"),
        pytest.param("{ not jinja }", True, id="single-brace"),
        pytest.param([EMAIL_PDF], True, id="destinations"),
        pytest.param(("a", 1), True, id="tuple"),
        pytest.param({"Date": "90 days"}, True, id="filters"),
        pytest.param("{{ params.dashboard_id }}", False, id="expression"),
        pytest.param("{% if true %}73{% endif %}", False, id="statement"),
        pytest.param({"Date": "{{ ds }}"}, False, id="templated-filter-value"),
        pytest.param({"{{ params.name }}": "x"}, False, id="templated-filter-name"),
        pytest.param([EMAIL_PDF, {**EMAIL_PDF, "address": "{{ var.value.to }}"}], False, id="templated-address"),
        pytest.param([["{{ x }}"]], False, id="nested-list"),
        pytest.param(object(), False, id="object"),
        pytest.param({"a", "b"}, False, id="set"),
    ],
)
def test_is_literal(value, expected):
    assert _is_literal(value) is expected


# ---------------------------------------------------------------------------------------------
# Checks in __init__
# ---------------------------------------------------------------------------------------------


def make_operator(**kwargs):
    arguments = {"task_id": "deliver", "dashboard_id": 73, "destinations": [EMAIL_PDF]}
    arguments.update(kwargs)
    return RunOncePlanOperator(**arguments)


def test_init_valid_literal():
    operator = make_operator(filters={"Date": "90 days"}, timezone="UTC", pdf_paper_size="a4")

    assert operator.dashboard_id == 73
    assert operator.looker_conn_id == "looker_default"
    assert operator.options == PlanOptions(timezone="UTC", pdf_paper_size="a4")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"look_id": 12}, "Two or more content sources", id="two-sources"),
        pytest.param({"dashboard_id": None}, "No content to deliver", id="no-source"),
        pytest.param({"destinations": None}, "Invalid destinations", id="no-destinations"),
        pytest.param({"destinations": [{**EMAIL_PDF, "format": "csv"}]}, "Format 'csv'", id="format-for-source"),
        pytest.param({"destinations": [{**EMAIL_PDF, "type": "slack"}]}, "unknown type 'slack'", id="destination-type"),
        pytest.param({"filters": {"Date": ""}}, "empty value", id="empty-filter"),
        pytest.param({"filters": {"Date": 90}}, "filter 'Date'", id="filter-not-string"),
        pytest.param({"timezone": "Mars/Base"}, "Unknown timezone", id="timezone"),
        pytest.param({"pdf_paper_size": "A4"}, "pdf_paper_size", id="paper-size"),
        pytest.param({"send_all_results": True}, "send_all_results", id="send-all-results-dashboard"),
        pytest.param({"require_results": True}, "only available for Looks", id="require-on-dashboard"),
    ],
)
def test_init_rejects_literal(kwargs, expected):
    with pytest.raises(LookerConfigurationError, match=re.escape(expected)):
        make_operator(**kwargs)


def test_init_allow_empty_filter_values():
    operator = make_operator(filters={"Brand": ""}, allow_empty_filter_values=True)

    assert operator.allow_empty_filter_values is True


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"dashboard_id": "{{ params.dashboard_id }}", "look_id": 12}, id="templated-id"),
        pytest.param({"destinations": "{{ var.json.recipients }}"}, id="templated-destinations"),
        pytest.param(
            {"filters": {"Date": "{{ ds }}"}, "destinations": [{**EMAIL_PDF, "format": "csv"}]},
            id="templated-filter",
        ),
        pytest.param({"name": "{{ dag.dag_id }}", "dashboard_id": None}, id="templated-name"),
    ],
)
def test_init_defers_when_templated(kwargs):
    operator = make_operator(**kwargs)

    assert operator.task_id == "deliver"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"pdf_paper_size": "A4"}, id="paper-size"),
        pytest.param({"timezone": "Mars/Base"}, id="timezone"),
    ],
)
def test_init_checks_options_when_templated(kwargs):
    with pytest.raises(LookerConfigurationError):
        make_operator(dashboard_id="{{ params.dashboard_id }}", **kwargs)
