"""Tests of the run-once plan checks, the filters_string encoding and the body builder."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest

from airflow_provider_looker_trigger.exceptions import LookerConfigurationError
from airflow_provider_looker_trigger.plan import (
    ContentSource,
    Destination,
    PlanOptions,
    build_run_once_body,
    check_options,
    decode_filters,
    encode_filters,
    parse_destinations,
    resolve_destination_secrets,
    resolve_source,
)

EMAIL_PDF = {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"}
EMAIL_CSV = {"type": "email", "address": "team@example.com", "format": "csv"}
WEBHOOK_JSON = {"type": "webhook", "address": "https://hooks.example.com/looker", "format": "inline_json"}

DASHBOARD = ContentSource("dashboard", "73")
LOOKML_DASHBOARD = ContentSource("lookml_dashboard", "thelook::business_pulse")
LOOK = ContentSource("look", "12")
QUERY = ContentSource("query", "9001")


def destinations(*items: dict) -> list[Destination]:
    return parse_destinations(list(items))


# ---------------------------------------------------------------------------------------------
# resolve_source
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "kind", "content_id", "field"),
    [
        pytest.param({"dashboard_id": 73}, "dashboard", "73", "dashboard_id", id="dashboard-int"),
        pytest.param({"dashboard_id": "73"}, "dashboard", "73", "dashboard_id", id="dashboard-str"),
        pytest.param({"look_id": 12}, "look", "12", "look_id", id="look-int"),
        pytest.param({"look_id": "12"}, "look", "12", "look_id", id="look-str"),
        pytest.param({"query_id": 9001}, "query", "9001", "query_id", id="query-int"),
        pytest.param({"query_id": "aB3-x_9"}, "query", "aB3-x_9", "query_id", id="query-slug"),
        pytest.param(
            {"lookml_dashboard_id": "thelook::business_pulse"},
            "lookml_dashboard",
            "thelook::business_pulse",
            "lookml_dashboard_id",
            id="lookml-dashboard",
        ),
        pytest.param(
            {"dashboard_id": "thelook::business_pulse"},
            "lookml_dashboard",
            "thelook::business_pulse",
            "lookml_dashboard_id",
            id="dashboard-id-with-model",
        ),
        pytest.param(
            {"lookml_dashboard_id": "the_look::sales.v2-eu"},
            "lookml_dashboard",
            "the_look::sales.v2-eu",
            "lookml_dashboard_id",
            id="lookml-dashboard-dots-dashes",
        ),
    ],
)
def test_resolve_source_accepts(kwargs, kind, content_id, field):
    source = resolve_source(**kwargs)

    assert source.kind == kind
    assert source.id == content_id
    assert isinstance(source.id, str)
    assert source.field == field


def test_resolve_source_none_given():
    with pytest.raises(LookerConfigurationError, match="No content to deliver"):
        resolve_source()


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"dashboard_id": ""}, id="alone"),
        pytest.param({"dashboard_id": "", "look_id": 12}, id="next-to-another-source"),
        pytest.param({"dashboard_id": "   "}, id="only-spaces"),
    ],
)
def test_resolve_source_empty_value(kwargs):
    with pytest.raises(LookerConfigurationError, match="dashboard_id is set but empty"):
        resolve_source(**kwargs)


def test_resolve_source_two_sources():
    with pytest.raises(LookerConfigurationError) as info:
        resolve_source(dashboard_id=73, look_id="12")

    message = str(info.value)
    assert "dashboard_id=73" in message
    assert "look_id='12'" in message
    assert "exactly one" in message


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        pytest.param({"dashboard_id": True}, "True", id="bool-true"),
        pytest.param({"look_id": False}, "False", id="bool-false"),
        pytest.param({"query_id": 7.0}, "7.0", id="float"),
        pytest.param({"dashboard_id": [73]}, "[73]", id="list"),
        pytest.param({"dashboard_id": " 73"}, "' 73'", id="leading-space"),
        pytest.param({"look_id": "12\n"}, "'12\\n'", id="trailing-newline"),
        pytest.param({"dashboard_id": "73; drop"}, "'73; drop'", id="semicolon"),
        pytest.param({"look_id": "12/34"}, "'12/34'", id="slash"),
        pytest.param({"query_id": "a b"}, "'a b'", id="inner-space"),
        pytest.param({"look_id": "thelook::pulse"}, "'thelook::pulse'", id="look-with-model"),
        pytest.param({"lookml_dashboard_id": "business_pulse"}, "'business_pulse'", id="lookml-without-model"),
        pytest.param({"lookml_dashboard_id": "thelook::"}, "'thelook::'", id="lookml-empty-name"),
        pytest.param({"lookml_dashboard_id": "::pulse"}, "'::pulse'", id="lookml-empty-model"),
        pytest.param({"dashboard_id": "a::b::c"}, "'a::b::c'", id="lookml-two-separators"),
        pytest.param({"lookml_dashboard_id": 73}, "'73'", id="lookml-int"),
    ],
)
def test_resolve_source_rejects(kwargs, named):
    with pytest.raises(LookerConfigurationError) as info:
        resolve_source(**kwargs)

    assert named in str(info.value)


def test_content_source_describe():
    assert LOOKML_DASHBOARD.describe() == "lookml dashboard thelook::business_pulse"
    assert LOOK.is_dashboard is False
    assert LOOKML_DASHBOARD.is_dashboard is True


# ---------------------------------------------------------------------------------------------
# encode_filters and decode_filters
# ---------------------------------------------------------------------------------------------


def test_encode_filters_example():
    filters = {"Date": "90 days", "State / Region": "-Not State", "Brand": "Calvin Klein"}

    encoded = encode_filters(filters)

    assert encoded == "?Date=90%20days&State%20%2F%20Region=-Not%20State&Brand=Calvin%20Klein"


ROUND_TRIP_FILTERS = {
    "space": {"State / Region": "New York"},
    "ampersand": {"Category": "Outerwear & Coats"},
    "equals": {"a=b": "x=y"},
    "plus": {"Size": "XL+", "C++": "1+1"},
    "hash": {"Tag": "#1"},
    "percent": {"Brand": "%Klein%", "Rate": "100%"},
    "encoded-looking": {"Brand": "Levi%27s", "Space": "a%20b"},
    "slash": {"Date": "2024/05/01 to 2024/05/15"},
    "comma": {"State": "Texas,Ohio", "Name": "Smith^, John"},
    "single-quote": {"Brand": "Levi's"},
    "double-quote": {"Title": 'The "best" one'},
    "question-mark": {"Question": "why?", "?": "?"},
    "semicolon": {"List": "a;b"},
    "non-ascii-latin": {"City": "Zürich", "Café": "crème brûlée"},
    "non-ascii-cjk": {"City": "東京", "地域": "関東"},
    "emoji": {"Mood": "🙂 fine"},
    "negation": {"State / Region": "-Not State,-NULL"},
    "everything": {"A & B = C + D #1 % / , ' \" Zürich 東京": "x & y = z + w #2 % / , ' \" Zürich 東京"},
}


@pytest.mark.parametrize("filters", ROUND_TRIP_FILTERS.values(), ids=ROUND_TRIP_FILTERS.keys())
def test_encode_filters_round_trip(filters):
    encoded = encode_filters(filters)

    assert encoded.startswith("?")
    assert decode_filters(encoded) == filters
    assert dict(parse_qsl(encoded[1:], keep_blank_values=True, strict_parsing=True)) == filters


@pytest.mark.parametrize("filters", ROUND_TRIP_FILTERS.values(), ids=ROUND_TRIP_FILTERS.keys())
def test_encode_filters_only_unreserved(filters):
    body = encode_filters(filters)[1:]
    pairs = body.split("&")

    assert len(pairs) == len(filters)
    for pair in pairs:
        assert pair.count("=") == 1
        assert " " not in pair
        assert "+" not in pair
        assert "#" not in pair
        assert pair.isascii()


def test_encode_filters_keeps_order():
    encoded = encode_filters({"b": "2", "a": "1", "c": "3"})

    assert encoded == "?b=2&a=1&c=3"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("?Brand=Levi%27s", id="encoded"),
        pytest.param("Brand=Calvin+Klein&Date=90+days", id="plus-spaces-no-question-mark"),
    ],
)
def test_encode_filters_string_unchanged(raw):
    assert encode_filters(raw) == raw


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param("?Date=90 days", "white space", id="unencoded-space"),
        pytest.param("?Category=Tops&Tees", "'Tees' is not name=value", id="unencoded-ampersand"),
        pytest.param("?Brand=", "empty value", id="empty-value"),
        pytest.param("?Brand=None", "'None'", id="rendered-none"),
    ],
)
def test_encode_filters_string_rejected(raw, fragment):
    with pytest.raises(LookerConfigurationError) as info:
        encode_filters(raw)

    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "filters",
    [pytest.param(None, id="none"), pytest.param({}, id="empty-dict"), pytest.param("", id="empty-string")],
)
def test_encode_filters_nothing(filters):
    assert encode_filters(filters) is None


def test_decode_filters_nothing():
    assert decode_filters(None) == {}
    assert decode_filters("") == {}
    assert decode_filters("?") == {}


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        pytest.param({"Count": 5}, "5", id="int"),
        pytest.param({"Active": True}, "True", id="bool"),
        pytest.param({"Date": None}, "None", id="none"),
        pytest.param({"Ratio": 0.5}, "0.5", id="float"),
        pytest.param({"State": ["Texas", "Ohio"]}, "['Texas', 'Ohio']", id="list"),
        pytest.param({"State": ("Texas",)}, "('Texas',)", id="tuple"),
        pytest.param({"Range": {"from": 1}}, "{'from': 1}", id="dict"),
    ],
)
def test_encode_filters_non_string_value(filters, named):
    with pytest.raises(LookerConfigurationError) as info:
        encode_filters(filters)

    message = str(info.value)
    assert named in message
    assert repr(next(iter(filters))) in message


def test_encode_filters_list_hint():
    with pytest.raises(LookerConfigurationError, match="join them with commas"):
        encode_filters({"State": ["Texas", "Ohio"]})


@pytest.mark.parametrize(
    "value",
    [pytest.param("", id="empty"), pytest.param("   ", id="spaces"), pytest.param("\t", id="tab")],
)
def test_encode_filters_empty_value(value):
    with pytest.raises(LookerConfigurationError) as info:
        encode_filters({"Brand": value})

    message = str(info.value)
    assert "'Brand'" in message
    assert "allow_empty_filter_values" in message


def test_encode_filters_empty_value_allowed():
    encoded = encode_filters({"Brand": "", "Date": "7 days"}, allow_empty_values=True)

    assert encoded == "?Brand=&Date=7%20days"
    assert decode_filters(encoded) == {"Brand": "", "Date": "7 days"}


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        pytest.param({"": "x"}, "''", id="empty"),
        pytest.param({"  ": "x"}, "'  '", id="spaces"),
        pytest.param({" Brand": "x"}, "' Brand'", id="leading-space"),
        pytest.param({"Brand ": "x"}, "'Brand '", id="trailing-space"),
        pytest.param({5: "x"}, "5", id="int"),
        pytest.param({None: "x"}, "None", id="none"),
        pytest.param({("a", "b"): "x"}, "('a', 'b')", id="tuple"),
    ],
)
def test_encode_filters_bad_name(filters, named):
    with pytest.raises(LookerConfigurationError) as info:
        encode_filters(filters)

    message = str(info.value)
    assert "filter name" in message
    assert named in message


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param([("Brand", "x")], id="list-of-pairs"),
        pytest.param(5, id="int"),
        pytest.param(b"?Brand=x", id="bytes"),
    ],
)
def test_encode_filters_bad_container(filters):
    with pytest.raises(LookerConfigurationError, match="Invalid filters"):
        encode_filters(filters)


# ---------------------------------------------------------------------------------------------
# parse_destinations
# ---------------------------------------------------------------------------------------------


def test_destinations_email_single():
    (dest,) = parse_destinations([EMAIL_PDF])

    assert dest.type == "email"
    assert dest.kind == "email"
    assert dest.address == "team@example.com"
    assert dest.format == "wysiwyg_pdf"
    assert dest.parameters == {}
    assert dest.secret_parameters == {}


def test_destinations_single_dict():
    (dest,) = parse_destinations(EMAIL_PDF)

    assert dest.address == "team@example.com"


def test_destinations_email_list():
    result = parse_destinations(
        [
            {
                "type": "email",
                "address": ["a@example.com", "b.c+tag@sub.example.org"],
                "format": "wysiwyg_pdf",
                "message": "Fresh numbers",
                "apply_formatting": True,
            }
        ]
    )

    assert [dest.address for dest in result] == ["a@example.com", "b.c+tag@sub.example.org"]
    assert {dest.format for dest in result} == {"wysiwyg_pdf"}
    assert {dest.message for dest in result} == {"Fresh numbers"}
    assert {dest.apply_formatting for dest in result} == {True}


def test_destinations_webhook():
    (dest,) = parse_destinations([{**WEBHOOK_JSON, "apply_vis": False}])

    assert dest.kind == "webhook"
    assert dest.address == "https://hooks.example.com/looker"
    assert dest.apply_vis is False


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("s3://reports-bucket/looker/daily/", id="path"),
        pytest.param("s3://my.bucket-1", id="no-path"),
    ],
)
def test_destinations_s3(address):
    (dest,) = parse_destinations([{"type": "s3", "address": address, "format": "csv", "aws_conn_id": "aws_reports"}])

    assert dest.kind == "s3"
    assert dest.address == address
    assert dest.aws_conn_id == "aws_reports"


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("sftp://files.example.com/upload/", id="path"),
        pytest.param("sftp://files.example.com:2222/upload/", id="port"),
    ],
)
def test_destinations_sftp(address):
    (dest,) = parse_destinations([{"type": "sftp", "address": address, "format": "xlsx", "sftp_conn_id": "sftp_reports"}])

    assert dest.kind == "sftp"
    assert dest.sftp_conn_id == "sftp_reports"


@pytest.mark.parametrize(
    "address",
    [pytest.param(None, id="no-address"), pytest.param("", id="empty-address")],
)
def test_destinations_action_hub(address):
    item = {
        "type": "looker-integration://1::google_drive",
        "format": "csv",
        "parameters": {"folder": "Reports"},
    }
    if address is not None:
        item["address"] = address

    (dest,) = parse_destinations([item])

    assert dest.kind == "action_hub"
    assert dest.address == ""
    assert dest.parameters == {"folder": "Reports"}


@pytest.mark.parametrize(
    "parameters",
    [
        pytest.param({"region": "eu-west-1"}, id="dict"),
        pytest.param('{"region": "eu-west-1"}', id="json-string"),
    ],
)
def test_destinations_parameters(parameters):
    item = {"type": "s3", "address": "s3://reports-bucket/x/", "format": "csv", "parameters": parameters}

    (dest,) = parse_destinations([item])

    assert dest.parameters == {"region": "eu-west-1"}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([], id="empty-list"),
        pytest.param(None, id="none"),
        pytest.param("team@example.com", id="string"),
        pytest.param(5, id="int"),
    ],
)
def test_destinations_bad_container(value):
    with pytest.raises(LookerConfigurationError, match="Invalid destinations"):
        parse_destinations(value)


INVALID_DESTINATIONS = {
    "not-a-dict": ("team@example.com", "each destination is a dict"),
    "unknown-key": ({**EMAIL_PDF, "adress": "x@example.com"}, "unknown key(s) 'adress'"),
    "secret-parameters": ({**EMAIL_PDF, "secret_parameters": {"password": "x"}}, "has secret_parameters"),
    "missing-type": ({"address": "team@example.com", "format": "wysiwyg_pdf"}, "has no type"),
    "empty-type": ({**EMAIL_PDF, "type": ""}, "has no type"),
    "unknown-type": ({**EMAIL_PDF, "type": "slack"}, "unknown type 'slack'"),
    "action-hub-no-action": ({"type": "looker-integration://1", "format": "csv"}, "unknown type"),
    "missing-format": ({"type": "email", "address": "team@example.com"}, "unknown format None"),
    "unknown-format": ({**EMAIL_PDF, "format": "pdf"}, "unknown format 'pdf'"),
    "format-upper-case": ({**EMAIL_PDF, "format": "CSV"}, "unknown format 'CSV'"),
    "email-no-at": ({**EMAIL_PDF, "address": "team.example.com"}, "invalid email address 'team.example.com'"),
    "email-no-domain-dot": ({**EMAIL_PDF, "address": "team@localhost"}, "invalid email address 'team@localhost'"),
    "email-display-name": ({**EMAIL_PDF, "address": "Team <team@example.com>"}, "invalid email address"),
    "email-missing": ({"type": "email", "format": "wysiwyg_pdf"}, "give an address or a list"),
    "email-empty-list": ({**EMAIL_PDF, "address": []}, "give an address or a list"),
    "email-not-string": ({**EMAIL_PDF, "address": ["a@example.com", 5]}, "invalid email address 5"),
    "email-comma-joined": ({**EMAIL_PDF, "address": "a@example.com,b@example.com"}, "as a list"),
    "email-comma-space-joined": ({**EMAIL_PDF, "address": "a@example.com, b@example.com"}, "as a list"),
    "email-semicolon-joined": ({**EMAIL_PDF, "address": "a@example.com;b@example.com"}, "as a list"),
    "webhook-http": ({**WEBHOOK_JSON, "address": "http://hooks.example.com/looker"}, "plain http is rejected"),
    "webhook-missing-address": ({"type": "webhook", "format": "json"}, "invalid address None"),
    "webhook-space": ({**WEBHOOK_JSON, "address": "https://hooks.example.com/a b"}, "invalid address"),
    "s3-upper-case-bucket": ({"type": "s3", "address": "s3://Reports/x/", "format": "csv"}, "lower-case bucket"),
    "s3-short-bucket": ({"type": "s3", "address": "s3://ab/x/", "format": "csv"}, "invalid address 's3://ab/x/'"),
    "s3-https-address": ({"type": "s3", "address": "https://bucket.s3.amazonaws.com/", "format": "csv"}, "s3://bucket"),
    "s3-one-slash": ({"type": "s3", "address": "s3:/bucket/x", "format": "csv"}, "invalid address"),
    "s3-underscore-bucket": ({"type": "s3", "address": "s3://my_bucket/x/", "format": "csv"}, "invalid address"),
    "sftp-user-in-address": ({"type": "sftp", "address": "sftp://bob@files.example.com/x/", "format": "csv"}, "sftp://host/path/"),
    "sftp-ftp-scheme": ({"type": "sftp", "address": "ftp://files.example.com/x/", "format": "csv"}, "invalid address"),
    "sftp-no-host": ({"type": "sftp", "address": "sftp:///x/", "format": "csv"}, "invalid address"),
    "action-hub-address": (
        {"type": "looker-integration://1::slack_app", "address": "#reports", "format": "csv"},
        "leave address empty",
    ),
    "message-on-webhook": ({**WEBHOOK_JSON, "message": "hello"}, "only for email"),
    "message-on-action-hub": (
        {"type": "looker-integration://1::slack_app", "format": "csv", "message": "hello"},
        "only for email",
    ),
    "message-not-string": ({**EMAIL_PDF, "message": 5}, "message=5: use a string"),
    "apply-formatting-string": ({**EMAIL_PDF, "apply_formatting": "yes"}, "apply_formatting='yes'"),
    "apply-vis-int": ({**EMAIL_PDF, "apply_vis": 1}, "apply_vis=1"),
    "parameters-invalid-json": ({**WEBHOOK_JSON, "parameters": "{region: eu}"}, "not valid JSON"),
    "parameters-json-list": ({**WEBHOOK_JSON, "parameters": "[1, 2]"}, "give a dict"),
    "parameters-list": ({**WEBHOOK_JSON, "parameters": ["region"]}, "give a dict"),
    "parameters-int": ({**WEBHOOK_JSON, "parameters": 5}, "give a dict"),
    "parameters-password": (
        {"type": "sftp", "address": "sftp://files.example.com/x/", "format": "csv", "parameters": {"password": "x"}},
        "puts a secret in parameters",
    ),
    "parameters-secret-key-json": (
        {"type": "s3", "address": "s3://reports-bucket/x/", "format": "csv", "parameters": '{"secret_access_key": "x"}'},
        "puts a secret in parameters",
    ),
    "aws-conn-on-webhook": ({**WEBHOOK_JSON, "aws_conn_id": "aws"}, "sets aws_conn_id"),
    "sftp-conn-on-s3": (
        {"type": "s3", "address": "s3://reports-bucket/x/", "format": "csv", "sftp_conn_id": "sftp"},
        "sets sftp_conn_id",
    ),
    "aws-conn-on-action-hub": (
        {"type": "looker-integration://1::google_drive", "format": "csv", "aws_conn_id": "aws"},
        "sets aws_conn_id",
    ),
    "aws-conn-empty": (
        {"type": "s3", "address": "s3://reports-bucket/x/", "format": "csv", "aws_conn_id": "  "},
        "invalid aws_conn_id",
    ),
    "sftp-conn-int": (
        {"type": "sftp", "address": "sftp://files.example.com/x/", "format": "csv", "sftp_conn_id": 5},
        "invalid sftp_conn_id 5",
    ),
}


@pytest.mark.parametrize(("item", "expected"), INVALID_DESTINATIONS.values(), ids=INVALID_DESTINATIONS.keys())
def test_destinations_rejects(item, expected):
    with pytest.raises(LookerConfigurationError) as info:
        parse_destinations([EMAIL_PDF, item])

    message = str(info.value)
    assert expected in message
    assert "destinations[1]" in message


def test_destinations_secret_not_echoed():
    item = {**EMAIL_PDF, "secret_parameters": {"password": "hunter2-secret"}}

    with pytest.raises(LookerConfigurationError) as info:
        parse_destinations([item])

    assert "hunter2-secret" not in str(info.value)


@pytest.mark.parametrize("key", ["aws_conn_id", "sftp_conn_id"])
def test_destinations_email_rejects_conn_id(key):
    with pytest.raises(LookerConfigurationError, match=f"sets {key}"):
        parse_destinations([{**EMAIL_CSV, key: "reports"}])


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("sftp://files.example.com:ssh/x/", id="name-port"),
        pytest.param("sftp://files.example.com:/x/", id="empty-port"),
    ],
)
def test_destinations_sftp_bad_port(address):
    with pytest.raises(LookerConfigurationError, match="invalid address"):
        parse_destinations([{"type": "sftp", "address": address, "format": "csv"}])


# ---------------------------------------------------------------------------------------------
# check_options
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fmt"),
    [
        pytest.param(DASHBOARD, "wysiwyg_pdf", id="dashboard-wysiwyg-pdf"),
        pytest.param(DASHBOARD, "assembled_pdf", id="dashboard-assembled-pdf"),
        pytest.param(DASHBOARD, "wysiwyg_png", id="dashboard-png"),
        pytest.param(DASHBOARD, "csv_zip", id="dashboard-csv-zip"),
        pytest.param(LOOKML_DASHBOARD, "assembled_pdf", id="lookml-assembled-pdf"),
        pytest.param(LOOK, "csv", id="look-csv"),
        pytest.param(LOOK, "xlsx", id="look-xlsx"),
        pytest.param(LOOK, "html", id="look-html"),
        pytest.param(LOOK, "txt", id="look-txt"),
        pytest.param(QUERY, "json", id="query-json"),
        pytest.param(QUERY, "json_detail", id="query-json-detail"),
        pytest.param(QUERY, "inline_json", id="query-inline-json"),
    ],
)
def test_check_options_format_allowed(source, fmt):
    check_options(PlanOptions(), source, destinations({**EMAIL_PDF, "format": fmt}))


@pytest.mark.parametrize(
    ("source", "fmt"),
    [
        pytest.param(DASHBOARD, "csv", id="dashboard-csv"),
        pytest.param(DASHBOARD, "inline_json", id="dashboard-inline-json"),
        pytest.param(LOOKML_DASHBOARD, "xlsx", id="lookml-xlsx"),
        pytest.param(LOOK, "wysiwyg_pdf", id="look-pdf"),
        pytest.param(LOOK, "csv_zip", id="look-csv-zip"),
        pytest.param(QUERY, "wysiwyg_png", id="query-png"),
        pytest.param(QUERY, "assembled_pdf", id="query-assembled-pdf"),
    ],
)
def test_check_options_format_rejected(source, fmt):
    with pytest.raises(LookerConfigurationError) as info:
        check_options(PlanOptions(), source, destinations({**EMAIL_PDF, "format": fmt}))

    message = str(info.value)
    assert repr(fmt) in message
    assert source.describe() in message


@pytest.mark.parametrize("source", [DASHBOARD, LOOKML_DASHBOARD], ids=["dashboard", "lookml-dashboard"])
def test_check_options_send_all_results_dashboard(source):
    with pytest.raises(LookerConfigurationError, match="send_all_results=True is not available"):
        check_options(PlanOptions(send_all_results=True), source, destinations(EMAIL_PDF))


def test_check_options_send_all_results_false_dashboard():
    check_options(PlanOptions(send_all_results=False), DASHBOARD, destinations(EMAIL_PDF))


@pytest.mark.parametrize("source", [LOOK, QUERY], ids=["look", "query"])
def test_check_options_send_all_results_data(source):
    check_options(PlanOptions(send_all_results=True), source, destinations(EMAIL_CSV))


@pytest.mark.parametrize("option", ["require_results", "require_no_results", "require_change"])
@pytest.mark.parametrize("value", [True, False], ids=["true", "false"])
@pytest.mark.parametrize(
    ("source", "dest"),
    [
        pytest.param(DASHBOARD, EMAIL_PDF, id="dashboard"),
        pytest.param(LOOKML_DASHBOARD, EMAIL_PDF, id="lookml-dashboard"),
        pytest.param(QUERY, EMAIL_CSV, id="query"),
    ],
)
def test_check_options_require_not_look(option, value, source, dest):
    with pytest.raises(LookerConfigurationError) as info:
        check_options(PlanOptions(**{option: value}), source, destinations(dest))

    message = str(info.value)
    assert option in message
    assert "only available for Looks" in message


@pytest.mark.parametrize("option", ["require_results", "require_no_results", "require_change"])
def test_check_options_require_on_look(option):
    check_options(PlanOptions(**{option: True}), LOOK, destinations(EMAIL_CSV))


def test_check_options_require_both():
    options = PlanOptions(require_results=True, require_no_results=True)

    with pytest.raises(LookerConfigurationError, match="would never deliver"):
        check_options(options, LOOK, destinations(EMAIL_CSV))


def test_check_options_require_one_false():
    options = PlanOptions(require_results=True, require_no_results=False)

    check_options(options, LOOK, destinations(EMAIL_CSV))


def test_check_options_run_as_recipient_webhook():
    with pytest.raises(LookerConfigurationError) as info:
        check_options(PlanOptions(run_as_recipient=True), QUERY, destinations(EMAIL_CSV, WEBHOOK_JSON))

    message = str(info.value)
    assert "run_as_recipient=True works only with email" in message
    assert "webhook" in message


def test_check_options_run_as_recipient_email():
    check_options(PlanOptions(run_as_recipient=True), DASHBOARD, destinations(EMAIL_PDF))


def test_check_options_run_as_recipient_false_webhook():
    check_options(PlanOptions(run_as_recipient=False), QUERY, destinations(WEBHOOK_JSON))


@pytest.mark.parametrize("size", ["letter", "legal", "tabloid", "a0", "a4", "a5"])
def test_check_options_paper_size(size):
    check_options(PlanOptions(pdf_paper_size=size), DASHBOARD, destinations(EMAIL_PDF))


@pytest.mark.parametrize(
    "size",
    [
        pytest.param("A4", id="upper-case"),
        pytest.param("a6", id="a6"),
        pytest.param("", id="empty"),
        pytest.param("letter ", id="trailing-space"),
    ],
)
def test_check_options_bad_paper_size(size):
    with pytest.raises(LookerConfigurationError) as info:
        check_options(PlanOptions(pdf_paper_size=size), DASHBOARD, destinations(EMAIL_PDF))

    assert f"Invalid pdf_paper_size {size!r}" in str(info.value)


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Europe/Zurich", "Asia/Tokyo"])
def test_check_options_timezone(timezone):
    check_options(PlanOptions(timezone=timezone), DASHBOARD, destinations(EMAIL_PDF))


@pytest.mark.parametrize(
    "timezone",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("../../etc/passwd", id="path"),
        pytest.param("", id="empty"),
        pytest.param(5, id="int"),
    ],
)
def test_check_options_bad_timezone(timezone):
    with pytest.raises(LookerConfigurationError) as info:
        check_options(PlanOptions(timezone=timezone), DASHBOARD, destinations(EMAIL_PDF))

    message = str(info.value)
    assert "timezone" in message
    assert repr(timezone) in message


@pytest.mark.parametrize(
    "option",
    [
        "pdf_landscape",
        "long_tables",
        "send_all_results",
        "run_as_recipient",
        "include_links",
        "require_results",
        "require_no_results",
        "require_change",
    ],
)
@pytest.mark.parametrize("value", ["true", 1, 0], ids=["string", "one", "zero"])
def test_check_options_not_bool(option, value):
    with pytest.raises(LookerConfigurationError) as info:
        check_options(PlanOptions(**{option: value}), LOOK, destinations(EMAIL_CSV))

    assert f"Invalid {option}={value!r}" in str(info.value)


# ---------------------------------------------------------------------------------------------
# resolve_destination_secrets
# ---------------------------------------------------------------------------------------------


class FakeConnections:
    """Stand-in for the Airflow connection look-up that records which ids were read."""

    def __init__(self, **connections: SimpleNamespace) -> None:
        self.connections = connections
        self.requested: list[str] = []

    def __call__(self, conn_id: str) -> SimpleNamespace:
        self.requested.append(conn_id)
        return self.connections[conn_id]


def aws_connection(login="AKIAEXAMPLE", password="aws-secret-value", region="eu-west-1"):
    extra = {"region_name": region} if region else {}
    return SimpleNamespace(login=login, password=password, extra_dejson=extra)


def sftp_connection(login="looker", password="sftp-secret-value"):
    return SimpleNamespace(login=login, password=password, extra_dejson={})


S3_ITEM = {"type": "s3", "address": "s3://reports-bucket/looker/", "format": "csv", "aws_conn_id": "aws_reports"}
SFTP_ITEM = {"type": "sftp", "address": "sftp://files.example.com/upload/", "format": "csv", "sftp_conn_id": "sftp_reports"}


def test_secrets_s3():
    connections = FakeConnections(aws_reports=aws_connection())

    (dest,) = resolve_destination_secrets(destinations(S3_ITEM), connections)

    assert connections.requested == ["aws_reports"]
    assert dest.parameters == {"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1"}
    assert dest.secret_parameters == {"secret_access_key": "aws-secret-value"}


def test_secrets_s3_region_from_parameters():
    connections = FakeConnections(aws_reports=aws_connection(region="eu-west-1"))
    item = {**S3_ITEM, "parameters": {"region": "us-east-2"}}

    (dest,) = resolve_destination_secrets(destinations(item), connections)

    assert dest.parameters["region"] == "us-east-2"


def test_secrets_s3_extra_none():
    connections = FakeConnections(aws_reports=SimpleNamespace(login="AKIAEXAMPLE", password="x", extra_dejson=None))
    item = {**S3_ITEM, "parameters": {"region": "us-east-2"}}

    (dest,) = resolve_destination_secrets(destinations(item), connections)

    assert dest.parameters == {"access_key_id": "AKIAEXAMPLE", "region": "us-east-2"}


def test_secrets_s3_no_region():
    connections = FakeConnections(aws_reports=aws_connection(region=None))

    with pytest.raises(LookerConfigurationError, match="region"):
        resolve_destination_secrets(destinations(S3_ITEM), connections)


def test_secrets_s3_without_conn_id():
    item = {key: value for key, value in S3_ITEM.items() if key != "aws_conn_id"}

    with pytest.raises(LookerConfigurationError, match="needs aws_conn_id"):
        resolve_destination_secrets(destinations(item), FakeConnections())


def test_secrets_sftp():
    connections = FakeConnections(sftp_reports=sftp_connection())

    (dest,) = resolve_destination_secrets(destinations(SFTP_ITEM), connections)

    assert connections.requested == ["sftp_reports"]
    assert dest.parameters == {"username": "looker"}
    assert dest.secret_parameters == {"password": "sftp-secret-value"}


def test_secrets_sftp_without_conn_id():
    item = {key: value for key, value in SFTP_ITEM.items() if key != "sftp_conn_id"}

    with pytest.raises(LookerConfigurationError, match="needs sftp_conn_id"):
        resolve_destination_secrets(destinations(item), FakeConnections())


@pytest.mark.parametrize(
    ("item", "connection", "conn_id"),
    [
        pytest.param(S3_ITEM, aws_connection(login=None), "aws_reports", id="s3-no-login"),
        pytest.param(S3_ITEM, aws_connection(password=""), "aws_reports", id="s3-no-password"),
        pytest.param(SFTP_ITEM, sftp_connection(login=""), "sftp_reports", id="sftp-no-login"),
        pytest.param(SFTP_ITEM, sftp_connection(password=None), "sftp_reports", id="sftp-no-password"),
    ],
)
def test_secrets_missing_credentials(item, connection, conn_id):
    connections = FakeConnections(**{conn_id: connection})

    with pytest.raises(LookerConfigurationError) as info:
        resolve_destination_secrets(destinations(item), connections)

    message = str(info.value)
    assert repr(conn_id) in message
    assert "secret-value" not in message


def test_secrets_other_destinations_untouched():
    connections = FakeConnections()
    parsed = destinations(EMAIL_CSV, WEBHOOK_JSON)

    resolved = resolve_destination_secrets(parsed, connections)

    assert resolved == parsed
    assert connections.requested == []


def test_secrets_not_in_repr():
    connections = FakeConnections(aws_reports=aws_connection())

    (dest,) = resolve_destination_secrets(destinations(S3_ITEM), connections)

    assert "aws-secret-value" not in repr(dest)


# ---------------------------------------------------------------------------------------------
# build_run_once_body
# ---------------------------------------------------------------------------------------------


def build(source=DASHBOARD, dests=None, filters_string=None, options=None, name="Daily sales [airflow:0123456789ab]"):
    return build_run_once_body(
        name=name,
        source=source,
        destinations=dests if dests is not None else destinations(EMAIL_PDF),
        filters_string=filters_string,
        options=options or PlanOptions(),
    )


def test_body_minimal_dashboard():
    body = build()

    assert body == {
        "name": "Daily sales [airflow:0123456789ab]",
        "run_once": True,
        "dashboard_id": "73",
        "scheduled_plan_destination": [
            {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"},
        ],
    }


@pytest.mark.parametrize(
    ("source", "field"),
    [
        pytest.param(DASHBOARD, "dashboard_id", id="dashboard"),
        pytest.param(LOOKML_DASHBOARD, "lookml_dashboard_id", id="lookml-dashboard"),
        pytest.param(LOOK, "look_id", id="look"),
        pytest.param(QUERY, "query_id", id="query"),
    ],
)
def test_body_source_field(source, field):
    dest = EMAIL_PDF if source.is_dashboard else EMAIL_CSV

    body = build(source=source, dests=destinations(dest))

    assert body[field] == source.id
    other_fields = {"dashboard_id", "lookml_dashboard_id", "look_id", "query_id"} - {field}
    assert other_fields.isdisjoint(body)


def test_body_filters_string():
    body = build(filters_string="?Date=90%20days")

    assert body["filters_string"] == "?Date=90%20days"


def test_body_no_filters():
    body = build(filters_string=None)

    assert "filters_string" not in body


def test_body_options_omitted_when_none():
    body = build(options=PlanOptions(timezone="UTC", pdf_landscape=False))

    assert body["timezone"] == "UTC"
    assert body["pdf_landscape"] is False
    for option in ("pdf_paper_size", "long_tables", "send_all_results", "run_as_recipient", "include_links"):
        assert option not in body
    assert None not in body.values()


def test_body_all_options_dashboard():
    options = PlanOptions(
        timezone="Europe/Zurich",
        pdf_paper_size="a4",
        pdf_landscape=True,
        long_tables=True,
        send_all_results=False,
        run_as_recipient=True,
        include_links=True,
    )

    body = build(options=options)

    assert body["timezone"] == "Europe/Zurich"
    assert body["pdf_paper_size"] == "a4"
    assert body["pdf_landscape"] is True
    assert body["long_tables"] is True
    assert body["send_all_results"] is False
    assert body["run_as_recipient"] is True
    assert body["include_links"] is True


def test_body_look_require_defaults():
    body = build(source=LOOK, dests=destinations(EMAIL_CSV))

    assert body["require_results"] is False
    assert body["require_no_results"] is False
    assert body["require_change"] is False


def test_body_look_require_set():
    options = PlanOptions(require_results=True, require_change=True)

    body = build(source=LOOK, dests=destinations(EMAIL_CSV), options=options)

    assert body["require_results"] is True
    assert body["require_no_results"] is False
    assert body["require_change"] is True


@pytest.mark.parametrize("source", [DASHBOARD, LOOKML_DASHBOARD, QUERY], ids=["dashboard", "lookml-dashboard", "query"])
def test_body_no_require_for_others(source):
    dest = EMAIL_PDF if source.is_dashboard else EMAIL_CSV

    body = build(source=source, dests=destinations(dest))

    for option in ("require_results", "require_no_results", "require_change"):
        assert option not in body


def test_body_parameters_json_strings():
    connections = FakeConnections(aws_reports=aws_connection())
    dests = resolve_destination_secrets(destinations(S3_ITEM), connections)

    body = build(source=QUERY, dests=dests)
    (wire,) = body["scheduled_plan_destination"]

    assert isinstance(wire["parameters"], str)
    assert isinstance(wire["secret_parameters"], str)
    assert json.loads(wire["parameters"]) == {"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1"}
    assert json.loads(wire["secret_parameters"]) == {"secret_access_key": "aws-secret-value"}


def test_body_destination_optional_fields():
    item = {**EMAIL_CSV, "apply_formatting": False, "apply_vis": True, "message": "Numbers attached"}

    body = build(source=LOOK, dests=destinations(item))
    (wire,) = body["scheduled_plan_destination"]

    assert wire == {
        "type": "email",
        "address": "team@example.com",
        "format": "csv",
        "apply_formatting": False,
        "apply_vis": True,
        "message": "Numbers attached",
    }


def test_body_email_list_one_entry_each():
    item = {**EMAIL_PDF, "address": ["a@example.com", "b@example.com"]}

    body = build(dests=destinations(item))

    addresses = [dest["address"] for dest in body["scheduled_plan_destination"]]
    assert addresses == ["a@example.com", "b@example.com"]


def test_body_action_hub_empty_address():
    item = {"type": "looker-integration://1::slack_app", "format": "wysiwyg_png", "parameters": '{"channel": "#sales"}'}

    body = build(dests=destinations(item))
    (wire,) = body["scheduled_plan_destination"]

    assert wire["address"] == ""
    assert json.loads(wire["parameters"]) == {"channel": "#sales"}


def test_body_json_serialisable():
    connections = FakeConnections(sftp_reports=sftp_connection())
    dests = resolve_destination_secrets(destinations(SFTP_ITEM, EMAIL_CSV), connections)
    options = PlanOptions(timezone="Asia/Tokyo", send_all_results=True, require_no_results=True)

    body = build(source=LOOK, dests=dests, filters_string="?City=%E6%9D%B1%E4%BA%AC", options=options)

    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize(
    "name",
    [pytest.param("", id="empty"), pytest.param("   ", id="spaces"), pytest.param(None, id="none"), pytest.param(5, id="int")],
)
def test_body_bad_name(name):
    with pytest.raises(LookerConfigurationError, match="Invalid plan name"):
        build(name=name)


def test_body_checks_options():
    with pytest.raises(LookerConfigurationError, match="only available for Looks"):
        build(options=PlanOptions(require_results=False))
