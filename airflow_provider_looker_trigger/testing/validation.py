"""Request-body checks of the Looker emulator, modelled on the 422 responses of Looker API 4.0.

Each check returns a list of :class:`FieldError`; an empty list means the body is valid. Checks that need
the content itself (dashboard filter names, filter expressions, content ids) live in ``execution``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import zoneinfo
from dataclasses import dataclass
from typing import Any

# Writable fields of WriteScheduledPlan (Looker API 4.0) and the JSON type each one takes.
PLAN_FIELD_TYPES: dict[str, str] = {
    "name": "string",
    "user_id": "string",
    "run_as_recipient": "boolean",
    "enabled": "boolean",
    "look_id": "string",
    "dashboard_id": "string",
    "lookml_dashboard_id": "string",
    "filters_string": "string",
    "dashboard_filters": "string",
    "require_results": "boolean",
    "require_no_results": "boolean",
    "require_change": "boolean",
    "send_all_results": "boolean",
    "crontab": "string",
    "datagroup": "string",
    "timezone": "string",
    "scheduled_plan_destination": "destinations",
    "run_once": "boolean",
    "include_links": "boolean",
    "include_dashboard_summary": "boolean",
    "custom_url_base": "string",
    "custom_url_params": "string",
    "custom_url_label": "string",
    "show_custom_url": "boolean",
    "pdf_paper_size": "string",
    "pdf_landscape": "boolean",
    "embed": "boolean",
    "color_theme": "string",
    "long_tables": "boolean",
    "pdf_page_breaks": "boolean",
    "tab_ids": "string_array",
    "inline_table_width": "integer",
    "query_id": "string",
}

# Fields of ScheduledPlan that Looker sets itself; a client may not send them.
PLAN_READ_ONLY_FIELDS = frozenset(
    {"id", "created_at", "updated_at", "title", "user", "next_run_at", "last_run_at", "can"}
)

DESTINATION_FIELD_TYPES: dict[str, str] = {
    "scheduled_plan_id": "string",
    "format": "string",
    "apply_formatting": "boolean",
    "apply_vis": "boolean",
    "address": "string",
    "type": "string",
    "parameters": "string",
    "secret_parameters": "string",
    "message": "string",
}
DESTINATION_READ_ONLY_FIELDS = frozenset({"id", "looker_recipient"})

CONTENT_ID_FIELDS = ("look_id", "dashboard_id", "lookml_dashboard_id", "query_id")

DASHBOARD_FORMATS = frozenset({"wysiwyg_pdf", "assembled_pdf", "wysiwyg_png", "csv_zip"})
DATA_FORMATS = frozenset({"json", "json_detail", "inline_json", "csv", "txt", "html", "xlsx"})

PDF_PAPER_SIZES = frozenset({"letter", "legal", "tabloid", "a0", "a1", "a2", "a3", "a4", "a5"})

DESTINATION_TYPES = ("email", "webhook", "s3", "sftp")
ACTION_HUB_TYPE = re.compile(r"looker-integration://(?P<hub>[A-Za-z0-9_-]+)::(?P<action>[A-Za-z0-9_.-]+)\Z")
EMAIL_ADDRESS = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+\Z")
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")

# Keys Looker needs in ``parameters`` and ``secret_parameters`` for file destinations.
REQUIRED_DESTINATION_PARAMETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "s3": (("access_key_id", "region"), ("secret_access_key",)),
    "sftp": (("username",), ("password",)),
}

DATAGROUP_WRITABLE_FIELDS = ("stale_before", "triggered_at")
DATAGROUP_READ_ONLY_FIELDS = frozenset(
    {"can", "created_at", "id", "model_name", "name", "trigger_check_at", "trigger_error", "trigger_value"}
)


@dataclass(frozen=True)
class FieldError:
    """One entry of the ``errors`` list of a 422 response."""

    field: str
    code: str
    message: str

    def to_json(self, documentation_url: str) -> dict[str, str]:
        return {
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "documentation_url": documentation_url,
        }


def _type_error(name: str, expected: str, value: Any) -> FieldError | None:
    """Return an error when ``value`` does not have the JSON type ``expected``; ``null`` is always allowed."""
    if value is None:
        return None
    if expected == "string":
        valid = isinstance(value, str)
        wording = "a string"
    elif expected == "boolean":
        valid = isinstance(value, bool)
        wording = "true or false"
    elif expected == "integer":
        valid = isinstance(value, int) and not isinstance(value, bool)
        wording = "an integer"
    elif expected == "string_array":
        valid = isinstance(value, list) and all(isinstance(item, str) for item in value)
        wording = "an array of strings"
    elif expected == "destinations":
        valid = isinstance(value, list) and all(isinstance(item, dict) for item in value)
        wording = "an array of destination objects"
    else:
        raise ValueError(f"unknown field type {expected!r}")
    if valid:
        return None
    return FieldError(name, "invalid", f"{name} must be {wording}, got {json.dumps(value)}")


def check_plan_fields(body: dict[str, Any]) -> list[FieldError]:
    """Check that a plan body has only writable WriteScheduledPlan fields, each of the right JSON type."""
    errors: list[FieldError] = []
    for name, value in body.items():
        if name in PLAN_READ_ONLY_FIELDS:
            errors.append(FieldError(name, "read_only", f"{name} is read-only and cannot be set by the client"))
            continue
        expected = PLAN_FIELD_TYPES.get(name)
        if expected is None:
            errors.append(FieldError(name, "unknown_field", f"{name} is not a field of ScheduledPlan"))
            continue
        error = _type_error(name, expected, value)
        if error is not None:
            errors.append(error)
            continue
        if name == "scheduled_plan_destination" and value is not None:
            for index, destination in enumerate(value):
                errors.extend(_check_destination_fields(destination, f"scheduled_plan_destination[{index}]"))
    return errors


def _check_destination_fields(destination: dict[str, Any], prefix: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in destination.items():
        qualified = f"{prefix}.{name}"
        if name in DESTINATION_READ_ONLY_FIELDS:
            errors.append(FieldError(qualified, "read_only", f"{qualified} is read-only and cannot be set"))
            continue
        expected = DESTINATION_FIELD_TYPES.get(name)
        if expected is None:
            errors.append(FieldError(qualified, "unknown_field", f"{qualified} is not a field of a destination"))
            continue
        error = _type_error(qualified, expected, value)
        if error is not None:
            errors.append(error)
    return errors


def content_kind(plan: dict[str, Any]) -> str | None:
    """Return "look", "dashboard", "lookml_dashboard" or "query" for the one content id set, else None."""
    content_ids = [name for name in CONTENT_ID_FIELDS if plan.get(name) not in (None, "")]
    if len(content_ids) != 1:
        return None
    return content_ids[0].removesuffix("_id")


def check_plan_rules(plan: dict[str, Any]) -> list[FieldError]:
    """Check the rules Looker applies to a plan whose fields already passed :func:`check_plan_fields`."""
    errors: list[FieldError] = []

    content_ids = [name for name in CONTENT_ID_FIELDS if plan.get(name) not in (None, "")]
    if not content_ids:
        errors.append(
            FieldError(
                "look_id", "missing", "One of look_id, dashboard_id, lookml_dashboard_id or query_id is required"
            )
        )
    elif len(content_ids) > 1:
        for name in content_ids:
            others = ", ".join(other for other in content_ids if other != name)
            errors.append(FieldError(name, "invalid", f"{name} cannot be combined with {others}; set only one"))
    kind = content_kind(plan)
    is_dashboard = kind in ("dashboard", "lookml_dashboard")

    lookml_id = plan.get("lookml_dashboard_id")
    if isinstance(lookml_id, str) and lookml_id and "::" not in lookml_id:
        errors.append(
            FieldError(
                "lookml_dashboard_id", "invalid", f"lookml_dashboard_id {lookml_id!r} must look like model::name"
            )
        )

    destinations = plan.get("scheduled_plan_destination") or []
    if not destinations:
        errors.append(
            FieldError("scheduled_plan_destination", "missing", "At least one scheduled_plan_destination is required")
        )
    for index, destination in enumerate(destinations):
        errors.extend(_check_destination_rules(destination, f"scheduled_plan_destination[{index}]", kind))

    if plan.get("run_as_recipient") and any(item.get("type") != "email" for item in destinations):
        errors.append(
            FieldError(
                "run_as_recipient", "invalid", "run_as_recipient is only allowed when every destination is email"
            )
        )
    if plan.get("send_all_results") and is_dashboard:
        errors.append(FieldError("send_all_results", "invalid", "send_all_results is not available for dashboards"))

    paper_size = plan.get("pdf_paper_size")
    if paper_size not in (None, "") and paper_size not in PDF_PAPER_SIZES:
        allowed = ", ".join(sorted(PDF_PAPER_SIZES))
        errors.append(FieldError("pdf_paper_size", "invalid", f"pdf_paper_size {paper_size!r} is not one of {allowed}"))

    timezone_name = plan.get("timezone")
    if timezone_name not in (None, "") and not is_timezone_name(timezone_name):
        errors.append(FieldError("timezone", "invalid", f"timezone {timezone_name!r} is not an IANA time zone name"))

    inline_width = plan.get("inline_table_width")
    if inline_width is not None and inline_width <= 0:
        errors.append(
            FieldError("inline_table_width", "invalid", "inline_table_width must be a positive number of pixels")
        )
    return errors


def is_timezone_name(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _json_object_or_error(value: Any, name: str) -> tuple[dict[str, Any] | None, FieldError | None]:
    if value in (None, ""):
        return {}, None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None, FieldError(name, "invalid", f"{name} must be a JSON object encoded as a string")
    if not isinstance(parsed, dict):
        return None, FieldError(
            name, "invalid", f"{name} must be a JSON object encoded as a string, not {type(parsed).__name__}"
        )
    return parsed, None


def _check_destination_rules(destination: dict[str, Any], prefix: str, kind: str | None) -> list[FieldError]:
    errors: list[FieldError] = []
    destination_type = destination.get("type")
    address = destination.get("address")
    output_format = destination.get("format")

    if destination_type in (None, ""):
        errors.append(FieldError(f"{prefix}.type", "missing", f"{prefix}.type is required"))
    elif destination_type.startswith("looker-integration://"):
        if not ACTION_HUB_TYPE.match(destination_type):
            errors.append(
                FieldError(
                    f"{prefix}.type",
                    "invalid",
                    f"{prefix}.type {destination_type!r} must look like looker-integration://<hub id>::<action name>",
                )
            )
        if address not in (None, ""):
            errors.append(
                FieldError(
                    f"{prefix}.address", "invalid", f"{prefix}.address must be empty for an Action Hub destination"
                )
            )
    elif destination_type not in DESTINATION_TYPES:
        allowed = ", ".join(DESTINATION_TYPES)
        errors.append(
            FieldError(
                f"{prefix}.type",
                "invalid",
                f"{prefix}.type {destination_type!r} is not one of {allowed} or looker-integration://<hub id>::<action name>",
            )
        )
    else:
        address_error = _address_error(destination_type, address)
        if address_error:
            errors.append(
                FieldError(
                    f"{prefix}.address", "missing" if not address else "invalid", f"{prefix}.address {address_error}"
                )
            )

    if output_format in (None, ""):
        errors.append(FieldError(f"{prefix}.format", "missing", f"{prefix}.format is required"))
    elif kind is not None:
        allowed_formats = DASHBOARD_FORMATS if kind in ("dashboard", "lookml_dashboard") else DATA_FORMATS
        if output_format not in allowed_formats:
            errors.append(
                FieldError(
                    f"{prefix}.format",
                    "invalid",
                    f"{prefix}.format {output_format!r} is not available for a {kind.replace('_', ' ')}; "
                    f"use one of {', '.join(sorted(allowed_formats))}",
                )
            )

    parameters, error = _json_object_or_error(destination.get("parameters"), f"{prefix}.parameters")
    if error:
        errors.append(error)
    secrets, error = _json_object_or_error(destination.get("secret_parameters"), f"{prefix}.secret_parameters")
    if error:
        errors.append(error)
    required = REQUIRED_DESTINATION_PARAMETERS.get(destination_type or "")
    if required is not None:
        for key in required[0]:
            if parameters is not None and not parameters.get(key):
                errors.append(
                    FieldError(f"{prefix}.parameters", "missing", f"{prefix}.parameters needs the key {key!r}")
                )
        for key in required[1]:
            if secrets is not None and not secrets.get(key):
                errors.append(
                    FieldError(
                        f"{prefix}.secret_parameters", "missing", f"{prefix}.secret_parameters needs the key {key!r}"
                    )
                )
    return errors


def _address_error(destination_type: str, address: Any) -> str | None:
    """Return why ``address`` is not valid for the destination type, or None."""
    if not address:
        return f"is required for a {destination_type} destination"
    if destination_type == "email":
        if not EMAIL_ADDRESS.match(address):
            return f"{address!r} is not a single email address"
        return None
    parts = urllib.parse.urlsplit(address)
    if destination_type == "webhook":
        if parts.scheme != "https" or not parts.hostname:
            return f"{address!r} must be an https:// URL"
    elif destination_type == "s3":
        if parts.scheme != "s3" or not parts.netloc or not S3_BUCKET.match(parts.netloc):
            return f"{address!r} must look like s3://bucket/optional/prefix/"
    elif destination_type == "sftp":
        if parts.scheme != "sftp" or not parts.hostname:
            return f"{address!r} must look like sftp://host/path/"
    return None


def check_datagroup_update(body: Any, now_seconds: float) -> list[FieldError]:
    """Check a PATCH /datagroups/{id} body: only stale_before and triggered_at, as UNIX seconds not in the future."""
    if not isinstance(body, dict):
        return [FieldError("body", "invalid", "The body must be a JSON object")]
    errors: list[FieldError] = []
    for name, value in body.items():
        if name in DATAGROUP_READ_ONLY_FIELDS:
            errors.append(FieldError(name, "read_only", f"{name} is read-only and cannot be set by the client"))
        elif name not in DATAGROUP_WRITABLE_FIELDS:
            errors.append(FieldError(name, "unknown_field", f"{name} is not a field of Datagroup"))
        elif value is None:
            continue
        elif not isinstance(value, int) or isinstance(value, bool):
            errors.append(FieldError(name, "invalid", f"{name} must be an integer number of UNIX seconds"))
        elif value < 0:
            errors.append(FieldError(name, "invalid", f"{name} must not be negative"))
        elif value > now_seconds:
            errors.append(
                FieldError(name, "invalid", f"{name} {value} is in the future; the server time is {int(now_seconds)}")
            )
    if not errors and not any(body.get(name) is not None for name in DATAGROUP_WRITABLE_FIELDS):
        errors.append(FieldError("triggered_at", "missing", "Set stale_before or triggered_at"))
    return errors
