"""The emulator's outbox: files that stand for deliveries, plus JSON Lines logs of calls and deliveries.

Nothing here opens a network connection. An email, webhook, S3 upload, SFTP upload or Action Hub
request becomes a rendered file and a JSON manifest that describes the request Looker would have made.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from .records import REDACTED, Call, Delivery

CALLS_LOG = "calls.jsonl"
DELIVERIES_LOG = "deliveries.jsonl"

_MIME_TYPES = {
    "csv": "text/csv",
    "txt": "text/plain",
    "json": "application/json",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "png": "image/png",
    "zip": "application/zip",
}


def _mime_type(extension: str) -> str:
    return _MIME_TYPES.get(extension) or mimetypes.guess_type(f"file.{extension}")[0] or "application/octet-stream"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "destination"


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    parsed = json.loads(text)
    return parsed if isinstance(parsed, dict) else {}


def _write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary name so a reader polling the outbox never reads a partial file."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class Outbox:
    """A directory that receives delivery files, manifests and the calls/deliveries logs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def clear_logs(self) -> None:
        for name in (CALLS_LOG, DELIVERIES_LOG):
            (self.root / name).unlink(missing_ok=True)

    def append_call(self, call: Call) -> None:
        self._append(CALLS_LOG, call.to_json())

    def append_delivery(self, delivery: Delivery) -> None:
        self._append(DELIVERIES_LOG, delivery.to_json())

    def _append(self, name: str, record: dict[str, Any]) -> None:
        with open(self.root / name, "a", encoding="utf-8") as log:
            log.write(json.dumps(record, default=str, sort_keys=True) + "\n")

    def write_destination(
        self,
        *,
        plan_id: str,
        job_id: str,
        index: int,
        destination: dict[str, Any],
        plan: dict[str, Any],
        title: str,
        data: bytes,
        extension: str,
        row_count: int,
    ) -> tuple[Path, Path]:
        """Write one destination's rendered file and its manifest; return both paths."""
        directory = self.root / f"plan-{_slug(plan_id)}" / f"job-{_slug(job_id)}"
        directory.mkdir(parents=True, exist_ok=True)
        destination_type = destination.get("type") or ""
        stem = f"{index:02d}-{_slug(destination_type.replace('looker-integration://', 'action-').replace('::', '-'))}"
        attachment = directory / f"{stem}.{extension}"
        manifest_path = directory / f"{stem}.manifest.json"
        _write_atomically(attachment, data)

        manifest = {
            "emulator_note": "Nothing was sent. This file describes the request Looker would have made.",
            "plan_id": plan_id,
            "job_id": job_id,
            "plan_name": plan.get("name"),
            "title": title,
            "format": destination.get("format"),
            "row_count": row_count,
            "attachment": {
                "file": attachment.name,
                "mimetype": _mime_type(extension),
                "extension": extension,
                "size": len(data),
            },
            "request": describe_request(destination, plan, title, attachment.name),
        }
        _write_atomically(manifest_path, json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
        return attachment, manifest_path


def describe_request(destination: dict[str, Any], plan: dict[str, Any], title: str, file_name: str) -> dict[str, Any]:
    """Describe, without secrets, the request a destination of this type would have received."""
    destination_type = destination.get("type") or ""
    address = destination.get("address") or ""
    parameters = _json_object(destination.get("parameters"))
    secret_keys = sorted(_json_object(destination.get("secret_parameters")))

    if destination_type == "email":
        return {
            "kind": "email",
            "to": address,
            "subject": plan.get("name") or title,
            "message": destination.get("message"),
            "attachment": file_name,
        }

    if destination_type == "webhook":
        return {
            "kind": "webhook",
            "method": "POST",
            "url": address,
            "headers": {"Content-Type": "application/json"},
            "payload": {
                "scheduled_plan": {"title": title, "name": plan.get("name"), "type": destination.get("format")},
                "attachment": {"file": file_name},
            },
        }

    if destination_type == "s3":
        parts = urllib.parse.urlsplit(address)
        prefix = parts.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return {
            "kind": "s3",
            "bucket": parts.netloc,
            "key": prefix + file_name,
            "region": parameters.get("region"),
            "access_key_id": parameters.get("access_key_id"),
            "secret_parameters": {key: REDACTED for key in secret_keys},
        }

    if destination_type == "sftp":
        parts = urllib.parse.urlsplit(address)
        directory = parts.path if parts.path.endswith("/") else parts.path + "/"
        return {
            "kind": "sftp",
            "host": parts.hostname,
            "port": parts.port or 22,
            "path": directory + file_name,
            "username": parameters.get("username"),
            "secret_parameters": {key: REDACTED for key in secret_keys},
        }

    integration_id = destination_type.removeprefix("looker-integration://")
    hub_id, _, action = integration_id.partition("::")
    return {
        "kind": "action_hub",
        "integration_id": integration_id,
        "action_hub_id": hub_id,
        "action": action,
        "form_params": parameters,
        "secret_parameters": {key: REDACTED for key in secret_keys},
    }
