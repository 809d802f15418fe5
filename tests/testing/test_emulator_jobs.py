"""Looker emulator: jobs, System Activity, datagroups and the run_once rate limit, over real HTTP."""

from __future__ import annotations

import datetime
import time

import pytest
import requests

from airflow_provider_looker_trigger.testing import (
    DEFAULT_PERMISSIONS,
    LookerEmulator,
    warehouse,
)

JOB_FIELDS = [
    "scheduled_plan.id",
    "scheduled_plan.name",
    "scheduled_job.id",
    "scheduled_job.status",
    "scheduled_job.status_detail",
    "scheduled_job.created_time",
    "scheduled_job.finalized_time",
]

PLAN = {
    "name": "Orders digest",
    "dashboard_id": "73",
    "filters_string": "?Brand=Carhartt",
    "scheduled_plan_destination": [{"type": "email", "address": "a@example.com", "format": "wysiwyg_pdf"}],
}


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


def make_emulator(tmp_path, **options) -> LookerEmulator:
    warehouse_path = tmp_path / "warehouse.sqlite"
    warehouse.load_demo_orders(warehouse_path, end_date=datetime.datetime.now(datetime.timezone.utc).date())
    return LookerEmulator(outbox=tmp_path / "outbox", warehouse=warehouse_path, **options)


def job_rows(emulator: LookerEmulator, session: requests.Session, plan_id: str) -> list[dict]:
    answer = session.post(
        f"{emulator.api_url}/queries/run/json",
        params={"cache": "false"},
        json={
            "model": "system__activity",
            "view": "scheduled_plan",
            "fields": JOB_FIELDS,
            "filters": {"scheduled_plan.id": plan_id},
            "sorts": ["scheduled_job.created_time desc"],
            "limit": "10",
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


# ---- jobs and System Activity -----------------------------------------------------------------------


def test_job_succeeds_immediately(looker_emulator):
    session = login(looker_emulator)
    plan_id = session.post(f"{looker_emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10).json()["id"]

    [row] = job_rows(looker_emulator, session, plan_id)

    assert row["scheduled_plan.id"] == int(plan_id)
    assert row["scheduled_plan.name"] == "Orders digest"
    assert row["scheduled_job.status"] == "success"
    assert row["scheduled_job.status_detail"] is None
    assert row["scheduled_job.finalized_time"] is not None
    assert row["scheduled_job.id"] == int(looker_emulator.deliveries[0].job_id)


def test_job_with_delay_runs_then_succeeds(tmp_path):
    with make_emulator(tmp_path, job_delay=0.5) as emulator:
        session = login(emulator)
        plan_id = session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10).json()["id"]

        [running] = job_rows(emulator, session, plan_id)
        assert running["scheduled_job.status"] == "running"
        assert running["scheduled_job.finalized_time"] is None
        assert emulator.deliveries == []
        assert not list(emulator.outbox.root.glob("plan-*"))

        assert emulator.wait_for_jobs(timeout=10)
        [finished] = job_rows(emulator, session, plan_id)

    assert finished["scheduled_job.status"] == "success"
    assert finished["scheduled_job.finalized_time"] is not None
    assert emulator.deliveries[0].files[0].is_file()


def test_chosen_failure_by_name(looker_emulator):
    looker_emulator.set_outcome("digest", status="failure", detail="SMTP relay refused the message")
    session = login(looker_emulator)

    plan_id = session.post(f"{looker_emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10).json()["id"]

    [row] = job_rows(looker_emulator, session, plan_id)
    assert row["scheduled_job.status"] == "failure"
    assert row["scheduled_job.status_detail"] == "SMTP relay refused the message"
    delivery = looker_emulator.deliveries[0]
    assert delivery.status == "failure"
    assert delivery.files == []
    assert not list(looker_emulator.outbox.root.glob("plan-*"))


def test_chosen_failure_by_callable(looker_emulator):
    looker_emulator.set_outcome(lambda plan: plan.get("dashboard_id") == "73", detail="render failed")
    session = login(looker_emulator)
    look_plan = {
        "look_id": "42",
        "scheduled_plan_destination": [{"type": "email", "address": "a@example.com", "format": "csv"}],
    }

    session.post(f"{looker_emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10)
    session.post(f"{looker_emulator.api_url}/scheduled_plans/run_once", json=look_plan, timeout=10)

    assert [delivery.status for delivery in looker_emulator.deliveries] == ["failure", "success"]


def test_latest_outcome_rule_wins(looker_emulator):
    looker_emulator.set_outcome("digest", status="failure")
    looker_emulator.set_outcome("Orders", status="success")
    session = login(looker_emulator)

    session.post(f"{looker_emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10)

    assert looker_emulator.deliveries[0].status == "success"


def test_failure_with_delay(tmp_path):
    with make_emulator(tmp_path, job_delay=0.3) as emulator:
        emulator.set_outcome("digest", detail="webhook answered 500")
        session = login(emulator)
        plan_id = session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10).json()["id"]
        assert job_rows(emulator, session, plan_id)[0]["scheduled_job.status"] == "running"

        assert emulator.wait_for_jobs(timeout=10)
        [row] = job_rows(emulator, session, plan_id)

    assert row["scheduled_job.status"] == "failure"
    assert row["scheduled_job.status_detail"] == "webhook answered 500"


def test_set_outcome_rejects_unknown_status(looker_emulator):
    with pytest.raises(ValueError, match="status"):
        looker_emulator.set_outcome("x", status="pending")


def test_system_activity_without_permission_is_403(tmp_path):
    permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}
    with make_emulator(tmp_path, permissions=permissions) as emulator:
        session = login(emulator)
        answer = session.post(
            f"{emulator.api_url}/queries/run/json",
            json={"model": "system__activity", "view": "scheduled_plan", "fields": JOB_FIELDS},
            timeout=10,
        )

    assert answer.status_code == 403
    assert "see_system_activity" in answer.json()["message"]


def test_system_activity_other_model_is_404(looker_emulator):
    session = login(looker_emulator)

    answer = session.post(
        f"{looker_emulator.api_url}/queries/run/json",
        json={"model": "thelook", "view": "order_items", "fields": ["products.brand"]},
        timeout=10,
    )

    assert answer.status_code == 404


def test_system_activity_unknown_field_is_422(looker_emulator):
    session = login(looker_emulator)

    answer = session.post(
        f"{looker_emulator.api_url}/queries/run/json",
        json={"model": "system__activity", "view": "scheduled_plan", "fields": ["scheduled_job.colour"]},
        timeout=10,
    )

    assert answer.status_code == 422
    assert "scheduled_job.colour" in answer.json()["errors"][0]["message"]


def test_system_activity_lists_saved_plans(looker_emulator):
    session = login(looker_emulator)

    answer = session.post(
        f"{looker_emulator.api_url}/queries/run/json",
        json={
            "model": "system__activity",
            "view": "scheduled_plan",
            "fields": ["scheduled_plan.id", "scheduled_job.status"],
            "sorts": ["scheduled_plan.id"],
        },
        timeout=10,
    )

    assert answer.json() == [
        {"scheduled_plan.id": 501, "scheduled_job.status": None},
        {"scheduled_plan.id": 502, "scheduled_job.status": None},
    ]


def test_system_activity_sorts_newest_job_first(looker_emulator):
    session = login(looker_emulator)
    for _ in range(3):
        session.post(f"{looker_emulator.api_url}/scheduled_plans/501/run_once", timeout=10)

    answer = session.post(
        f"{looker_emulator.api_url}/queries/run/json",
        json={
            "model": "system__activity",
            "view": "scheduled_plan",
            "fields": ["scheduled_job.id", "scheduled_job.status"],
            "filters": {"scheduled_job.status": "success"},
            "sorts": ["scheduled_job.id desc"],
            "limit": "2",
        },
        timeout=10,
    )

    job_ids = [row["scheduled_job.id"] for row in answer.json()]
    assert len(job_ids) == 2
    assert job_ids == sorted(job_ids, reverse=True)


def test_system_activity_csv(looker_emulator):
    session = login(looker_emulator)

    answer = session.post(
        f"{looker_emulator.api_url}/queries/run/csv",
        json={"model": "system__activity", "view": "scheduled_plan", "fields": ["scheduled_plan.id"]},
        timeout=10,
    )

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "501" in answer.text


# ---- datagroups -------------------------------------------------------------------------------------


def test_all_datagroups(looker_emulator):
    session = login(looker_emulator)

    answer = session.get(f"{looker_emulator.api_url}/datagroups", timeout=10)

    assert [(item["id"], item["model_name"], item["name"]) for item in answer.json()] == [
        ("1", "thelook", "orders_datagroup"),
        ("2", "thelook", "daily"),
    ]


def test_datagroup_trigger_runs_bound_plans(looker_emulator):
    session = login(looker_emulator)
    now = int(time.time()) - 1

    answer = session.patch(
        f"{looker_emulator.api_url}/datagroups/1", json={"stale_before": now, "triggered_at": now}, timeout=10
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["triggered_at"] == now
    assert answer.json()["stale_before"] == now
    [delivery] = looker_emulator.deliveries
    assert delivery.plan_id == "502"
    assert delivery.source == "look"
    assert delivery.destination["type"] == "webhook"
    assert delivery.files[0].suffix == ".json"
    assert session.get(f"{looker_emulator.api_url}/datagroups/1", timeout=10).json()["triggered_at"] == now


def test_datagroup_without_plans_runs_nothing(looker_emulator):
    session = login(looker_emulator)

    answer = session.patch(
        f"{looker_emulator.api_url}/datagroups/2", json={"triggered_at": int(time.time()) - 1}, timeout=10
    )

    assert answer.status_code == 200
    assert looker_emulator.deliveries == []


def test_datagroup_stale_before_only_runs_nothing(looker_emulator):
    session = login(looker_emulator)

    answer = session.patch(
        f"{looker_emulator.api_url}/datagroups/1", json={"stale_before": int(time.time()) - 1}, timeout=10
    )

    assert answer.status_code == 200
    assert looker_emulator.deliveries == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"triggered_at": 4_000_000_000}, ["triggered_at"]),
        ({"stale_before": 4_000_000_000, "triggered_at": 1}, ["stale_before"]),
        ({"name": "x", "triggered_at": 1}, ["name"]),
        ({"colour": "red"}, ["colour"]),
        ({"triggered_at": "now"}, ["triggered_at"]),
        ({"triggered_at": True}, ["triggered_at"]),
        ({}, ["triggered_at"]),
    ],
)
def test_datagroup_patch_rejections(looker_emulator, body, fields):
    session = login(looker_emulator)

    answer = session.patch(f"{looker_emulator.api_url}/datagroups/1", json=body, timeout=10)

    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == fields
    assert looker_emulator.deliveries == []


def test_datagroup_future_message_names_server_time(looker_emulator):
    session = login(looker_emulator)

    answer = session.patch(f"{looker_emulator.api_url}/datagroups/1", json={"triggered_at": 4_000_000_000}, timeout=10)

    assert "future" in answer.json()["errors"][0]["message"]


def test_datagroup_unknown_id_is_404(looker_emulator):
    session = login(looker_emulator)

    answer = session.patch(f"{looker_emulator.api_url}/datagroups/99", json={"triggered_at": 1}, timeout=10)

    assert answer.status_code == 404


def test_reset_restores_datagroups(looker_emulator):
    session = login(looker_emulator)
    session.patch(f"{looker_emulator.api_url}/datagroups/1", json={"triggered_at": 1}, timeout=10)

    looker_emulator.reset()

    assert looker_emulator.content.datagroups["1"].triggered_at is None
    assert looker_emulator.deliveries == []
    assert looker_emulator.jobs == []


# ---- rate limit -------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    with make_emulator(tmp_path, run_once_rate_limit=2.0) as emulator:
        session = login(emulator)
        statuses = []
        for _ in range(3):
            answer = session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10)
            statuses.append(answer.status_code)

        assert statuses == [200, 200, 429]
        assert answer.headers["Retry-After"] == "1"
        assert "run_once" in answer.json()["message"]
        assert "documentation_url" in answer.json()

        by_id = session.post(f"{emulator.api_url}/scheduled_plans/501/run_once", timeout=10)
        assert by_id.status_code == 429

        time.sleep(1.0)
        assert session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10).status_code == 200

    assert len(emulator.deliveries) == 3


def test_rate_limit_off(tmp_path):
    with make_emulator(tmp_path, run_once_rate_limit=None) as emulator:
        session = login(emulator)
        statuses = {
            session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=10).status_code
            for _ in range(15)
        }

    assert statuses == {200}


def test_rate_limit_does_not_apply_to_reads(tmp_path):
    with make_emulator(tmp_path, run_once_rate_limit=1.0) as emulator:
        session = login(emulator)
        statuses = {session.get(f"{emulator.api_url}/dashboards/73", timeout=10).status_code for _ in range(5)}

    assert statuses == {200}
