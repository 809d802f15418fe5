"""pytest plugin with the ``looker_emulator`` fixture, registered through the ``pytest11`` entry point."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import warehouse
from .emulator import LookerEmulator

DEMO_DAYS = 120


@pytest.fixture
def looker_emulator(tmp_path: Path) -> Iterator[LookerEmulator]:
    """Run a Looker emulator on 127.0.0.1 for one test.

    The outbox is ``tmp_path / "looker-outbox"`` and the warehouse contains 120 days of demo orders ending
    today (UTC). Use ``looker_emulator.connection_uri()`` for an Airflow connection.
    """
    warehouse_path = tmp_path / "looker-warehouse.sqlite"
    today = datetime.datetime.now(datetime.timezone.utc).date()
    warehouse.load_demo_orders(warehouse_path, end_date=today, days=DEMO_DAYS)
    emulator = LookerEmulator(outbox=tmp_path / "looker-outbox", warehouse=warehouse_path)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
