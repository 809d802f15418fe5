"""A Looker API 4.0 emulator for tests and demos, built on the standard library only.

Start one with ``python -m airflow_provider_looker_trigger.testing`` or in Python::

    from airflow_provider_looker_trigger.testing import LookerEmulator

    with LookerEmulator(outbox="outbox", seed_demo_data=True) as emulator:
        print(emulator.connection_uri())

Tests can use the ``looker_emulator`` pytest fixture that this package registers.
"""

from __future__ import annotations

from .content import (
    Content,
    DashboardDef,
    DashboardFilterDef,
    DatagroupDef,
    FieldDef,
    LookDef,
    QueryDef,
    TileDef,
    demo_content,
)
from .emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PERMISSIONS,
    LookerEmulator,
)
from .faults import Fault
from .records import Call, Delivery, Job

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PERMISSIONS",
    "Call",
    "Content",
    "DashboardDef",
    "DashboardFilterDef",
    "DatagroupDef",
    "Delivery",
    "Fault",
    "FieldDef",
    "Job",
    "LookDef",
    "LookerEmulator",
    "QueryDef",
    "TileDef",
    "demo_content",
]
