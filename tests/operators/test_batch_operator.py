"""RunOncePlanBatchOperator against the Looker emulator: per-item results, failures, retries, pacing, one login."""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_compat import register_dags
from airflow_provider_looker_trigger.exceptions import LookerConfigurationError, LookerError, LookerPermissionError
from airflow_provider_looker_trigger.hooks.looker import LookerHook
from airflow_provider_looker_trigger.operators.batch import (
    STATUS_FAILED,
    STATUS_NOT_SENT,
    STATUS_SENT,
    STATUS_SENT_EARLIER,
    STATUS_UNKNOWN,
    RunOncePlanBatchOperator,
    _Pacer,
)
from airflow_provider_looker_trigger.operators.looker import plan_key
from airflow_provider_looker_trigger.testing import DEFAULT_PERMISSIONS, Fault

RUN_ID = "manual__2026-03-02T06:00:00+00:00"
REGIONS = ("California", "New York", "Texas", "Florida", "Washington")
EMAIL_PDF = {"type": "email", "format": "wysiwyg_pdf"}


def region_items(regions=REGIONS):
    return [
        {
            "name": f"Business Pulse {region}",
            "filters": {"State / Region": region},
            "destinations": [{"address": f"{region.lower().replace(' ', '-')}@example.com"}],
        }
        for region in regions
    ]


class FastBatchOperator(RunOncePlanBatchOperator):
    """The batch operator with a hook that backs off for milliseconds instead of seconds."""

    hook_clock = None

    def get_hook(self) -> LookerHook:
        kwargs = {"clock": self.hook_clock} if self.hook_clock else {}
        return LookerHook(self.looker_conn_id, backoff_factor=0.01, backoff_max=0.05, retry_after_max=2.0, **kwargs)


def make_operator(**kwargs):
    arguments = {
        "task_id": "deliver_regions",
        "dashboard_id": 73,
        "filters": {"Date": "90 days"},
        "destination_defaults": EMAIL_PDF,
        "deliveries": region_items(),
    }
    arguments.update(kwargs)
    return FastBatchOperator(**arguments)


class FakeTaskInstance(SimpleNamespace):
    """The task instance attributes the operator reads, and the XComs it pushes."""

    def xcom_push(self, key, value):
        self.xcoms[key] = value


def make_context(try_number=1, task_id="deliver_regions"):
    ti = FakeTaskInstance(
        dag_id="looker_batch", run_id=RUN_ID, task_id=task_id, map_index=-1, try_number=try_number, xcoms={}
    )
    return {"ti": ti, "task_instance": ti, "run_id": RUN_ID}


@pytest.fixture
def emulator(looker_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LOOKER_DEFAULT", looker_emulator.connection_json())
    return looker_emulator


def run_once_calls(emulator):
    return [call for call in emulator.calls if call.operation == "scheduled_plan_run_once"]


def delivered_names(emulator):
    return [delivery.plan["name"] for delivery in emulator.deliveries if delivery.status == "success"]


def operations(emulator):
    return Counter(call.operation for call in emulator.calls)


# ---------------------------------------------------------------------------------------------
# Every item delivered
# ---------------------------------------------------------------------------------------------


def test_batch_delivers_every_item(emulator):
    context = make_context()

    results = make_operator().execute(context)

    assert [result["status"] for result in results] == [STATUS_SENT] * len(REGIONS)
    assert sorted(delivery.filters["State / Region"] for delivery in emulator.deliveries) == sorted(REGIONS)
    assert {delivery.filters["Date"] for delivery in emulator.deliveries} == {"90 days"}
    assert len(set(delivered_names(emulator))) == len(REGIONS)


def test_batch_recipient_per_item(emulator):
    make_operator().execute(make_context())

    recipients = {delivery.filters["State / Region"]: delivery.destination["address"] for delivery in emulator.deliveries}
    assert recipients["New York"] == "new-york@example.com"
    assert recipients["Texas"] == "texas@example.com"


def test_batch_results_xcom(emulator):
    context = make_context()

    results = make_operator().execute(context)

    assert context["ti"].xcoms["results"] == results
    assert [result["index"] for result in results] == list(range(len(REGIONS)))
    assert all(result["error"] is None for result in results)
    plan_ids = {delivery.plan_id for delivery in emulator.deliveries}
    assert {result["plan_id"] for result in results} == plan_ids


def test_batch_plan_names_carry_item_key(emulator):
    results = make_operator().execute(make_context())

    key = plan_key("looker_batch", RUN_ID, "deliver_regions", -1)
    assert results[0]["name"] == f"Business Pulse California [airflow:{key}-0]"
    assert results[4]["name"] == f"Business Pulse Washington [airflow:{key}-4]"


def test_batch_one_login_one_logout(emulator):
    make_operator().execute(make_context())

    counts = operations(emulator)
    assert counts["login"] == 1
    assert counts["logout"] == 1
    assert emulator.calls[-1].operation == "logout"


def test_batch_reads_dashboard_once(emulator):
    make_operator().execute(make_context())

    assert operations(emulator)["dashboard"] == 1


def test_batch_content_link_xcom(emulator):
    context = make_context()

    make_operator().execute(context)

    assert context["ti"].xcoms["looker_content_url"] == f"{emulator.url}/dashboards/73"


def test_batch_item_overrides_content_and_options(emulator):
    deliveries = [
        {"filters": {"Brand": "Levi's"}, "destinations": [{"address": "brand@example.com"}]},
        {
            "look_id": 42,
            "filters": None,
            "destinations": [{"type": "email", "address": "look@example.com", "format": "csv"}],
            "timezone": "America/New_York",
        },
    ]
    operator = make_operator(deliveries=deliveries, filters=None, timezone="UTC")

    operator.execute(make_context())

    by_source = {delivery.source: delivery for delivery in emulator.deliveries}
    assert by_source["dashboard"].plan["timezone"] == "UTC"
    assert by_source["look"].plan["timezone"] == "America/New_York"
    assert by_source["look"].plan["look_id"] == "42"


def test_batch_filters_merge_item_wins(emulator):
    deliveries = [{"filters": {"Date": "7 days", "Brand": "Carhartt"}, "destinations": [{"address": "a@example.com"}]}]

    make_operator(deliveries=deliveries).execute(make_context())

    (delivery,) = emulator.deliveries
    assert delivery.filters == {"Date": "7 days", "Brand": "Carhartt"}


def test_batch_shared_destinations(emulator):
    deliveries = [{"filters": {"Brand": brand}} for brand in ("Levi's", "Carhartt")]
    operator = make_operator(
        deliveries=deliveries,
        destinations=[{"type": "email", "address": "brands@example.com", "format": "wysiwyg_pdf"}],
        destination_defaults=None,
    )

    operator.execute(make_context())

    assert [delivery.destination["address"] for delivery in emulator.deliveries] == ["brands@example.com"] * 2


def test_batch_s3_secret_not_in_results(emulator, monkeypatch):
    secret = "batch-s3-secret-Zq81/xv"
    aws = {"conn_type": "aws", "login": "AKIABATCH", "password": secret, "extra": {"region_name": "us-east-1"}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS", json.dumps(aws))
    deliveries = [
        {"destinations": [{"type": "s3", "address": "s3://reports/pulse/", "format": "csv_zip", "aws_conn_id": "aws_reports"}]},
        {"look_id": 999999, "destinations": [{"type": "s3", "address": "s3://reports/x/", "format": "csv", "aws_conn_id": "aws_reports"}]},
    ]
    context = make_context()

    with pytest.raises(LookerError) as raised:
        make_operator(deliveries=deliveries, filters=None).execute(context)

    assert secret not in json.dumps(context["ti"].xcoms["results"])
    assert secret not in str(raised.value)
    assert len(emulator.deliveries) == 1


# ---------------------------------------------------------------------------------------------
# Partial failure
# ---------------------------------------------------------------------------------------------


def partial_failure_items():
    items = region_items(("California", "New York", "Texas", "Florida"))
    # Dashboard 999 does not exist, so Looker returns 404 to its run_once and delivers nothing.
    items.insert(2, {"name": "Missing dashboard", "dashboard_id": 999, "destinations": [{"address": "x@example.com"}]})
    return items


def test_partial_failure_others_delivered(emulator):
    operator = make_operator(deliveries=partial_failure_items(), filters=None)

    with pytest.raises(LookerError):
        operator.execute(make_context())

    assert sorted(delivery.filters["State / Region"] for delivery in emulator.deliveries) == sorted(
        ("California", "New York", "Texas", "Florida")
    )


def test_partial_failure_message_lists_item(emulator):
    operator = make_operator(deliveries=partial_failure_items(), filters=None)

    with pytest.raises(LookerError) as raised:
        operator.execute(make_context())

    message = str(raised.value)
    assert "1 of 5 Looker deliveries failed" in message
    assert "deliveries[2] 'Missing dashboard" in message
    assert "not delivered" in message
    assert "404" in message


def test_partial_failure_results_xcom(emulator):
    context = make_context()
    operator = make_operator(deliveries=partial_failure_items(), filters=None)

    with pytest.raises(LookerError):
        operator.execute(context)

    results = context["ti"].xcoms["results"]
    assert [result["status"] for result in results] == [STATUS_SENT, STATUS_SENT, STATUS_FAILED, STATUS_SENT, STATUS_SENT]
    assert results[2]["plan_id"] is None
    assert "404" in results[2]["error"]


def test_partial_failure_logout(emulator):
    operator = make_operator(deliveries=partial_failure_items(), filters=None)

    with pytest.raises(LookerError):
        operator.execute(make_context())

    assert operations(emulator)["logout"] == 1


def test_unknown_outcome_item(emulator):
    # Looker handles (so delivers) the second run_once but returns 500, so the task cannot know the outcome.
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(2,), status=500, after_handling=True))
    context = make_context()

    with pytest.raises(LookerError) as raised:
        make_operator(max_concurrency=1).execute(context)

    results = context["ti"].xcoms["results"]
    assert [result["status"] for result in results].count(STATUS_UNKNOWN) == 1
    assert results[1]["status"] == STATUS_UNKNOWN
    assert "may or may not have delivered items 1" in str(raised.value)
    assert len(emulator.deliveries) == len(REGIONS)


def test_rejected_item_422(emulator):
    # Looker rejects the third request with 422 before handling it, so nothing is delivered for it.
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(3,), status=422))
    context = make_context()

    with pytest.raises(LookerError):
        make_operator(max_concurrency=1).execute(context)

    results = context["ti"].xcoms["results"]
    assert results[2]["status"] == STATUS_FAILED
    assert len(emulator.deliveries) == len(REGIONS) - 1


def test_login_rejected_mid_batch_stops_sending(emulator):
    # The token is revoked on the third run_once, and every later login is rejected.
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(3,), expire_token=True))
    emulator.add_fault(Fault("login", calls=tuple(range(2, 50)), status=404))
    context = make_context()

    with pytest.raises(LookerError):
        make_operator(deliveries=region_items(REGIONS * 2), max_concurrency=1).execute(context)

    statuses = [result["status"] for result in context["ti"].xcoms["results"]]
    assert statuses == [STATUS_SENT, STATUS_SENT, STATUS_FAILED] + [STATUS_NOT_SENT] * 7
    assert operations(emulator)["login"] == 2


def test_login_rejected_sends_nothing(emulator, capfd):
    emulator.client_secret = "another-secret"

    with pytest.raises(LookerError) as raised:
        make_operator().execute(make_context())

    assert run_once_calls(emulator) == []
    assert "Nothing was delivered" in str(raised.value)
    assert "None of the 5 deliveries was sent" in capfd.readouterr().out


def test_stopped_batch_sends_nothing(emulator):
    operator = make_operator()
    operator.on_kill()
    context = make_context()

    with pytest.raises(LookerError, match="not sent"):
        operator.execute(context)

    assert {result["status"] for result in context["ti"].xcoms["results"]} == {STATUS_NOT_SENT}
    assert run_once_calls(emulator) == []


# ---------------------------------------------------------------------------------------------
# Retries: items an earlier try sent are not sent again
# ---------------------------------------------------------------------------------------------


def test_retry_sends_only_failed_items(emulator):
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(2, 4), status=422))
    with pytest.raises(LookerError):
        make_operator(max_concurrency=1).execute(make_context(try_number=1))

    second = make_context(try_number=2)
    results = make_operator(max_concurrency=1).execute(second)

    assert [result["status"] for result in results] == [
        STATUS_SENT_EARLIER,
        STATUS_SENT,
        STATUS_SENT_EARLIER,
        STATUS_SENT,
        STATUS_SENT_EARLIER,
    ]
    assert len(run_once_calls(emulator)) == len(REGIONS) + 2
    names = delivered_names(emulator)
    assert sorted(names) == sorted(set(names))
    assert len(names) == len(REGIONS)


def test_retry_keeps_plan_ids_of_earlier_items(emulator):
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(1,), status=422))
    first = make_context(try_number=1)
    with pytest.raises(LookerError):
        make_operator(max_concurrency=1).execute(first)

    results = make_operator(max_concurrency=1).execute(make_context(try_number=2))

    earlier = {result["index"]: result["plan_id"] for result in first["ti"].xcoms["results"]}
    assert results[3]["plan_id"] == earlier[3]


def test_retry_skips_unknown_outcome_that_delivered(emulator):
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(2,), drop="after"))
    with pytest.raises(LookerError):
        make_operator(max_concurrency=1).execute(make_context(try_number=1))

    results = make_operator(max_concurrency=1).execute(make_context(try_number=2))

    assert results[1]["status"] == STATUS_SENT_EARLIER
    assert len(delivered_names(emulator)) == len(REGIONS)


def test_retry_resends_item_whose_job_failed(emulator):
    emulator.set_outcome("Business Pulse Texas", "failure", "SMTP server rejected the message")
    make_operator().execute(make_context(try_number=1))
    emulator.clear_outcomes()

    results = make_operator().execute(make_context(try_number=2))

    assert results[2]["status"] == STATUS_SENT
    assert [result["status"] for result in results].count(STATUS_SENT_EARLIER) == len(REGIONS) - 1


def test_retry_with_running_job_not_resent(emulator):
    emulator.job_delay = 30.0
    make_operator().execute(make_context(try_number=1))

    results = make_operator().execute(make_context(try_number=2))

    assert {result["status"] for result in results} == {STATUS_SENT_EARLIER}
    assert len(run_once_calls(emulator)) == len(REGIONS)


def test_retry_many_items_reads_per_item(emulator):
    # 60 plans have more jobs than the 50 rows one System Activity query returns, so each item is read alone.
    emulator.run_once_rate_limit = None
    items = [{"filters": {"Brand": "Levi's"}, "destinations": [{"address": f"r{i}@example.com"}]} for i in range(60)]
    make_operator(deliveries=items, rate_limit=1000, max_concurrency=8).execute(make_context(try_number=1))

    results = make_operator(deliveries=items, rate_limit=1000, max_concurrency=8).execute(make_context(try_number=2))

    assert {result["status"] for result in results} == {STATUS_SENT_EARLIER}
    assert operations(emulator)["run_inline_query"] == 1 + 60
    assert len(run_once_calls(emulator)) == 60


def test_retry_without_system_activity_fails(emulator):
    emulator.permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}
    make_operator().execute(make_context(try_number=1))

    with pytest.raises(LookerPermissionError) as raised:
        make_operator().execute(make_context(try_number=2))

    assert "on_unverified_retry='send'" in str(raised.value)
    assert "Nothing was sent in this try" in str(raised.value)
    assert "Nothing was delivered" not in str(raised.value)
    assert "see_system_activity" in str(raised.value)
    assert len(run_once_calls(emulator)) == len(REGIONS)


def test_retry_without_system_activity_logs_out(emulator):
    emulator.permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}

    with pytest.raises(LookerError):
        make_operator().execute(make_context(try_number=2))

    counts = operations(emulator)
    assert counts["login"] == counts["logout"] == 1


def test_retry_without_system_activity_send(emulator, capfd):
    emulator.permissions = DEFAULT_PERMISSIONS - {"see_system_activity"}
    make_operator().execute(make_context(try_number=1))

    results = make_operator(on_unverified_retry="send").execute(make_context(try_number=2))

    assert {result["status"] for result in results} == {STATUS_SENT}
    assert len(delivered_names(emulator)) == 2 * len(REGIONS)
    assert "delivered twice" in capfd.readouterr().out


def test_retry_unchecked_sends_again(emulator):
    make_operator().execute(make_context(try_number=1))

    results = make_operator(check_earlier_tries=False).execute(make_context(try_number=2))

    assert {result["status"] for result in results} == {STATUS_SENT}
    assert operations(emulator)["run_inline_query"] == 0
    assert len(delivered_names(emulator)) == 2 * len(REGIONS)


def test_first_try_reads_no_system_activity(emulator):
    make_operator().execute(make_context(try_number=1))

    assert operations(emulator)["run_inline_query"] == 0


# ---------------------------------------------------------------------------------------------
# A real retry with dag.test()
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("airflow_db")
def test_dag_retry_sends_only_failed_items(emulator):
    from airflow.providers.common.compat.sdk import DAG

    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(3,), status=422))
    with DAG(f"looker_batch_retry_{uuid.uuid4().hex[:8]}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        make_operator(max_concurrency=1, retries=1, retry_delay=datetime.timedelta(0))
    register_dags(dag)

    run = dag.test()

    (ti,) = run.get_task_instances()
    assert ti.state == "success"
    assert ti.try_number == 2
    assert len(run_once_calls(emulator)) == len(REGIONS) + 1
    names = delivered_names(emulator)
    assert len(names) == len(set(names)) == len(REGIONS)


# ---------------------------------------------------------------------------------------------
# Pacing and concurrency
# ---------------------------------------------------------------------------------------------


def test_pacing_spreads_requests(emulator):
    # Jobs run after the response, so each call is recorded when it arrives, not after rendering.
    emulator.job_delay = 0.05
    make_operator(deliveries=region_items(REGIONS * 2), rate_limit=5).execute(make_context())

    calls = run_once_calls(emulator)
    times = [call.time for call in calls]
    assert len(times) == 10
    # Ten starts 0.2 s apart span 1.8 s.
    assert (max(times) - min(times)).total_seconds() >= 1.7
    assert [call.status for call in calls] == [200] * 10


def test_pacing_default_no_429(emulator):
    emulator.job_delay = 0.05
    items = region_items(REGIONS * 4)

    make_operator(deliveries=items, max_concurrency=10).execute(make_context())

    statuses = Counter(call.status for call in run_once_calls(emulator))
    assert statuses == {200: 20}


def test_pacer_even_spacing():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 6))

    pacer = _Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pacer.wait()

    assert slept == [0.25, 0.5, 0.75]


def test_pacer_no_wait_after_idle():
    now = [0.0]
    slept = []
    pacer = _Pacer(2.0, clock=lambda: now[0], sleep=slept.append)

    pacer.wait()
    now[0] = 10.0
    pacer.wait()

    assert slept == []


def test_concurrency_uses_threads(emulator):
    emulator.add_fault(Fault("scheduled_plan_run_once", delay=0.3))

    make_operator(deliveries=region_items(REGIONS * 2), rate_limit=1000, max_concurrency=5).execute(make_context())

    # Each response is held 0.3 s after Looker handled the request. One thread would space the handled
    # times 0.3 s apart (2.7 s in all), but five threads send five requests at a time.
    times = [call.time for call in run_once_calls(emulator)]
    assert (max(times) - min(times)).total_seconds() < 1.2


def test_token_refresh_one_login(emulator):
    """Threads that find the token expired together make one login, not one each."""

    def clock():
        # Once Looker has handled the first run_once, the hook's clock is two hours on: its token has expired.
        handled = any(call.operation == "scheduled_plan_run_once" for call in emulator.calls)
        return time.monotonic() + (7200 if handled else 0)

    # Each response takes 0.3 s, so the ten threads come back together and find the token expired at once.
    emulator.add_fault(Fault("scheduled_plan_run_once", delay=0.3))
    # A slow second login leaves time for every other thread to try logging in too, were it not locked.
    emulator.add_fault(Fault("login", calls=(2, 3, 4, 5, 6, 7, 8, 9, 10, 11), delay=0.2))
    operator = make_operator(deliveries=region_items(REGIONS * 4), rate_limit=1000, max_concurrency=10)
    operator.hook_clock = clock

    results = operator.execute(make_context())

    assert {result["status"] for result in results} == {STATUS_SENT}
    assert operations(emulator)["login"] == 2


def test_token_revoked_mid_batch(emulator):
    emulator.add_fault(Fault("scheduled_plan_run_once", calls=(4,), expire_token=True))

    results = make_operator(deliveries=region_items(REGIONS * 2)).execute(make_context())

    assert {result["status"] for result in results} == {STATUS_SENT}
    names = delivered_names(emulator)
    assert len(names) == len(set(names)) == 10
    assert operations(emulator)["logout"] == 1


# ---------------------------------------------------------------------------------------------
# Checks before any request
# ---------------------------------------------------------------------------------------------


def test_invalid_items_listed_together(emulator):
    items = region_items()
    items[1]["filters"] = {"State / Region": ""}
    items[3]["destinations"] = [{"address": "not-an-address"}]

    with pytest.raises(LookerConfigurationError) as raised:
        make_operator(deliveries=items)

    message = str(raised.value)
    assert "2 problem(s) in the 5 deliveries" in message
    assert "deliveries[1] ('Business Pulse New York')" in message
    assert "deliveries[3] ('Business Pulse Florida')" in message
    assert "'not-an-address'" in message


def test_invalid_templated_items_before_request(emulator):
    items = region_items()
    items[0]["filters"] = {"State / Region": "{{ params.region }}"}
    items[2]["timezone"] = "{{ params.timezone }}"
    operator = make_operator(deliveries=items)
    context = {**make_context(), "params": {"region": "", "timezone": "Mars/Olympus"}}
    operator.render_template_fields(context)

    with pytest.raises(LookerConfigurationError) as raised:
        operator.execute(context)

    assert "deliveries[0] ('Business Pulse California')" in str(raised.value)
    assert "deliveries[2] ('Business Pulse Texas')" in str(raised.value)
    assert "'Mars/Olympus'" in str(raised.value)
    assert emulator.calls == []


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param({"filter": {"Brand": "x"}}, "did you mean 'filters'", id="misspelled-key"),
        pytest.param({"scheduled_plan_id": 501}, "use RunOncePlanOperator with scheduled_plan_id", id="plan-id"),
        pytest.param({"look_id": 42, "dashboard_id": 73}, "Two or more content sources", id="two-sources"),
        pytest.param({"destinations": [{"address": "a@example.com", "format": "csv"}]}, "Format 'csv'", id="format"),
        pytest.param({"send_all_results": True}, "send_all_results", id="send-all-results"),
        pytest.param({"name": "  "}, "Invalid name", id="blank-name"),
    ],
)
def test_invalid_item_named(emulator, item, expected):
    items = region_items(("Texas",)) + [{"destinations": [{"address": "b@example.com"}], **item}]

    with pytest.raises(LookerConfigurationError, match=re.escape(expected)) as raised:
        make_operator(deliveries=items)

    assert "deliveries[1]" in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"deliveries": []}, "Invalid deliveries []", id="empty"),
        pytest.param({"deliveries": {"filters": {}}}, "give a non-empty list of dicts", id="dict"),
        pytest.param({"deliveries": ["Texas"]}, "deliveries[0] is 'Texas'", id="not-dict"),
        pytest.param({"max_concurrency": 0}, "Invalid max_concurrency 0", id="concurrency-0"),
        pytest.param({"max_concurrency": 11}, "from 1 to 10", id="concurrency-11"),
        pytest.param({"max_concurrency": 2.5}, "Invalid max_concurrency 2.5", id="concurrency-float"),
        pytest.param({"rate_limit": 0}, "Invalid rate_limit 0", id="rate-0"),
        pytest.param({"rate_limit": -1}, "Invalid rate_limit -1", id="rate-negative"),
        pytest.param({"rate_limit": "fast"}, "Invalid rate_limit 'fast'", id="rate-text"),
        pytest.param({"on_unverified_retry": "skip"}, "Invalid on_unverified_retry 'skip'", id="unverified"),
        pytest.param({"destination_defaults": {"adress": "x"}}, "unknown key(s) 'adress'", id="defaults-key"),
        pytest.param({"timezone": "Mars/Olympus"}, "Unknown timezone 'Mars/Olympus'", id="shared-timezone"),
        pytest.param({"filters": {"Date": ""}}, "empty value", id="shared-filter"),
    ],
)
def test_invalid_operator_arguments(kwargs, expected):
    with pytest.raises(LookerConfigurationError, match=re.escape(expected)):
        make_operator(**kwargs)


def test_no_destinations_named(emulator):
    items = [{"filters": {"Brand": "Levi's"}}]

    with pytest.raises(LookerConfigurationError, match=r"deliveries\[0\]: no destinations"):
        make_operator(deliveries=items, destination_defaults=None)


def test_unknown_filter_name_before_run_once(emulator):
    items = region_items()
    items[2]["filters"] = {"Region": "Texas"}

    with pytest.raises(LookerConfigurationError) as raised:
        make_operator(deliveries=items).execute(make_context())

    assert "deliveries[2]" in str(raised.value)
    assert "did you mean 'State / Region'" in str(raised.value)
    assert run_once_calls(emulator) == []
    assert operations(emulator)["logout"] == 1


def test_missing_aws_connection_before_request(emulator):
    items = [{"destinations": [{"type": "s3", "address": "s3://reports/x/", "format": "csv_zip"}]}]

    with pytest.raises(LookerConfigurationError, match="needs aws_conn_id"):
        make_operator(deliveries=items, destination_defaults=None).execute(make_context())

    assert emulator.calls == []


def test_rendered_deliveries_not_list(emulator):
    # A Jinja template renders to a string unless the DAG renders templates as native objects.
    operator = make_operator(deliveries="{{ params.regions }}")
    context = {**make_context(), "params": {"regions": region_items()}}
    operator.render_template_fields(context)

    with pytest.raises(LookerConfigurationError) as raised:
        operator.execute(context)

    assert "Invalid deliveries" in str(raised.value)
    assert "non-empty list of dicts" in str(raised.value)
    assert emulator.calls == []


def test_module_import_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import airflow_provider_looker_trigger.operators.batch\n"
        "print('requests' in sys.modules, 'airflow_provider_looker_trigger.hooks.looker' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()

    assert output[-1] == "False"


# ---------------------------------------------------------------------------------------------
# The example DAGs
# ---------------------------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "looker_many_deliveries.py"


@pytest.fixture
def example(emulator):
    spec = importlib.util.spec_from_file_location("looker_many_deliveries_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("airflow_db")
def test_example_batch_dag(example, emulator):
    register_dags(example.batch_dag)

    run = example.batch_dag.test()

    assert run.state == "success"
    delivered = {delivery.filters["State / Region"]: delivery.destination["address"] for delivery in emulator.deliveries}
    assert delivered == example.RECIPIENTS
    assert operations(emulator)["login"] == 1


@pytest.mark.usefixtures("airflow_db")
def test_example_mapped_dag(example, emulator):
    register_dags(example.mapped_dag)

    run = example.mapped_dag.test()

    assert run.state == "success"
    delivered = {delivery.filters["State / Region"]: delivery.destination["address"] for delivery in emulator.deliveries}
    assert delivered == example.RECIPIENTS
    names = {delivery.plan["name"].split(" [")[0] for delivery in emulator.deliveries}
    assert names == {f"Business Pulse, {region}" for region in example.RECIPIENTS}
