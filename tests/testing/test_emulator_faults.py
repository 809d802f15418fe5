"""Looker emulator: injected faults on chosen operations and call numbers, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_looker_trigger.testing import Fault, LookerEmulator

PLAN = {
    "name": "Orders digest",
    "dashboard_id": "73",
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


def run_once(emulator: LookerEmulator, session: requests.Session, timeout: float = 10) -> requests.Response:
    return session.post(f"{emulator.api_url}/scheduled_plans/run_once", json=PLAN, timeout=timeout)


def test_503_with_retry_after_on_first_call(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), status=503, retry_after="2"))
    session = login(looker_emulator)

    first = run_once(looker_emulator, session)
    second = run_once(looker_emulator, session)

    assert first.status_code == 503
    assert first.headers["Retry-After"] == "2"
    assert "message" in first.json()
    assert second.status_code == 200
    assert len(looker_emulator.deliveries) == 1


def test_429_without_retry_after(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), status=429))
    session = login(looker_emulator)

    answer = run_once(looker_emulator, session)

    assert answer.status_code == 429
    assert "Retry-After" not in answer.headers
    assert looker_emulator.deliveries == []


@pytest.mark.parametrize("status", [500, 502, 504])
def test_html_error_page(looker_emulator, status):
    looker_emulator.add_fault(Fault("me", status=status, html=True))
    session = login(looker_emulator)

    answer = session.get(f"{looker_emulator.api_url}/user", timeout=10)

    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError):
        answer.json()


def test_drop_before_handling(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), drop="before"))
    session = login(looker_emulator)

    with pytest.raises(requests.ConnectionError):
        run_once(looker_emulator, session)

    assert looker_emulator.deliveries == []
    assert looker_emulator.calls[-1].status == 0
    assert run_once(looker_emulator, session).status_code == 200


def test_drop_after_handling_still_delivers(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), drop="after"))
    session = login(looker_emulator)

    with pytest.raises(requests.ConnectionError):
        run_once(looker_emulator, session)

    assert len(looker_emulator.deliveries) == 1


def test_read_timeout_after_handling(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), drop="after", stall=1.0))
    session = login(looker_emulator)

    with pytest.raises(requests.ReadTimeout):
        run_once(looker_emulator, session, timeout=0.3)

    assert len(looker_emulator.deliveries) == 1


def test_error_status_after_handling(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), status=500, after_handling=True))
    session = login(looker_emulator)

    answer = run_once(looker_emulator, session)

    assert answer.status_code == 500
    assert len(looker_emulator.deliveries) == 1


def test_slow_response(looker_emulator):
    looker_emulator.add_fault(Fault("dashboard", delay=0.4))
    session = login(looker_emulator)

    started = time.monotonic()
    answer = session.get(f"{looker_emulator.api_url}/dashboards/73", timeout=10)

    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.4


def test_token_expires_mid_task(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(2,), expire_token=True))
    session = login(looker_emulator)

    first = run_once(looker_emulator, session)
    second = run_once(looker_emulator, session)
    retried = run_once(looker_emulator, login(looker_emulator))

    assert first.status_code == 200
    assert second.status_code == 401
    assert retried.status_code == 200
    assert len(looker_emulator.deliveries) == 2


def test_malformed_json(looker_emulator):
    looker_emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), malformed_json=True))
    session = login(looker_emulator)

    answer = run_once(looker_emulator, session)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        answer.json()
    assert len(looker_emulator.deliveries) == 1


def test_fault_times_limit_on_any_operation(looker_emulator):
    fault = looker_emulator.add_fault(Fault("*", times=2, status=502))

    statuses = [requests.get(f"{looker_emulator.api_url}/versions", timeout=10).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert fault.hits == 2


def test_fault_rejects_unknown_drop():
    with pytest.raises(ValueError, match="drop"):
        Fault("login", drop="sometimes")


def test_reset_clears_faults(looker_emulator):
    looker_emulator.add_fault(Fault("versions", status=500))

    looker_emulator.reset()

    assert requests.get(f"{looker_emulator.api_url}/versions", timeout=10).status_code == 200
