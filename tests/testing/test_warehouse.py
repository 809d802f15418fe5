from __future__ import annotations

import datetime
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from airflow_provider_looker_trigger.testing.filters import compile_filter
from airflow_provider_looker_trigger.testing.warehouse import (
    BRANDS,
    MAX_ORDERS_PER_DAY,
    MIN_ORDERS_PER_DAY,
    NOT_STATE,
    ORDERS_COLUMNS,
    create_schema,
    demo_orders_for_day,
    load_demo_orders,
    query_rows,
)

END_DATE = datetime.date(2024, 5, 15)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.sqlite"
    load_demo_orders(path, end_date=END_DATE)
    return path


def all_orders(path: Path) -> list[dict[str, object]]:
    return query_rows(path, "orders", list(ORDERS_COLUMNS))


def test_create_schema_columns(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    create_schema(path)
    with sqlite3.connect(path) as connection:
        info = connection.execute("PRAGMA table_info(orders)").fetchall()
    assert [(row[1], row[2]) for row in info] == [
        ("order_id", "INTEGER"),
        ("created_date", "TEXT"),
        ("state", "TEXT"),
        ("brand", "TEXT"),
        ("category", "TEXT"),
        ("sale_price", "REAL"),
    ]


def test_create_schema_twice(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    create_schema(path)
    create_schema(path)
    assert query_rows(path, "orders", ["order_id"]) == []


def test_load_returns_row_count(warehouse: Path, tmp_path: Path) -> None:
    written = load_demo_orders(tmp_path / "other.sqlite", end_date=END_DATE)
    assert written == len(all_orders(warehouse))


def test_load_covers_each_day(warehouse: Path) -> None:
    per_day = Counter(row["created_date"] for row in all_orders(warehouse))
    expected_days = {(END_DATE - datetime.timedelta(days=offset)).isoformat() for offset in range(120)}
    assert set(per_day) == expected_days


def test_load_several_rows_per_day(warehouse: Path) -> None:
    per_day = Counter(row["created_date"] for row in all_orders(warehouse))
    assert all(MIN_ORDERS_PER_DAY <= count <= MAX_ORDERS_PER_DAY for count in per_day.values())


def test_load_is_deterministic(tmp_path: Path) -> None:
    first = tmp_path / "a.sqlite"
    second = tmp_path / "b.sqlite"
    load_demo_orders(first, end_date=END_DATE, days=30)
    load_demo_orders(second, end_date=END_DATE, days=30)
    assert all_orders(first) == all_orders(second)


def test_load_depends_on_seed(tmp_path: Path) -> None:
    first = tmp_path / "a.sqlite"
    second = tmp_path / "b.sqlite"
    load_demo_orders(first, end_date=END_DATE, days=30, seed=1)
    load_demo_orders(second, end_date=END_DATE, days=30, seed=2)
    assert all_orders(first) != all_orders(second)


def test_reload_same_dates_is_idempotent(warehouse: Path) -> None:
    before = all_orders(warehouse)
    load_demo_orders(warehouse, end_date=END_DATE)
    assert all_orders(warehouse) == before


def test_reload_replaces_edited_rows(warehouse: Path) -> None:
    before = all_orders(warehouse)
    with sqlite3.connect(warehouse) as connection:
        connection.execute(
            "UPDATE orders SET brand = 'Edited' WHERE created_date = ?", (END_DATE.isoformat(),)
        )
        connection.execute(
            "INSERT INTO orders (order_id, created_date, state, brand, category, sale_price) "
            "VALUES (1, ?, 'Texas', 'Stray', 'Swim', 1.0)",
            (END_DATE.isoformat(),),
        )
    load_demo_orders(warehouse, end_date=END_DATE)
    assert sorted(all_orders(warehouse), key=lambda row: row["order_id"]) == sorted(
        before, key=lambda row: row["order_id"]
    )


def test_overlapping_load_keeps_day_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    load_demo_orders(path, end_date=END_DATE, days=10)
    day = END_DATE.isoformat()
    before = [row for row in all_orders(path) if row["created_date"] == day]
    load_demo_orders(path, end_date=END_DATE + datetime.timedelta(days=5), days=10)
    after = [row for row in all_orders(path) if row["created_date"] == day]
    assert after == before


def test_extending_window_adds_only_new_days(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    first_count = load_demo_orders(path, end_date=END_DATE, days=10)
    next_day = END_DATE + datetime.timedelta(days=1)
    added = load_demo_orders(path, end_date=next_day, days=1)
    assert len(all_orders(path)) == first_count + added


def test_order_ids_unique_and_stable(warehouse: Path) -> None:
    ids = [row["order_id"] for row in all_orders(warehouse)]
    assert len(ids) == len(set(ids))


def test_day_rows_match_loaded_rows(warehouse: Path) -> None:
    day = END_DATE - datetime.timedelta(days=3)
    loaded = [row for row in all_orders(warehouse) if row["created_date"] == day.isoformat()]
    assert loaded == demo_orders_for_day(day)


@pytest.mark.parametrize("brand", ["Calvin Klein", "Levi's", "Carhartt", "O'Neill"])
def test_demo_brands_present(warehouse: Path, brand: str) -> None:
    assert brand in {row["brand"] for row in all_orders(warehouse)}


@pytest.mark.parametrize("state", ["California", "New York", "Texas", NOT_STATE])
def test_demo_states_present(warehouse: Path, state: str) -> None:
    assert state in {row["state"] for row in all_orders(warehouse)}


def test_demo_brands_known(warehouse: Path) -> None:
    assert {row["brand"] for row in all_orders(warehouse)} <= set(BRANDS)


def test_sale_prices_positive_cents(warehouse: Path) -> None:
    prices = [row["sale_price"] for row in all_orders(warehouse)]
    assert all(isinstance(price, float) for price in prices)
    assert min(prices) > 0
    assert all(round(price, 2) == price for price in prices)


def test_apostrophe_brand_filters(warehouse: Path) -> None:
    predicate = compile_filter("O'Neill", "string", today=END_DATE)
    rows = [row for row in all_orders(warehouse) if predicate(row["brand"])]
    assert rows
    assert {row["brand"] for row in rows} == {"O'Neill"}


def test_date_filter_on_demo_rows(warehouse: Path) -> None:
    predicate = compile_filter("7 days", "date", today=END_DATE)
    days = {row["created_date"] for row in all_orders(warehouse) if predicate(row["created_date"])}
    assert len(days) == 7


def test_query_rows_selects_columns_in_order(warehouse: Path) -> None:
    rows = query_rows(warehouse, "orders", ["brand", "order_id"])
    assert list(rows[0]) == ["brand", "order_id"]


def test_query_rows_all_columns(warehouse: Path) -> None:
    rows = query_rows(warehouse, "orders", None)
    assert tuple(rows[0]) == ORDERS_COLUMNS


def test_query_rows_ordered_by_rowid(warehouse: Path) -> None:
    ids = [row["order_id"] for row in query_rows(warehouse, "orders", ["order_id"])]
    assert ids == sorted(ids)


def test_query_rows_accepts_str_path(warehouse: Path) -> None:
    assert query_rows(str(warehouse), "orders", ["order_id"])


QUERY_ERROR_CASES = {
    "unknown table": ("customers", ["order_id"], "table 'customers' not found"),
    "unknown column": ("orders", ["order_id", "price"], "columns \\['price'\\] not found"),
    "injection as column": ("orders", ['brand" FROM orders; --'], "not found"),
    "injection as table": ("orders; DROP TABLE orders", ["order_id"], "not found"),
    "no columns": ("orders", [], "no columns requested"),
}


@pytest.mark.parametrize(
    ("table", "columns", "message"), QUERY_ERROR_CASES.values(), ids=QUERY_ERROR_CASES.keys()
)
def test_query_rows_rejects(warehouse: Path, table: str, columns: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        query_rows(warehouse, table, columns)


def test_load_rejects_zero_days(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="days must be at least 1"):
        load_demo_orders(tmp_path / "w.sqlite", end_date=END_DATE, days=0)


def test_load_rejects_datetime_end(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="end_date must be a datetime.date"):
        load_demo_orders(tmp_path / "w.sqlite", end_date=datetime.datetime(2024, 5, 15, 10, 0))
