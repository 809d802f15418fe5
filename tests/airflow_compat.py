"""Test helpers whose Airflow calls differ between the supported lines (2.11, 3.0 and 3.3).

Tests import these instead of Airflow's internal modules, so each version difference is handled in
one place. The helpers load DAG files into a DagBag and write DAGs to the metadata database for
``dag.test()``. They read rendered template fields, XComs and asset events, and capture what operators
and triggers log.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from airflow import __version__ as _airflow_version

AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_V_3 = AIRFLOW_VERSION >= Version("3.0.0")
# Name of the Airflow 3 bundle that contains the DAG files in ``[core] dags_folder``.
DAGS_FOLDER_BUNDLE = "dags-folder"


def dag_bag(dag_folder: str | Path, **kwargs: Any):
    """Load the DAG files at ``dag_folder`` (a file or a folder) into a new DagBag."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2.11 and 3.0

    return DagBag(dag_folder=str(dag_folder), **kwargs)


def register_dags(*dags) -> None:
    """Write DAGs built in the test to the metadata database.

    ``dag.test()`` on Airflow 3 needs the serialized DAG for mapped tasks and for tasks that read
    upstream XComs, and asset events need the DAGs and assets in the database on every line.
    """
    bag = dag_bag(os.devnull)
    if not AIRFLOW_V_3:
        for dag in dags:
            bag.bag_dag(dag, root_dag=dag)
        bag.sync_to_db()
        return

    for dag in dags:
        bag.bag_dag(dag)

    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()
    try:
        from airflow.dag_processing.dagbag import sync_bag_to_db  # Airflow 3.3
    except ImportError:  # Airflow 3.0
        for dag in dags:
            # Airflow 3.0 sets this only for DAGs that it parses from a file, and the same way
            # when the file is outside every bundle.
            if dag.relative_fileloc is None:
                dag.relative_fileloc = dag.fileloc
        bag.sync_to_db(DAGS_FOLDER_BUNDLE, None)
    else:
        sync_bag_to_db(bag, DAGS_FOLDER_BUNDLE, None)


def run_dag(dag):
    """Register ``dag``, run it once with ``dag.test()`` and return the finished DAG run."""
    register_dags(dag)
    return dag.test()


def use_dags_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Point ``[core] dags_folder`` at ``folder`` for one test.

    Airflow 3.3 runs with ``dag.test()`` only DAGs that the dags-folder bundle finds there.
    Airflow reads the setting once, when it is imported, so the module attribute changes too.
    """
    from airflow import settings

    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(folder))


def rendered_fields(ti) -> dict[str, Any]:
    """Return the rendered template fields that Airflow stored for a finished task instance."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields

    return RenderedTaskInstanceFields.get_templated_fields(ti)


def read_xcoms(dag_run, task_id: str) -> dict[str, Any]:
    """Return the XComs of ``task_id`` in ``dag_run`` by key, as the task pushed them.

    Airflow 3 task runners store XComs as JSON through the Execution API, so the column already
    contains the value, and Airflow 2 decodes the stored bytes when it loads a row. Decoding the
    value again would turn a string such as ``"1001"`` into an int on Airflow 3.
    """
    from airflow.utils.session import create_session

    if AIRFLOW_V_3:
        from airflow.models.xcom import XComModel as model
    else:
        from airflow.models.xcom import XCom as model

    selection = {"run_id": dag_run.run_id, "dag_ids": dag_run.dag_id, "task_ids": task_id}
    with create_session() as session:
        if "session" in inspect.signature(model.get_many).parameters:
            # Airflow 2.11 and 3.0 return a query on the session they are given.
            rows = model.get_many(**selection, session=session).all()
        else:
            # Airflow 3.3 returns a select statement.
            rows = session.scalars(model.get_many(**selection)).all()
        return {row.key: row.value for row in rows}


def count_asset_events(uri: str, source_run_id: str) -> int:
    """Return how many asset events (dataset events on Airflow 2) the DAG run ``source_run_id`` recorded for ``uri``."""
    from airflow.utils.session import create_session

    if AIRFLOW_V_3:
        from airflow.models.asset import AssetEvent as Event, AssetModel as Model

        asset_id = Event.asset_id
    else:
        from airflow.models.dataset import DatasetEvent as Event, DatasetModel as Model

        asset_id = Event.dataset_id

    with create_session() as session:
        return (
            session.query(Event)
            .join(Model, asset_id == Model.id)
            .filter(Model.uri == uri, Event.source_run_id == source_run_id)
            .count()
        )


def connection_from_uri(uri: str, conn_id: str):
    """Parse an Airflow connection URI the way Airflow does for ``AIRFLOW_CONN_*`` variables."""
    from airflow.providers.common.compat.sdk import Connection

    if hasattr(Connection, "from_uri"):  # the Task SDK's Connection on Airflow 3.3
        return Connection.from_uri(uri, conn_id=conn_id)
    from airflow.models.connection import Connection as CoreConnection  # Airflow 2.11 and 3.0

    return CoreConnection(conn_id=conn_id, uri=uri)


def scheduled_assets(dag) -> list:
    """Return the assets (datasets on Airflow 2) whose events start ``dag``."""
    timetable = dag.timetable
    condition = timetable.asset_condition if AIRFLOW_V_3 else timetable.dataset_condition
    return list(condition.objects)


def serde_round_trip(value: Any) -> Any:
    """Serialize ``value`` with Airflow's serde module and deserialize the result."""
    try:
        from airflow.sdk.serde import deserialize, serialize  # Airflow 3.3
    except ImportError:
        from airflow.serialization.serde import deserialize, serialize  # Airflow 2.11 and 3.0

    return deserialize(serialize(value))


class _RecordList(logging.Handler):
    """Logging handler that appends each record as a structlog-style entry to a list."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self.entries = entries

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append({"event": record.getMessage(), "log_level": record.levelname.lower(), "logger": record.name})


@contextlib.contextmanager
def capture_task_logs() -> Iterator[list[dict[str, Any]]]:
    """Capture what operators, hooks and triggers log, as dicts with ``event`` and ``log_level`` keys.

    Operators and triggers log through structlog on Airflow 3.3 and through the standard ``logging``
    module on 2.11 and 3.0, and both are captured. Entries from ``logging`` arrive while the block runs
    and the structlog entries are added when it ends, so the order is kept within each source.
    """
    entries: list[dict[str, Any]] = []
    handler = _RecordList(entries)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO))
    try:
        with _structlog_capture() as structlog_entries:
            yield entries
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    entries.extend(structlog_entries)


def _structlog_capture():
    try:
        import structlog.testing
    except ImportError:  # Airflow 2 does not depend on structlog.
        return contextlib.nullcontext([])
    return structlog.testing.capture_logs()


def configure_structlog_like_a_worker() -> None:
    """Make structlog filter by level and mask secrets like an Airflow 3.0 task process, on Airflow 3.0.

    Airflow 3.0's ``dag.test()`` runs tasks in-process without configuring structlog, so structlog's
    defaults print every debug message of the in-process supervisor, including the values that tasks
    register with the secrets masker. A 3.0 worker logs at ``[logging] logging_level`` (INFO by
    default) and masks secrets. Tracebacks are rendered as plain text because the default renderer
    wraps exception messages at 80 columns, and tests look for whole messages in the output.
    Airflow 2.11 does not log through structlog, and 3.3 configures it itself.
    """
    if not AIRFLOW_V_3 or AIRFLOW_VERSION >= Version("3.1.0"):
        return

    import structlog
    from airflow.configuration import conf
    from airflow.sdk.log import mask_logs

    level = logging.getLevelName(conf.get("logging", "logging_level", fallback="INFO").upper())
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.PositionalArgumentsFormatter(),
            mask_logs,
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
