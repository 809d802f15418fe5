"""A Looker API 4.0 emulator for demos and tests: an HTTP server on 127.0.0.1 with in-memory state.

Example::

    with LookerEmulator(outbox=tmp_path / "outbox", seed_demo_data=True) as emulator:
        os.environ["AIRFLOW_CONN_LOOKER_DEFAULT"] = emulator.connection_uri()
        ...
        assert emulator.deliveries[0].status == "success"

The emulator never opens an outgoing connection: deliveries become files in the outbox.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import json
import logging
import math
import secrets
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import warehouse as demo_warehouse
from .api import ApiHandlers
from .content import Content, demo_content
from .execution import ContentNotFound, PlanRejected, prepare_run
from .faults import Fault, FaultSet
from .jobs import JobRunner
from .outbox import Outbox
from .records import REDACTED, Call, Delivery, Job, redact
from .resources import PlanRecord, datagroup_json
from .routes import ApiCall, ApiError, match_route
from .server import LOOPBACK, EmulatorHTTPServer, Request, Response
from .system_activity import PERMISSION as SEE_SYSTEM_ACTIVITY

log = logging.getLogger(__name__)

DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"

DEFAULT_PERMISSIONS = frozenset(
    {
        "access_data",
        "see_looks",
        "see_user_dashboards",
        "see_lookml_dashboards",
        "explore",
        "see_schedules",
        "schedule_look_emails",
        "schedule_external_look_emails",
        "send_outgoing_webhook",
        "send_to_s3",
        "send_to_sftp",
        "send_to_integration",
        "see_datagroups",
        "update_datagroups",
        SEE_SYSTEM_ACTIVITY,
    }
)

INTROSPECTION_PREFIX = "/__emulator__/"

# Ids of plans, destinations and jobs the emulator creates start here, clear of the demo ids.
FIRST_PLAN_ID = 1001
FIRST_DESTINATION_ID = 5001
FIRST_JOB_ID = 9001

OutcomeMatch = Callable[[dict[str, Any]], bool] | str


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class LookerEmulator(ApiHandlers, JobRunner):
    """An in-process Looker API 4.0 server for tests and demos; see the module docstring.

    ``warehouse`` is the SQLite file the content queries read; when it is None the emulator uses
    ``outbox/warehouse.sqlite``. ``seed_demo_data`` loads 120 days of demo orders ending today into it.
    ``run_once_rate_limit`` is in calls per second across both run_once endpoints (None turns it off).
    ``job_delay`` is the number of seconds a job stays "running" (0 finishes it within the request).
    ``now`` returns the current aware datetime and drives token expiry, timestamps and relative dates.
    """

    def __init__(
        self,
        outbox: Path | str,
        warehouse: Path | str | None = None,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_lifetime: int = 3600,
        run_once_rate_limit: float | None = 10.0,
        job_delay: float = 0.0,
        permissions: frozenset[str] = DEFAULT_PERMISSIONS,
        now: Callable[[], datetime.datetime] | None = None,
        content: Content | None = None,
        seed_demo_data: bool = False,
        port: int = 0,
    ) -> None:
        if run_once_rate_limit is not None and run_once_rate_limit <= 0:
            raise ValueError(f"run_once_rate_limit must be positive or None, got {run_once_rate_limit}")
        if job_delay < 0:
            raise ValueError(f"job_delay must not be negative, got {job_delay}")
        self.outbox = Outbox(Path(outbox))
        self.warehouse = Path(warehouse) if warehouse is not None else self.outbox.root / "warehouse.sqlite"
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.run_once_rate_limit = run_once_rate_limit
        self.job_delay = job_delay
        self.permissions = frozenset(permissions)
        self.now = now or _utc_now
        self.content = content if content is not None else demo_content()
        self.faults = FaultSet()
        self.port = port

        demo_warehouse.create_schema(self.warehouse)
        if seed_demo_data:
            demo_warehouse.load_demo_orders(self.warehouse, end_date=self._now().date())

        self._lock = threading.RLock()
        self._jobs_changed = threading.Condition(self._lock)
        self._initial_datagroups = copy.deepcopy(self.content.datagroups)
        self._outcomes: list[tuple[Callable[[dict[str, Any]], bool], str, str | None]] = []
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        self._reset_state()

    # ---- lifecycle --------------------------------------------------------------------------------

    def start(self) -> LookerEmulator:
        """Start serving on 127.0.0.1 in a background thread and return self."""
        if self._server is not None:
            raise RuntimeError(f"the Looker emulator is already running at {self.url}")
        self._server = EmulatorHTTPServer(self.port, self._dispatch)
        self.port = self._server.server_address[1]
        # A short poll interval keeps stop() fast; shutdown() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"looker-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("Looker emulator listening at %s, outbox %s", self.url, self.outbox.root)
        return self

    def stop(self) -> None:
        """Stop serving and cancel jobs that have not finished; their status stays "running"."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("Looker emulator at %s stopped", self.url)
        self._server = None
        self._thread = None

    def __enter__(self) -> LookerEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/4.0"

    def connection_uri(self, conn_type: str = "looker") -> str:
        """Return an Airflow connection URI: host ``http://127.0.0.1``, the port, and the API credentials."""
        login = urllib.parse.quote(self.client_id, safe="")
        password = urllib.parse.quote(self.client_secret, safe="")
        return f"{conn_type}://http://{login}:{password}@{LOOPBACK}:{self.port}"

    def connection_json(self, conn_type: str = "looker") -> str:
        """Return the JSON form of the Airflow connection, for an ``AIRFLOW_CONN_<ID>`` variable."""
        return json.dumps(
            {
                "conn_type": conn_type,
                "host": f"http://{LOOPBACK}",
                "port": self.port,
                "login": self.client_id,
                "password": self.client_secret,
            }
        )

    # ---- recorded state ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return [copy.copy(job) for job in self._jobs.values()]

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token issued since the start or the last reset, so a test can search logs for leaks."""
        with self._lock:
            return list(self._issued_tokens)

    def plan(self, plan_id: str) -> dict[str, Any] | None:
        """Return a stored plan's writable fields as the client sent them, or None."""
        with self._lock:
            record = self._plans.get(str(plan_id))
            return copy.deepcopy(record.body) if record else None

    def add_plan(self, plan_id: str, body: dict[str, Any]) -> None:
        """Store a saved plan that run_once by id and datagroup triggers can use."""
        with self._lock:
            self.content.plans[str(plan_id)] = copy.deepcopy(body)
            self._plans[str(plan_id)] = self._saved_plan_record(str(plan_id), copy.deepcopy(body))

    def reset(self) -> None:
        """Forget calls, deliveries, jobs, tokens, run-once plans and outcomes; restore datagroups and saved plans."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        with self._lock:
            self.content.datagroups.clear()
            self.content.datagroups.update(copy.deepcopy(self._initial_datagroups))
            self._outcomes.clear()
            self.faults.clear()
            self._reset_state()

    def _reset_state(self) -> None:
        with self._lock:
            self._calls: list[Call] = []
            self._deliveries: list[Delivery] = []
            self._jobs: dict[str, Job] = {}
            self._tokens: dict[str, datetime.datetime] = {}
            self._issued_tokens: list[str] = []
            self._call_counts: Counter[str] = Counter()
            self._plan_ids = itertools.count(FIRST_PLAN_ID)
            self._destination_ids = itertools.count(FIRST_DESTINATION_ID)
            self._job_ids = itertools.count(FIRST_JOB_ID)
            self._bucket_level = float(self._bucket_capacity())
            self._bucket_time = time.monotonic()
            self._plans: dict[str, PlanRecord] = {
                plan_id: self._saved_plan_record(plan_id, copy.deepcopy(body))
                for plan_id, body in self.content.plans.items()
            }
            self.outbox.clear_logs()

    def _saved_plan_record(self, plan_id: str, body: dict[str, Any]) -> PlanRecord:
        # Saved plans get destination ids derived from the plan id, so they stay the same across resets.
        destination_count = len(body.get("scheduled_plan_destination") or [])
        destination_ids = [f"{plan_id}{index + 1:02d}" for index in range(destination_count)]
        created = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
        return PlanRecord(plan_id, body, created, destination_ids, title=self._content_title(body))

    def _content_title(self, body: dict[str, Any]) -> str | None:
        if body.get("look_id") and body["look_id"] in self.content.looks:
            return self.content.looks[body["look_id"]].title
        for key in ("dashboard_id", "lookml_dashboard_id"):
            if body.get(key) and body[key] in self.content.dashboards:
                return self.content.dashboards[body[key]].title
        return None

    # ---- outcomes and waiting ---------------------------------------------------------------------

    def set_outcome(self, match: OutcomeMatch, status: str = "failure", detail: str | None = None) -> None:
        """Make jobs of matching plans end with ``status`` ("success" or "failure") and ``detail``.

        ``match`` is a callable that gets the plan body, or a substring of the plan name. The rule
        added last wins when several match.
        """
        if status not in ("success", "failure"):
            raise ValueError(f"status must be 'success' or 'failure', got {status!r}")
        if isinstance(match, str):
            needle = match

            def predicate(plan: dict[str, Any]) -> bool:
                return needle in (plan.get("name") or "")

        else:
            predicate = match
        with self._lock:
            self._outcomes.append((predicate, status, detail))

    def clear_outcomes(self) -> None:
        with self._lock:
            self._outcomes.clear()

    def add_fault(self, fault: Fault) -> Fault:
        """Inject a fault into matching calls; see :class:`Fault`."""
        return self.faults.add(fault)

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        """Block until every job has finished; return False when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._jobs_changed:
            while any(not job.finished for job in self._jobs.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._jobs_changed.wait(remaining)
        return True

    # ---- dispatch ---------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        """Handle one request: the single place every API call goes through."""
        if request.path.startswith(INTROSPECTION_PREFIX):
            return self._introspect(request)
        route, params, path_exists = match_route(request.method, request.path)
        operation = route.operation if route else "unknown"
        with self._lock:
            self._call_counts[operation] += 1
            call = ApiCall(request, operation, self._call_counts[operation], params)

        response = self._before_handle(call)
        if response is None:
            response = self._handle(call, route, path_exists)
        response = self._after_handle(call, response)
        self._record_call(call, response)
        return response

    def _before_handle(self, call: ApiCall) -> Response | None:
        """Return a response that replaces handling (an injected fault), or None to handle the call."""
        return self.faults.before_handle(call, self)

    def _after_handle(self, call: ApiCall, response: Response) -> Response:
        """Return the response to send; an injected fault may replace or alter the handled one."""
        return self.faults.after_handle(call, response, self)

    def _handle(self, call: ApiCall, route: Any, path_exists: bool) -> Response:
        try:
            if route is None:
                if path_exists:
                    raise ApiError(405, f"Method {call.request.method} is not allowed on {call.request.path}")
                raise ApiError(404, f"Not found: {call.request.method} {call.request.path}", topic="not-found")
            if route.auth:
                call.token = self._authenticate(call.request)
            return getattr(self, route.handler)(call)
        except ApiError as error:
            log.info(
                "Looker emulator %s %s (%s call %d) -> %d: %s",
                call.request.method,
                call.request.path,
                call.operation,
                call.call_number,
                error.status,
                error.message,
            )
            return self.error_response(error)
        except Exception as error:  # A bug in the emulator must still produce a response.
            log.exception("Looker emulator failed on %s %s", call.request.method, call.request.path)
            return self.error_response(ApiError(500, f"The Looker emulator failed: {type(error).__name__}: {error}"))

    def error_response(self, error: ApiError) -> Response:
        return error.to_response(self.documentation_url(error.topic))

    def documentation_url(self, topic: str) -> str:
        # Points at the emulator itself, so a client that follows documentation links stays on 127.0.0.1.
        return f"{self.url}{INTROSPECTION_PREFIX}docs/{topic}"

    def _record_call(self, call: ApiCall, response: Response) -> None:
        request = call.request
        headers = dict(request.headers)
        for name in list(headers):
            if name.lower() == "authorization":
                scheme = headers[name].split(" ", 1)[0] if headers[name] else ""
                headers[name] = f"{scheme} {REDACTED}".strip()
        body = request.parsed_body()
        if isinstance(body, (dict, list)):
            body = redact(body)
        record = Call(
            method=request.method,
            path=request.path,
            query=redact(dict(request.query)),
            headers=headers,
            body=body,
            # No status was sent when the connection is dropped.
            status=0 if response.disconnect else response.status,
            time=self._now(),
            operation=call.operation,
            call_number=call.call_number,
            warnings=list(call.warnings),
        )
        with self._lock:
            self._calls.append(record)
            self.outbox.append_call(record)

    def _introspect(self, request: Request) -> Response:
        name = request.path[len(INTROSPECTION_PREFIX) :].strip("/")
        if name == "calls":
            return Response.json(200, [call.to_json() for call in self.calls])
        if name == "deliveries":
            return Response.json(200, [delivery.to_json() for delivery in self.deliveries])
        if name == "jobs":
            return Response.json(200, [job.to_json() for job in self.jobs])
        if name.startswith("docs/"):
            return Response.text(
                200,
                f"Looker emulator error topic {name[5:]!r}. The emulator mimics Looker API 4.0 responses; "
                "see Looker's API reference for the real behaviour.\n",
            )
        return Response.json(404, {"message": f"Unknown emulator page {request.path}", "documentation_url": None})

    # ---- helpers used by the handlers -------------------------------------------------------------

    def _now(self) -> datetime.datetime:
        moment = self.now()
        if moment.tzinfo is None:
            raise ValueError("the emulator's now() must return an aware datetime")
        return moment

    def _issue_token(self) -> str:
        token = secrets.token_urlsafe(30)
        with self._lock:
            self._tokens[token] = self._now() + datetime.timedelta(seconds=self.token_lifetime)
            self._issued_tokens.append(token)
        return token

    def _revoke_token(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as a Looker restart or an admin revoking sessions would."""
        with self._lock:
            self._tokens.clear()

    def _authenticate(self, request: Request) -> str:
        scheme, _, token = request.header("Authorization").strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("token", "bearer") or not token:
            raise ApiError(401, "Requires authentication.", topic="authentication")
        with self._lock:
            expires_at = self._tokens.get(token)
            if expires_at is not None and self._now() >= expires_at:
                del self._tokens[token]
                expires_at = None
        if expires_at is None:
            raise ApiError(401, "Requires authentication.", topic="authentication")
        return token

    def _bucket_capacity(self) -> float:
        # A burst of up to one second's worth of calls is allowed, and at least one call.
        return max(1.0, self.run_once_rate_limit or 0.0)

    def _take_run_once_token(self) -> None:
        """Spend one token of the run_once bucket or raise 429 with Retry-After."""
        rate = self.run_once_rate_limit
        if rate is None:
            return
        with self._lock:
            moment = time.monotonic()
            self._bucket_level = min(self._bucket_capacity(), self._bucket_level + (moment - self._bucket_time) * rate)
            self._bucket_time = moment
            if self._bucket_level < 1.0:
                retry_after = max(1, math.ceil((1.0 - self._bucket_level) / rate))
                raise ApiError(
                    429,
                    f"Too many requests: run_once is limited to {rate:g} calls per second. Retry after {retry_after} s.",
                    headers={"Retry-After": str(retry_after)},
                    topic="rate-limit",
                )
            self._bucket_level -= 1.0

    def _store_plan(self, plan: dict[str, Any], *, title: str | None) -> PlanRecord:
        with self._lock:
            plan_id = str(next(self._plan_ids))
            destination_ids = [str(next(self._destination_ids)) for _ in plan.get("scheduled_plan_destination") or []]
            record = PlanRecord(plan_id, plan, self._now(), destination_ids, title=title)
            self._plans[plan_id] = record
            return record

    def _plan_job_pairs(self) -> list[tuple[PlanRecord, Job | None]]:
        pairs: list[tuple[PlanRecord, Job | None]] = []
        for record in self._plans.values():
            jobs = [self._jobs[job_id] for job_id in record.job_ids if job_id in self._jobs]
            if not jobs:
                pairs.append((record, None))
            pairs.extend((record, copy.copy(job)) for job in jobs)
        return pairs

    def _trigger_datagroup(
        self, datagroup_id: str, stale_before: int | None, triggered_at: int | None
    ) -> dict[str, Any]:
        """Apply a datagroup update; a new triggered_at runs every enabled saved plan bound to the datagroup."""
        with self._lock:
            datagroup = self.content.datagroups[datagroup_id]
            if stale_before is not None:
                datagroup.stale_before = stale_before
            bound: list[PlanRecord] = []
            if triggered_at is not None:
                datagroup.triggered_at = triggered_at
                datagroup.trigger_value = str(triggered_at)
                bound = [
                    record
                    for record in self._plans.values()
                    if record.body.get("datagroup") == datagroup.key
                    and record.body.get("enabled", True)
                    and not record.body.get("run_once")
                ]
            payload = datagroup_json(datagroup)
        for record in bound:
            try:
                prepared = prepare_run(record.body, self.content, self._now())
            except (ContentNotFound, PlanRejected) as error:
                log.warning("Plan %s bound to datagroup %s cannot run: %s", record.id, datagroup.key, error)
                self._start_job(record, None, failure=str(error))
                continue
            self._start_job(record, prepared)
        return payload
