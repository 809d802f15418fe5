"""Looker emulator: POST /scheduled_plans/run_once and run_once by id, over real HTTP."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import zipfile

import pytest
import requests

from airflow_provider_looker_trigger.testing import LookerEmulator
from airflow_provider_looker_trigger.testing.rendering import extract_pdf_text


def login(emulator: LookerEmulator) -> requests.Session:
    session = requests.Session()
    answer = session.post(
        f"{emulator.api_url}/login",
        data={"client_id": emulator.client_id, "client_secret": emulator.client_secret},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    session.headers["Authorization"] = f"token {answer.json()['access_token']}"
    return session


@pytest.fixture
def session(looker_emulator) -> requests.Session:
    return login(looker_emulator)


def run_once(emulator: LookerEmulator, session: requests.Session, body: dict) -> requests.Response:
    return session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=body, timeout=10)


def email_plan(**overrides) -> dict:
    plan = {
        "name": "Business Pulse after load",
        "dashboard_id": "73",
        "scheduled_plan_destination": [
            {"type": "email", "address": "team@example.com", "format": "wysiwyg_pdf"},
        ],
    }
    plan.update(overrides)
    return plan


def look_plan(destination: dict, **overrides) -> dict:
    plan = {"name": "Daily sales", "look_id": "42", "scheduled_plan_destination": [destination]}
    plan.update(overrides)
    return plan


def error_fields(answer: requests.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["message"] == "Validation Failed"
    return [error["field"] for error in body["errors"]]


# ---- happy path -------------------------------------------------------------------------------------


def test_run_once_answers_scheduled_plan(looker_emulator, session):
    answer = run_once(looker_emulator, session, email_plan())

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert isinstance(plan["id"], str)
    assert plan["run_once"] is True
    assert plan["dashboard_id"] == "73"
    assert plan["title"] == "Business Pulse"
    assert plan["created_at"].endswith("+00:00")
    assert plan["next_run_at"] is None
    destination = plan["scheduled_plan_destination"][0]
    assert destination["id"]
    assert destination["scheduled_plan_id"] == plan["id"]
    assert destination["address"] == "team@example.com"


def test_run_once_decodes_filters(looker_emulator, session):
    filters_string = "?Brand=Levi%27s&State%20%2F%20Region=California%2CTexas&Category="

    answer = run_once(looker_emulator, session, email_plan(filters_string=filters_string))

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.plan_id == answer.json()["id"]
    assert delivery.source == "dashboard"
    assert delivery.content_id == "73"
    assert delivery.filters == {"Brand": "Levi's", "State / Region": "California,Texas", "Category": ""}
    assert delivery.ignored_filters == []
    assert delivery.status == "success"
    assert delivery.rows, "the demo warehouse has Levi's orders in California or Texas"
    assert {row["products.brand"] for row in delivery.rows} == {"Levi's"}
    assert {row["users.state"] for row in delivery.rows} <= {"California", "Texas"}


def test_run_once_writes_pdf_with_rows(looker_emulator, session):
    run_once(looker_emulator, session, email_plan(filters_string="?Brand=Carhartt&Date=7%20days"))

    delivery = looker_emulator.deliveries[0]
    [attachment] = delivery.files
    assert attachment.suffix == ".pdf"
    assert attachment.is_file()
    assert attachment.parent.parent.parent == looker_emulator.outbox.root
    lines = extract_pdf_text(attachment.read_bytes())
    assert "stand-in" in lines[0].lower()
    assert sum("Carhartt" in line for line in lines) == len(delivery.rows)
    assert len(delivery.rows) > 0


def test_run_once_manifest_describes_email(looker_emulator, session):
    run_once(looker_emulator, session, email_plan())

    delivery = looker_emulator.deliveries[0]
    manifest = json.loads(delivery.manifest.read_text())
    assert manifest["request"]["kind"] == "email"
    assert manifest["request"]["to"] == "team@example.com"
    assert manifest["request"]["subject"] == "Business Pulse after load"
    assert manifest["attachment"]["mimetype"] == "application/pdf"
    assert manifest["attachment"]["file"] == delivery.files[0].name


def test_run_once_look_csv_to_webhook(looker_emulator, session):
    destination = {"type": "webhook", "address": "https://hooks.example.com/in", "format": "csv"}

    answer = run_once(looker_emulator, session, look_plan(destination, filters_string="?products.brand=O%27Neill"))

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.source == "look"
    assert delivery.filters == {"products.brand": "O'Neill"}
    rows = list(csv.reader(io.StringIO(delivery.files[0].read_text())))
    assert len(rows) - 1 == len(delivery.rows) > 0
    assert all("O'Neill" in row for row in rows[1:])
    manifest = json.loads(delivery.manifest.read_text())
    assert manifest["request"]["kind"] == "webhook"
    assert manifest["request"]["url"] == "https://hooks.example.com/in"


def test_run_once_look_filter_in_url_form(looker_emulator, session):
    destination = {"type": "email", "address": "a@example.com", "format": "json"}

    run_once(looker_emulator, session, look_plan(destination, filters_string="?f%5Bproducts.brand%5D=Carhartt"))

    delivery = looker_emulator.deliveries[0]
    payload = json.loads(delivery.files[0].read_text())
    assert payload["data"]
    assert {row["products.brand"] for row in payload["data"]} == {"Carhartt"}


def test_run_once_query_id(looker_emulator, session):
    body = {
        "query_id": "1003",
        "scheduled_plan_destination": [{"type": "email", "address": "a@example.com", "format": "json"}],
    }

    answer = run_once(looker_emulator, session, body)

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.source == "query"
    brands = [row["products.brand"] for row in delivery.rows]
    assert len(brands) == len(set(brands))
    totals = [row["order_items.total_sale_price"] for row in delivery.rows]
    assert totals == sorted(totals, reverse=True)


def test_run_once_lookml_dashboard(looker_emulator, session):
    body = email_plan(
        dashboard_id=None, lookml_dashboard_id="thelook::business_pulse", filters_string="?Brand=Carhartt"
    )

    answer = run_once(looker_emulator, session, body)

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.source == "lookml_dashboard"
    assert delivery.content_id == "thelook::business_pulse"
    assert {row["products.brand"] for row in delivery.rows} == {"Carhartt"}


def test_run_once_csv_zip_has_each_tile(looker_emulator, session):
    plan = email_plan()
    plan["scheduled_plan_destination"][0]["format"] = "csv_zip"

    run_once(looker_emulator, session, plan)

    delivery = looker_emulator.deliveries[0]
    with zipfile.ZipFile(delivery.files[0]) as archive:
        assert sorted(archive.namelist()) == ["Orders.csv", "Sales_by_brand.csv"]
    assert set(delivery.tiles) == {"Orders", "Sales by brand"}


def test_run_once_one_delivery_per_destination(looker_emulator, session):
    destinations = [
        {"type": "email", "address": "a@example.com", "format": "csv"},
        {
            "type": "s3",
            "address": "s3://reports-bucket/daily/",
            "format": "xlsx",
            "parameters": json.dumps({"access_key_id": "AKIAEXAMPLE", "region": "eu-west-1"}),
            "secret_parameters": json.dumps({"secret_access_key": "top-secret"}),
        },
        {
            "type": "sftp",
            "address": "sftp://files.example.com/drop",
            "format": "txt",
            "parameters": json.dumps({"username": "looker"}),
            "secret_parameters": json.dumps({"password": "hunter2"}),
        },
        {
            "type": "looker-integration://1::google_drive",
            "address": "",
            "format": "csv",
            "parameters": json.dumps({"filename": "sales.csv"}),
        },
    ]

    answer = run_once(looker_emulator, session, look_plan(destinations[0], scheduled_plan_destination=destinations))

    assert answer.status_code == 200, answer.text
    assert "secret_parameters" not in answer.json()["scheduled_plan_destination"][1]
    deliveries = looker_emulator.deliveries
    assert [delivery.destination["type"] for delivery in deliveries] == [item["type"] for item in destinations]
    assert [delivery.files[0].suffix for delivery in deliveries] == [".csv", ".xlsx", ".txt", ".csv"]
    manifests = [json.loads(delivery.manifest.read_text())["request"] for delivery in deliveries]
    assert manifests[1]["bucket"] == "reports-bucket"
    assert manifests[1]["key"] == "daily/" + deliveries[1].files[0].name
    assert manifests[1]["secret_parameters"] == {"secret_access_key": "***"}
    assert manifests[2]["host"] == "files.example.com"
    assert manifests[3]["integration_id"] == "1::google_drive"
    outbox_text = "".join(path.read_text() for path in looker_emulator.outbox.root.rglob("*.json"))
    outbox_text += (looker_emulator.outbox.root / "deliveries.jsonl").read_text()
    outbox_text += (looker_emulator.outbox.root / "calls.jsonl").read_text()
    assert "top-secret" not in outbox_text
    assert "hunter2" not in outbox_text


def test_run_once_ignores_unknown_filter_names(looker_emulator, session):
    answer = run_once(looker_emulator, session, email_plan(filters_string="?Brand=Carhartt&Region=West&brand=Levi%27s"))

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.ignored_filters == ["Region", "brand"]
    assert delivery.filters == {"Brand": "Carhartt"}
    assert {row["products.brand"] for row in delivery.rows} == {"Carhartt"}


def test_run_once_plus_decodes_to_space(looker_emulator, session):
    answer = run_once(looker_emulator, session, email_plan(filters_string="?Brand=Calvin+Klein"))

    assert answer.status_code == 200, answer.text
    assert looker_emulator.deliveries[0].filters == {"Brand": "Calvin Klein"}
    assert {row["products.brand"] for row in looker_emulator.deliveries[0].rows} == {"Calvin Klein"}


def test_run_once_require_results_skips(looker_emulator, session):
    destination = {"type": "email", "address": "a@example.com", "format": "csv"}
    body = look_plan(destination, filters_string="?products.brand=NoSuchBrand", require_results=True)

    answer = run_once(looker_emulator, session, body)

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.status == "skipped"
    assert delivery.files == []
    assert "require_results" in delivery.status_detail


def test_run_once_deliveries_log(looker_emulator, session):
    run_once(looker_emulator, session, email_plan())

    records = [json.loads(line) for line in (looker_emulator.outbox.root / "deliveries.jsonl").read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["status"] == "success"
    assert records[0]["files"] == [str(looker_emulator.deliveries[0].files[0])]
    answer = requests.get(f"{looker_emulator.url}/__emulator__/deliveries", timeout=10)
    assert answer.json()[0]["plan_id"] == looker_emulator.deliveries[0].plan_id


# ---- request validation -----------------------------------------------------------------------------


def test_form_body_is_400(looker_emulator, session):
    answer = session.post(
        f"{looker_emulator.api_url}/scheduled_plans/run_once", data={"dashboard_id": "73"}, timeout=10
    )

    assert answer.status_code == 400
    assert "JSON" in answer.json()["message"]


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]"])
def test_missing_or_invalid_json_is_400(looker_emulator, session, raw):
    answer = session.post(
        f"{looker_emulator.api_url}/scheduled_plans/run_once",
        data=raw,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )

    assert answer.status_code == 400


def test_unknown_and_read_only_fields_each_listed(looker_emulator, session):
    body = email_plan(id="5", created_at="2024-01-01", can={}, user={"id": "1"}, colour="blue", next_run_at=None)
    body["scheduled_plan_destination"][0]["looker_recipient"] = True
    body["scheduled_plan_destination"][0]["recipient"] = "x"

    answer = run_once(looker_emulator, session, body)

    fields = error_fields(answer)
    assert sorted(fields) == sorted(
        [
            "id",
            "created_at",
            "can",
            "user",
            "colour",
            "next_run_at",
            "scheduled_plan_destination[0].looker_recipient",
            "scheduled_plan_destination[0].recipient",
        ]
    )
    codes = {error["field"]: error["code"] for error in answer.json()["errors"]}
    assert codes["id"] == "read_only"
    assert codes["colour"] == "unknown_field"
    assert looker_emulator.deliveries == []


def test_wrong_field_types_are_422(looker_emulator, session):
    answer = run_once(looker_emulator, session, email_plan(enabled="yes", tab_ids="1", inline_table_width="wide"))

    assert sorted(error_fields(answer)) == ["enabled", "inline_table_width", "tab_ids"]


def test_content_id_rules(looker_emulator, session):
    destinations = [{"type": "email", "address": "a@example.com", "format": "csv"}]

    missing = run_once(looker_emulator, session, {"scheduled_plan_destination": destinations})
    both = run_once(
        looker_emulator, session, {"look_id": "42", "query_id": "1001", "scheduled_plan_destination": destinations}
    )

    assert error_fields(missing) == ["look_id"]
    assert sorted(error_fields(both)) == ["look_id", "query_id"]


def test_destination_required(looker_emulator, session):
    for destinations in (None, []):
        answer = run_once(looker_emulator, session, email_plan(scheduled_plan_destination=destinations))
        assert error_fields(answer) == ["scheduled_plan_destination"]


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        ({"type": "fax", "address": "123", "format": "csv"}, "type"),
        ({"address": "a@example.com", "format": "csv"}, "type"),
        ({"type": "email", "address": "not-an-address", "format": "csv"}, "address"),
        ({"type": "email", "address": "a@example.com, b@example.com", "format": "csv"}, "address"),
        ({"type": "email", "format": "csv"}, "address"),
        ({"type": "webhook", "address": "http://hooks.example.com/x", "format": "csv"}, "address"),
        ({"type": "webhook", "address": "https://", "format": "csv"}, "address"),
        (
            {
                "type": "s3",
                "address": "https://bucket/x",
                "format": "csv",
                "parameters": '{"access_key_id": "a", "region": "r"}',
                "secret_parameters": '{"secret_access_key": "s"}',
            },
            "address",
        ),
        (
            {
                "type": "sftp",
                "address": "ftp://host/x",
                "format": "csv",
                "parameters": '{"username": "u"}',
                "secret_parameters": '{"password": "p"}',
            },
            "address",
        ),
        ({"type": "looker-integration://1::google_drive", "address": "a@example.com", "format": "csv"}, "address"),
        ({"type": "looker-integration://google_drive", "format": "csv"}, "type"),
        ({"type": "email", "address": "a@example.com"}, "format"),
        ({"type": "email", "address": "a@example.com", "format": "wysiwyg_pdf"}, "format"),
        ({"type": "email", "address": "a@example.com", "format": "docx"}, "format"),
        ({"type": "webhook", "address": "https://h.example.com", "format": "json", "parameters": "[1]"}, "parameters"),
        ({"type": "webhook", "address": "https://h.example.com", "format": "json", "parameters": "{bad"}, "parameters"),
        (
            {"type": "webhook", "address": "https://h.example.com", "format": "json", "secret_parameters": '"x"'},
            "secret_parameters",
        ),
        (
            {
                "type": "s3",
                "address": "s3://bucket/x/",
                "format": "csv",
                "parameters": '{"region": "r"}',
                "secret_parameters": '{"secret_access_key": "s"}',
            },
            "parameters",
        ),
        (
            {
                "type": "s3",
                "address": "s3://bucket/x/",
                "format": "csv",
                "parameters": '{"access_key_id": "a", "region": "r"}',
            },
            "secret_parameters",
        ),
        (
            {"type": "sftp", "address": "sftp://host/x/", "format": "csv", "parameters": '{"username": "u"}'},
            "secret_parameters",
        ),
    ],
)
def test_look_destination_rules(looker_emulator, session, destination, field):
    answer = run_once(looker_emulator, session, look_plan(destination))

    assert error_fields(answer) == [f"scheduled_plan_destination[0].{field}"]


@pytest.mark.parametrize("output_format", ["csv", "json", "xlsx", "html"])
def test_dashboard_rejects_data_formats(looker_emulator, session, output_format):
    plan = email_plan()
    plan["scheduled_plan_destination"][0]["format"] = output_format

    answer = run_once(looker_emulator, session, plan)

    assert error_fields(answer) == ["scheduled_plan_destination[0].format"]
    assert "dashboard" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize("output_format", ["wysiwyg_pdf", "assembled_pdf", "wysiwyg_png", "csv_zip"])
def test_dashboard_accepts_dashboard_formats(looker_emulator, session, output_format):
    plan = email_plan()
    plan["scheduled_plan_destination"][0]["format"] = output_format

    answer = run_once(looker_emulator, session, plan)

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("output_format", ["json", "json_detail", "inline_json", "csv", "txt", "html", "xlsx"])
def test_look_accepts_data_formats(looker_emulator, session, output_format):
    destination = {"type": "email", "address": "a@example.com", "format": output_format}

    answer = run_once(looker_emulator, session, look_plan(destination))

    assert answer.status_code == 200, answer.text
    assert looker_emulator.deliveries[0].files[0].stat().st_size > 0


def test_plan_level_rules(looker_emulator, session):
    webhook = {"type": "webhook", "address": "https://h.example.com", "format": "wysiwyg_pdf"}
    body = email_plan(
        run_as_recipient=True,
        send_all_results=True,
        pdf_paper_size="b5",
        timezone="Mars/Olympus_Mons",
        scheduled_plan_destination=[webhook],
    )

    answer = run_once(looker_emulator, session, body)

    assert sorted(error_fields(answer)) == ["pdf_paper_size", "run_as_recipient", "send_all_results", "timezone"]


def test_valid_plan_level_options(looker_emulator, session):
    body = email_plan(run_as_recipient=True, pdf_paper_size="a4", pdf_landscape=True, timezone="America/New_York")

    answer = run_once(looker_emulator, session, body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["pdf_paper_size"] == "a4"


@pytest.mark.parametrize("filters_string", ["?Brand", "?Brand=A&Brand=B"])
def test_malformed_filters_string_is_422(looker_emulator, session, filters_string):
    answer = run_once(looker_emulator, session, email_plan(filters_string=filters_string))

    assert error_fields(answer) == ["filters_string"]


def test_unsupported_filter_expression_is_422(looker_emulator, session):
    answer = run_once(looker_emulator, session, email_plan(filters_string="?Date=the%20fiscal%20quarter%20of%20doom"))

    assert error_fields(answer) == ["filters_string"]
    assert answer.json()["errors"][0]["code"] == "unsupported_by_emulator"
    assert "Date" in answer.json()["errors"][0]["message"]


def test_legacy_dashboard_filters_field(looker_emulator, session):
    answer = run_once(looker_emulator, session, email_plan(dashboard_filters="?Brand=Carhartt"))

    assert answer.status_code == 200, answer.text
    assert looker_emulator.deliveries[0].filters == {"Brand": "Carhartt"}


@pytest.mark.parametrize(
    "content",
    [
        {"dashboard_id": "999"},
        {"look_id": "999"},
        {"query_id": "999"},
        {"lookml_dashboard_id": "thelook::nope"},
        {"lookml_dashboard_id": None, "dashboard_id": "thelook::business_pulse"},
    ],
)
def test_unknown_content_is_404(looker_emulator, session, content):
    body = {
        "name": "x",
        "scheduled_plan_destination": [{"type": "email", "address": "a@example.com", "format": "wysiwyg_pdf"}],
    }
    body.update(content)
    if "look_id" in content or "query_id" in content:
        body["scheduled_plan_destination"][0]["format"] = "csv"

    answer = run_once(looker_emulator, session, body)

    assert answer.status_code == 404, answer.text
    assert answer.json()["message"].startswith("Not found")


def test_run_once_needs_token(looker_emulator):
    answer = requests.post(f"{looker_emulator.api_url}/scheduled_plans/run_once", json=email_plan(), timeout=10)

    assert answer.status_code == 401
    assert looker_emulator.deliveries == []


def test_required_dashboard_filter_without_value(tmp_path):
    from airflow_provider_looker_trigger.testing import demo_content

    content = demo_content()
    content.dashboards["73"].filters[2].required = True
    with LookerEmulator(outbox=tmp_path / "outbox", content=content, seed_demo_data=True) as emulator:
        session = login(emulator)
        missing = run_once(emulator, session, email_plan())
        given = run_once(emulator, session, email_plan(filters_string="?Brand=Carhartt"))

    assert error_fields(missing) == ["filters_string"]
    assert given.status_code == 200


def test_dashboard_filter_default_applies(tmp_path):
    from airflow_provider_looker_trigger.testing import demo_content

    content = demo_content()
    content.dashboards["73"].filters[2].default_value = "Carhartt"
    with LookerEmulator(outbox=tmp_path / "outbox", content=content, seed_demo_data=True) as emulator:
        session = login(emulator)
        run_once(emulator, session, email_plan())
        run_once(emulator, session, email_plan(filters_string="?Brand=Levi%27s"))
        default_rows, override_rows = (delivery.rows for delivery in emulator.deliveries)

    assert {row["products.brand"] for row in default_rows} == {"Carhartt"}
    assert {row["products.brand"] for row in override_rows} == {"Levi's"}


# ---- run_once by id ---------------------------------------------------------------------------------


def test_run_once_by_id_copies_plan(looker_emulator, session):
    answer = session.post(f"{looker_emulator.api_url}/scheduled_plans/501/run_once", timeout=10)

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["id"] != "501"
    assert plan["run_once"] is True
    assert plan["name"] == "Business Pulse for analytics"
    delivery = looker_emulator.deliveries[0]
    assert delivery.plan_id == plan["id"]
    assert delivery.filters == {"Brand": "Carhartt"}
    assert delivery.destination["address"] == "analytics@example.com"
    assert delivery.files[0].suffix == ".pdf"


def test_run_once_by_id_applies_overrides(looker_emulator, session):
    overrides = {
        "filters_string": "?Brand=Levi%27s&Date=30%20days",
        "scheduled_plan_destination": [{"type": "email", "address": "other@example.com", "format": "csv_zip"}],
    }

    answer = session.post(f"{looker_emulator.api_url}/scheduled_plans/501/run_once", json=overrides, timeout=10)

    assert answer.status_code == 200, answer.text
    delivery = looker_emulator.deliveries[0]
    assert delivery.filters == {"Brand": "Levi's", "Date": "30 days"}
    assert delivery.destination["address"] == "other@example.com"
    assert delivery.plan["filters_string"] == overrides["filters_string"]
    original = session.get(f"{looker_emulator.api_url}/scheduled_plans/501", timeout=10).json()
    assert original["filters_string"] == "?Brand=Carhartt"
    assert original["scheduled_plan_destination"][0]["address"] == "analytics@example.com"


def test_run_once_by_id_rejects_bad_overrides(looker_emulator, session):
    answer = session.post(
        f"{looker_emulator.api_url}/scheduled_plans/501/run_once", json={"id": "7", "bogus": 1}, timeout=10
    )

    assert sorted(error_fields(answer)) == ["bogus", "id"]


def test_run_once_by_id_validates_merged_plan(looker_emulator, session):
    overrides = {"scheduled_plan_destination": [{"type": "email", "address": "a@example.com", "format": "csv"}]}

    answer = session.post(f"{looker_emulator.api_url}/scheduled_plans/501/run_once", json=overrides, timeout=10)

    assert error_fields(answer) == ["scheduled_plan_destination[0].format"]


def test_run_once_by_unknown_id_is_404(looker_emulator, session):
    answer = session.post(f"{looker_emulator.api_url}/scheduled_plans/999/run_once", timeout=10)

    assert answer.status_code == 404


def test_run_once_plan_readable_afterwards(looker_emulator, session):
    plan_id = run_once(looker_emulator, session, email_plan()).json()["id"]

    answer = session.get(f"{looker_emulator.api_url}/scheduled_plans/{plan_id}", timeout=10)

    assert answer.status_code == 200
    assert answer.json()["run_once"] is True
    assert answer.json()["last_run_at"] is not None


# ---- isolation and concurrency ----------------------------------------------------------------------


def test_deliveries_open_no_outgoing_connection(looker_emulator, session, monkeypatch):
    """Every destination type runs while any connection to a host other than 127.0.0.1 raises."""
    original_connect = socket.socket.connect
    attempts: list[object] = []

    def loopback_only(sock, address):
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            attempts.append(address)
            raise OSError(f"outgoing connection to {address!r} blocked by the test")
        return original_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    destinations = [
        {"type": "webhook", "address": "https://hooks.example.com/in", "format": "inline_json"},
        {"type": "email", "address": "a@example.com", "format": "html"},
        {
            "type": "sftp",
            "address": "sftp://files.example.com/drop/",
            "format": "csv",
            "parameters": json.dumps({"username": "looker"}),
            "secret_parameters": json.dumps({"password": "pw"}),
        },
        {"type": "looker-integration://1::slack_app", "format": "csv", "parameters": "{}"},
    ]

    answer = run_once(looker_emulator, session, look_plan(destinations[0], scheduled_plan_destination=destinations))

    assert answer.status_code == 200, answer.text
    assert [delivery.status for delivery in looker_emulator.deliveries] == ["success"] * 4
    assert attempts == []


def test_concurrent_run_once_all_recorded(tmp_path):
    with LookerEmulator(outbox=tmp_path / "outbox", seed_demo_data=True, run_once_rate_limit=None) as emulator:
        token = login(emulator).headers["Authorization"]
        statuses: list[int] = []

        def fire() -> None:
            for _ in range(5):
                answer = requests.post(
                    f"{emulator.api_url}/scheduled_plans/run_once",
                    json=email_plan(filters_string="?Brand=Carhartt"),
                    headers={"Authorization": token},
                    timeout=10,
                )
                statuses.append(answer.status_code)

        threads = [threading.Thread(target=fire) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert statuses == [200] * 30
    deliveries = emulator.deliveries
    assert len(deliveries) == 30
    assert len({delivery.plan_id for delivery in deliveries}) == 30
    assert len({delivery.job_id for delivery in deliveries}) == 30
    assert all(delivery.files[0].is_file() for delivery in deliveries)
    log_lines = (emulator.outbox.root / "deliveries.jsonl").read_text().splitlines()
    assert [json.loads(line)["job_id"] for line in log_lines] == [delivery.job_id for delivery in deliveries]
