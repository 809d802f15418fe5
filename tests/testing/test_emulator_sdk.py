"""Looker emulator driven by the official Looker Python SDK, with outgoing connections blocked."""

from __future__ import annotations

import socket

import pytest

looker_sdk = pytest.importorskip("looker_sdk")
models = pytest.importorskip("looker_sdk.sdk.api40.models")


@pytest.fixture
def sdk(looker_emulator, monkeypatch):
    original_connect = socket.socket.connect

    def loopback_only(sock, address):
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            raise OSError(f"outgoing connection to {address!r} blocked by the test")
        return original_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setenv("LOOKERSDK_BASE_URL", looker_emulator.url)
    monkeypatch.setenv("LOOKERSDK_CLIENT_ID", looker_emulator.client_id)
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", looker_emulator.client_secret)
    monkeypatch.setenv("LOOKERSDK_VERIFY_SSL", "false")
    return looker_sdk.init40()


def test_sdk_reads_content(sdk):
    dashboard = sdk.dashboard("73")
    look = sdk.look("42")

    assert sdk.me().display_name == "Emulator API User"
    assert [item.name for item in dashboard.dashboard_filters] == ["Date", "State / Region", "Brand", "Category"]
    assert look.query.id == "1001"


def test_sdk_run_once(sdk, looker_emulator):
    body = models.WriteScheduledPlan(
        name="sdk run",
        dashboard_id="73",
        filters_string="?Brand=Carhartt",
        scheduled_plan_destination=[
            models.ScheduledPlanDestination(type="email", address="a@example.com", format="wysiwyg_pdf")
        ],
    )

    plan = sdk.scheduled_plan_run_once(body)

    assert plan.run_once is True
    assert looker_emulator.deliveries[0].plan_id == plan.id
    assert looker_emulator.deliveries[0].filters == {"Brand": "Carhartt"}


def test_sdk_run_once_by_id(sdk, looker_emulator):
    plan = sdk.scheduled_plan_run_once_by_id("501", models.WriteScheduledPlan(filters_string="?Brand=Levi%27s"))

    assert plan.id != "501"
    assert looker_emulator.deliveries[0].filters == {"Brand": "Levi's"}


def test_sdk_datagroup_and_system_activity(sdk, looker_emulator):
    sdk.update_datagroup("1", models.WriteDatagroup(triggered_at=1_700_000_001))
    query = models.WriteQuery(
        model="system__activity",
        view="scheduled_plan",
        fields=["scheduled_plan.id", "scheduled_job.status"],
        filters={"scheduled_plan.id": "502"},
    )

    result = sdk.run_inline_query("json", query)

    assert '"scheduled_job.status": "success"' in result
    assert looker_emulator.deliveries[0].plan_id == "502"


def test_sdk_not_found_error(sdk):
    with pytest.raises(looker_sdk.error.SDKError, match="Not found"):
        sdk.dashboard("999")


def test_sdk_logout(sdk, looker_emulator):
    sdk.me()

    sdk.auth.logout()

    assert looker_emulator.calls[-1].operation == "logout"
    assert looker_emulator.calls[-1].status == 204
