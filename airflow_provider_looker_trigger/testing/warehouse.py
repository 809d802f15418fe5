"""SQLite demo warehouse behind the Looker emulator.

The warehouse has one table, ``orders``, filled with deterministic demo rows so that demos and tests
see the same data for the same dates on every run.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import sqlite3
from collections.abc import Iterator, Sequence

ORDERS_COLUMNS: tuple[str, ...] = ("order_id", "created_date", "state", "brand", "category", "sale_price")

# Brands and states include values with an apostrophe and the "Not State" bucket on purpose, so
# filter parsing, URL encoding and SQL quoting get exercised by the demo data itself.
BRANDS: tuple[str, ...] = ("Calvin Klein", "Levi's", "Carhartt", "O'Neill", "Columbia", "Patagonia")
STATES: tuple[str, ...] = ("California", "New York", "Texas", "Florida", "Washington", "Illinois")
NOT_STATE = "Not State"
CATEGORIES: tuple[str, ...] = ("Jeans", "Outerwear & Coats", "Tops & Tees", "Swim", "Accessories")

MIN_ORDERS_PER_DAY = 3
MAX_ORDERS_PER_DAY = 8
# Order ids are date.toordinal() * ORDER_ID_DAY_FACTOR + index, so they stay stable across reloads.
ORDER_ID_DAY_FACTOR = 100

_CREATE_ORDERS_SQL = """
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY,
    created_date TEXT NOT NULL,
    state TEXT,
    brand TEXT,
    category TEXT,
    sale_price REAL
)
"""
_CREATE_ORDERS_DATE_INDEX_SQL = "CREATE INDEX IF NOT EXISTS orders_created_date ON orders (created_date)"


@contextlib.contextmanager
def _connect(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """Open a connection that commits on success, rolls back on error and is always closed."""
    connection = sqlite3.connect(os.fspath(path))
    try:
        with connection:
            yield connection
    finally:
        connection.close()


def create_schema(path: str | os.PathLike[str]) -> None:
    """Create the ``orders`` table and its date index in the SQLite file at ``path`` if missing."""
    with _connect(path) as connection:
        connection.execute(_CREATE_ORDERS_SQL)
        connection.execute(_CREATE_ORDERS_DATE_INDEX_SQL)


def demo_orders_for_day(day: datetime.date, *, seed: int = 7) -> list[dict[str, object]]:
    """Generate the demo orders of one day.

    The generator is seeded from ``seed`` and the day alone, so a day's rows do not depend on the
    window that is loaded around it.
    """
    rng = random.Random(seed * 1_000_003 + day.toordinal())
    count = rng.randint(MIN_ORDERS_PER_DAY, MAX_ORDERS_PER_DAY)
    orders: list[dict[str, object]] = []
    for index in range(count):
        # About one order in eight has no known state and lands in the "Not State" bucket.
        state = NOT_STATE if rng.random() < 0.125 else rng.choice(STATES)
        orders.append(
            {
                "order_id": day.toordinal() * ORDER_ID_DAY_FACTOR + index,
                "created_date": day.isoformat(),
                "state": state,
                "brand": rng.choice(BRANDS),
                "category": rng.choice(CATEGORIES),
                "sale_price": round(rng.uniform(5.0, 250.0), 2),
            }
        )
    return orders


def load_demo_orders(
    path: str | os.PathLike[str], *, end_date: datetime.date, days: int = 120, seed: int = 7
) -> int:
    """Write demo orders for the ``days`` days ending at ``end_date`` (inclusive) and return the row count.

    Rows already stored for those dates are deleted first, so loading the same dates again leaves
    the table unchanged. The schema is created when missing.
    """
    if isinstance(end_date, datetime.datetime) or not isinstance(end_date, datetime.date):
        raise TypeError(f"end_date must be a datetime.date, got {end_date!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")

    start_date = end_date - datetime.timedelta(days=days - 1)
    rows: list[dict[str, object]] = []
    for offset in range(days):
        rows.extend(demo_orders_for_day(start_date + datetime.timedelta(days=offset), seed=seed))

    create_schema(path)
    with _connect(path) as connection:
        connection.execute(
            "DELETE FROM orders WHERE created_date BETWEEN ? AND ?",
            (start_date.isoformat(), end_date.isoformat()),
        )
        connection.executemany(
            "INSERT OR REPLACE INTO orders (order_id, created_date, state, brand, category, sale_price) "
            "VALUES (:order_id, :created_date, :state, :brand, :category, :sale_price)",
            rows,
        )
    return len(rows)


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def query_rows(
    path: str | os.PathLike[str], table: str, columns: Sequence[str] | None = None
) -> list[dict[str, object]]:
    """Read all rows of ``table`` ordered by rowid, keeping only ``columns`` in the given order.

    ``columns=None`` reads every column. Raises ValueError when the table or a column does not exist,
    so a typo in demo content fails instead of returning empty data.
    """
    with _connect(path) as connection:
        table_info = connection.execute(f"PRAGMA table_info({_quote_identifier(table)})").fetchall()
        if not table_info:
            raise ValueError(f"table {table!r} not found in warehouse {os.fspath(path)!r}")
        existing_columns = [column_info[1] for column_info in table_info]
        if columns is None:
            selected = existing_columns
        else:
            selected = list(columns)
            if not selected:
                raise ValueError(f"no columns requested from table {table!r}")
            missing = [name for name in selected if name not in existing_columns]
            if missing:
                raise ValueError(
                    f"columns {missing} not found in table {table!r}; existing columns: {existing_columns}"
                )
        column_list = ", ".join(_quote_identifier(name) for name in selected)
        cursor = connection.execute(f"SELECT {column_list} FROM {_quote_identifier(table)} ORDER BY rowid")
        return [dict(zip(selected, record)) for record in cursor.fetchall()]
