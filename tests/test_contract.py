"""Check every request body the provider builds against Looker API 4.0.

Two independent references are used: the 4.0 models of the official Python SDK (``looker_sdk``), and
Looker's OpenAPI 3.0 spec when a copy is available. The spec's schemas leave ``additionalProperties``
open and mark server-set fields with ``readOnly``, which JSON Schema validation does not reject, so both
are checked explicitly here.
"""

from __future__ import annotations

import json
import typing
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
models = pytest.importorskip("looker_sdk.sdk.api40.models")

from referencing.jsonschema import DRAFT4  # noqa: E402 - after the import checks above

from airflow_provider_looker_trigger.hooks.looker import LookerHook  # noqa: E402
from airflow_provider_looker_trigger.plan import (  # noqa: E402
    PlanOptions,
    build_run_once_body,
    encode_filters,
    parse_destinations,
    resolve_destination_secrets,
    resolve_source,
)

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "looker-api"
SPEC_PATH = SPEC_DIR / "Looker.4.0.oas.json"
SPEC_URI = "urn:looker:api:4.0"
PLAN_NAME = "Daily sales [airflow:0123456789ab]"


# ---------------------------------------------------------------------------------------------
# Realistic plans, built through the public plan functions
# ---------------------------------------------------------------------------------------------


def fake_connection(conn_id: str) -> SimpleNamespace:
    connections = {
        "aws_reports": SimpleNamespace(login="AKIAEXAMPLE", password="aws-secret", extra_dejson={"region_name": "eu-west-1"}),
        "sftp_reports": SimpleNamespace(login="looker", password="sftp-secret", extra_dejson={}),
    }
    return connections[conn_id]


PLANS: dict[str, dict[str, Any]] = {
    "dashboard-email": {
        "source": {"dashboard_id": 73},
        "destinations": [
            {"type": "email", "address": ["sales@example.com", "ops@example.com"], "format": "wysiwyg_pdf"},
        ],
        "filters": {"Date": "90 days", "State / Region": "-Not State", "Brand": "Calvin Klein"},
        "options": {"timezone": "America/New_York", "pdf_paper_size": "a4", "pdf_landscape": True},
    },
    "lookml-dashboard-email": {
        "source": {"dashboard_id": "thelook::business_pulse"},
        "destinations": [
            {"type": "email", "address": "exec@example.com", "format": "assembled_pdf", "message": "Numbers for today."},
        ],
        "filters": {"City": "Zürich,東京"},
        "options": {"long_tables": True, "include_links": False, "run_as_recipient": True},
    },
    "look-require-results": {
        "source": {"look_id": 12},
        "destinations": [
            {"type": "email", "address": "team@example.com", "format": "csv", "apply_formatting": True, "apply_vis": False},
        ],
        "filters": None,
        "options": {"require_results": True},
    },
    "look-defaults": {
        "source": {"look_id": "12"},
        "destinations": [{"type": "email", "address": "team@example.com", "format": "xlsx"}],
        "filters": "?Brand=Levi%27s",
        "options": {},
    },
    "query-webhook": {
        "source": {"query_id": 9001},
        "destinations": [
            {"type": "webhook", "address": "https://hooks.example.com/looker/ingest", "format": "inline_json"},
        ],
        "filters": None,
        "options": {"send_all_results": True},
    },
    "query-s3-secrets": {
        "source": {"query_id": "9001"},
        "destinations": [
            {"type": "s3", "address": "s3://reports-bucket/looker/daily/", "format": "csv", "aws_conn_id": "aws_reports"},
        ],
        "filters": None,
        "options": {"send_all_results": True, "timezone": "UTC"},
    },
    "look-sftp": {
        "source": {"look_id": 12},
        "destinations": [
            {
                "type": "sftp",
                "address": "sftp://files.example.com:2222/upload/",
                "format": "txt",
                "sftp_conn_id": "sftp_reports",
            },
        ],
        "filters": None,
        "options": {"require_change": True},
    },
    "dashboard-action-hub": {
        "source": {"dashboard_id": "73"},
        "destinations": [
            {
                "type": "looker-integration://1::slack_app",
                "format": "wysiwyg_png",
                "parameters": {"channel": "#sales", "initial_comment": "Daily numbers"},
            },
        ],
        "filters": {"Date": "yesterday"},
        "options": {},
    },
    "look-all-options": {
        "source": {"look_id": 12},
        "destinations": [
            {"type": "email", "address": ["a@example.com", "b@example.com"], "format": "html", "message": "Hi"},
            {"type": "email", "address": "c@example.com", "format": "json_detail", "apply_vis": True},
        ],
        "filters": {"Status": "complete", "Created Date": "this week"},
        "options": {
            "timezone": "Europe/Zurich",
            "pdf_paper_size": "letter",
            "pdf_landscape": False,
            "long_tables": True,
            "send_all_results": True,
            "run_as_recipient": True,
            "include_links": True,
            "require_results": False,
            "require_no_results": True,
            "require_change": False,
        },
    },
    "query-mixed-destinations": {
        "source": {"query_id": 9001},
        "destinations": [
            {"type": "email", "address": "team@example.com", "format": "csv"},
            {"type": "webhook", "address": "https://hooks.example.com/x", "format": "json"},
            {"type": "s3", "address": "s3://reports-bucket/x/", "format": "json", "aws_conn_id": "aws_reports"},
            {"type": "sftp", "address": "sftp://files.example.com/x/", "format": "xlsx", "sftp_conn_id": "sftp_reports"},
            {"type": "looker-integration://1::google_drive", "format": "csv", "parameters": '{"folder": "Reports"}'},
        ],
        "filters": None,
        "options": {"include_links": True},
    },
}


def build_plan(plan: dict[str, Any]) -> dict[str, Any]:
    destinations = resolve_destination_secrets(parse_destinations(plan["destinations"]), fake_connection)
    return build_run_once_body(
        name=PLAN_NAME,
        source=resolve_source(**plan["source"]),
        destinations=destinations,
        filters_string=encode_filters(plan["filters"]),
        options=PlanOptions(**plan["options"]),
    )


@pytest.fixture(params=PLANS.values(), ids=PLANS.keys())
def body(request) -> dict[str, Any]:
    return build_plan(request.param)


# ---------------------------------------------------------------------------------------------
# looker_sdk 4.0 models
# ---------------------------------------------------------------------------------------------


def field_types(model: type) -> dict[str, Any]:
    return typing.get_type_hints(model, vars(models))


def matches_annotation(value: Any, annotation: Any) -> bool:
    """Return whether a JSON value fits a looker_sdk annotation such as ``Optional[Sequence[str]]``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return any(matches_annotation(value, arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin is not None and issubclass(origin, typing.Sequence):
        (item_annotation,) = typing.get_args(annotation)
        return isinstance(value, list) and all(matches_annotation(item, item_annotation) for item in value)
    if isinstance(annotation, type):
        return isinstance(value, dict)
    raise AssertionError(f"annotation {annotation!r} is not handled by this test")


def type_mismatches(data: dict[str, Any], model: type) -> list[str]:
    annotations = field_types(model)
    return [
        f"{key}={value!r} does not fit {annotations[key]}"
        for key, value in data.items()
        if not matches_annotation(value, annotations[key])
    ]


def test_sdk_models_accept_body(body):
    wire_destinations = body["scheduled_plan_destination"]
    plan_fields = {key: value for key, value in body.items() if key != "scheduled_plan_destination"}

    sdk_destinations = [models.ScheduledPlanDestination(**dest) for dest in wire_destinations]
    plan = models.WriteScheduledPlan(**plan_fields, scheduled_plan_destination=sdk_destinations)

    assert plan.name == PLAN_NAME
    assert plan.run_once is True
    assert len(plan.scheduled_plan_destination) == len(wire_destinations)


def test_sdk_plan_field_types(body):
    assert type_mismatches(body, models.WriteScheduledPlan) == []


def test_sdk_destination_field_types(body):
    for dest in body["scheduled_plan_destination"]:
        assert type_mismatches(dest, models.ScheduledPlanDestination) == []


def test_sdk_destination_no_server_fields(body):
    # The SDK's ScheduledPlanDestination model also carries fields that Looker sets itself.
    for dest in body["scheduled_plan_destination"]:
        assert "id" not in dest
        assert "looker_recipient" not in dest
        assert "scheduled_plan_id" not in dest


def test_sdk_unknown_key_rejected():
    with pytest.raises(TypeError):
        models.WriteScheduledPlan(name="x", run_once=True, dashboard_id="73", destination_type="email")


def test_annotation_check_can_fail():
    mismatches = type_mismatches({"dashboard_id": 73, "run_once": "true"}, models.WriteScheduledPlan)

    assert len(mismatches) == 2


def test_body_values_not_none(body):
    assert None not in body.values()
    for dest in body["scheduled_plan_destination"]:
        assert None not in dest.values()


def test_body_json_round_trip(body):
    assert json.loads(json.dumps(body)) == body


def test_body_parameters_are_json_objects(body):
    for dest in body["scheduled_plan_destination"]:
        for key in ("parameters", "secret_parameters"):
            if key in dest:
                assert isinstance(json.loads(dest[key]), dict)


# ---------------------------------------------------------------------------------------------
# Official OpenAPI spec
# ---------------------------------------------------------------------------------------------


@cache
def load_spec() -> dict[str, Any] | None:
    if not SPEC_PATH.is_file():
        return None
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def spec() -> dict[str, Any]:
    loaded = load_spec()
    if loaded is None:
        pytest.skip(f"Looker API 4.0 spec not found at {SPEC_PATH}; the SDK model checks still ran")
    return loaded


def schema_validator(spec: dict[str, Any], name: str) -> jsonschema.protocols.Validator:
    """Return a validator for ``components.schemas.<name>`` that resolves ``$ref`` inside the spec.

    OpenAPI 3.0 schema objects are close to JSON Schema draft 4; the OpenAPI-only keywords
    (``nullable``, ``x-looker-*``) are unknown to jsonschema and ignored.
    """
    resource = referencing.Resource.from_contents(spec, default_specification=DRAFT4)
    registry = referencing.Registry().with_resource(SPEC_URI, resource)
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
    return jsonschema.Draft4Validator(schema, registry=registry)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        node = spec
        for part in pointer:
            node = node[part]
    return node


def is_read_only(spec: dict[str, Any], prop: dict[str, Any]) -> bool:
    """Return whether the server alone sets a property: marked readOnly, or a $ref to an all-readOnly object."""
    if prop.get("readOnly"):
        return True
    target = resolve(spec, prop)
    if target.get("readOnly"):
        return True
    properties = target.get("properties")
    return bool(properties) and all(sub.get("readOnly") for sub in properties.values())


def schema_properties(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]["properties"]


def validation_messages(validator, instance) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


def test_spec_run_once_body_schema(spec):
    # The endpoint's declared request body is ScheduledPlan, which the checks below use.
    request_body = spec["paths"]["/scheduled_plans/run_once"]["post"]["requestBody"]
    schema = request_body["content"]["application/json"]["schema"]

    assert schema == {"$ref": "#/components/schemas/ScheduledPlan"}


def test_spec_validates_body(spec, body):
    validator = schema_validator(spec, "ScheduledPlan")

    assert validation_messages(validator, body) == []


def test_spec_plan_keys_known(spec, body):
    known = set(schema_properties(spec, "ScheduledPlan"))

    assert sorted(set(body) - known) == []


def test_spec_plan_keys_writable(spec, body):
    properties = schema_properties(spec, "ScheduledPlan")

    read_only = sorted(key for key in body if is_read_only(spec, properties[key]))

    assert read_only == []


def test_spec_destination_keys_known(spec, body):
    known = set(schema_properties(spec, "ScheduledPlanDestination"))

    for dest in body["scheduled_plan_destination"]:
        assert sorted(set(dest) - known) == []


def test_spec_destination_keys_writable(spec, body):
    properties = schema_properties(spec, "ScheduledPlanDestination")

    for dest in body["scheduled_plan_destination"]:
        assert sorted(key for key in dest if is_read_only(spec, properties[key])) == []


def test_spec_no_deprecated_keys(spec, body):
    properties = schema_properties(spec, "ScheduledPlan")

    assert sorted(key for key in body if properties[key].get("deprecated")) == []


def test_spec_read_only_detection(spec):
    plan = schema_properties(spec, "ScheduledPlan")
    destination = schema_properties(spec, "ScheduledPlanDestination")

    for key in ("id", "created_at", "updated_at", "title", "next_run_at", "last_run_at", "can", "user"):
        assert is_read_only(spec, plan[key]), key
    for key in ("id", "looker_recipient"):
        assert is_read_only(spec, destination[key]), key
    assert not is_read_only(spec, plan["name"])
    assert not is_read_only(spec, destination["secret_parameters"])


def test_spec_validator_can_fail(spec):
    validator = schema_validator(spec, "ScheduledPlan")
    bad = {
        "name": "x",
        "dashboard_id": 73,
        "run_once": "true",
        "scheduled_plan_destination": [{"type": "email", "apply_vis": "no", "parameters": {"a": 1}}],
    }

    messages = validation_messages(validator, bad)

    assert len(messages) == 4
    assert any(message.startswith("scheduled_plan_destination/0/parameters") for message in messages)


# ---------------------------------------------------------------------------------------------
# Datagroup update body
# ---------------------------------------------------------------------------------------------


DATAGROUP_CALLS = {
    "both": {"triggered_at": 1_717_000_000, "stale_before": 1_717_000_000},
    "triggered-only": {"triggered_at": 1_717_000_000},
    "stale-only": {"stale_before": 1_716_999_000},
}


@pytest.fixture(params=DATAGROUP_CALLS.values(), ids=DATAGROUP_CALLS.keys())
def datagroup_body(request) -> dict[str, Any]:
    sent = []
    hook = LookerHook(looker_conn_id="looker_contract")
    hook._request = lambda method, path, **kwargs: sent.append((method, path, kwargs)) or {"id": "7"}

    hook.update_datagroup("7", **request.param)

    ((method, path, kwargs),) = sent
    assert method == "PATCH"
    assert path == "/datagroups/7"
    return kwargs["json_body"]


def test_datagroup_body_sdk_model(datagroup_body):
    models.WriteDatagroup(**datagroup_body)

    assert type_mismatches(datagroup_body, models.WriteDatagroup) == []
    assert set(datagroup_body) <= set(field_types(models.WriteDatagroup))


def test_datagroup_body_spec(spec, datagroup_body):
    properties = schema_properties(spec, "Datagroup")

    assert validation_messages(schema_validator(spec, "Datagroup"), datagroup_body) == []
    assert sorted(set(datagroup_body) - set(properties)) == []
    assert sorted(key for key in datagroup_body if is_read_only(spec, properties[key])) == []


def test_datagroup_body_omits_unset():
    sent = []
    hook = LookerHook(looker_conn_id="looker_contract")
    hook._request = lambda method, path, **kwargs: sent.append(kwargs["json_body"])

    hook.update_datagroup("7", triggered_at=1_717_000_000)

    assert sent == [{"triggered_at": 1_717_000_000}]
