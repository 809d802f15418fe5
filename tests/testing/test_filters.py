from __future__ import annotations

import datetime
from urllib.parse import quote

import pytest

from airflow_provider_looker_trigger.testing.filters import (
    UnsupportedFilterExpression,
    compile_filter,
    encode_filters_string,
    parse_filters_string,
)

# 2024-05-15 is a Wednesday, so "this week" runs from Monday 2024-05-13 to Sunday 2024-05-19.
TODAY = datetime.date(2024, 5, 15)


def client_encode(filters: dict[str, str]) -> str:
    """Encode filters the way the provider's client does, written out here independently of the module."""
    return "?" + "&".join(quote(k, safe="") + "=" + quote(v, safe="") for k, v in filters.items())


def matches(expression: str, kind: str, value: object) -> bool:
    return compile_filter(expression, kind, today=TODAY)(value)


# ---------------------------------------------------------------------------------------------
# parse_filters_string
# ---------------------------------------------------------------------------------------------

ROUND_TRIP_CASES = {
    "plain": {"Brand": "Carhartt"},
    "space": {"State / Region": "New York"},
    "ampersand": {"Category": "Outerwear & Coats"},
    "equals": {"a=b": "x=y"},
    "plus": {"Size": "XL+"},
    "hash": {"Tag": "#1"},
    "percent": {"Brand": "%Klein%"},
    "slash": {"Date": "2024/05/01 to 2024/05/15"},
    "comma": {"Brand": "Carhartt,Levi's"},
    "caret escapes": {"Brand": "Santa Cruz^, CA,100^%"},
    "quotes": {"Brand": "\"O'Neill\" and 'Levi's'"},
    "non-ascii latin": {"City": "Zürich"},
    "non-ascii cjk": {"City": "東京"},
    "emoji": {"Mood": "😀"},
    "empty value": {"Brand": ""},
    "many filters": {
        "Date": "7 days",
        "State / Region": "California",
        "Brand": "Levi's",
        "Category": "-Swim",
    },
    "no filters": {},
}


@pytest.mark.parametrize("filters", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_parse_filters_string_inverts_client_encoding(filters: dict[str, str]) -> None:
    assert parse_filters_string(client_encode(filters)) == filters


@pytest.mark.parametrize("filters", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_encode_filters_string_matches_client(filters: dict[str, str]) -> None:
    assert encode_filters_string(filters) == client_encode(filters)


def test_parse_filters_string_keeps_order() -> None:
    parsed = parse_filters_string("?b=2&a=1&c=3")
    assert list(parsed) == ["b", "a", "c"]


PARSE_CASES = {
    "plus is space": ("?Brand=Calvin+Klein", {"Brand": "Calvin Klein"}),
    "encoded plus stays plus": ("?Size=XL%2B", {"Size": "XL+"}),
    "lowercase hex": ("?City=Z%c3%bcrich", {"City": "Zürich"}),
    "no leading question mark": ("Brand=Carhartt", {"Brand": "Carhartt"}),
    "empty string": ("", {}),
    "lone question mark": ("?", {}),
    "raw equals in value": ("?Expr=a=b", {"Expr": "a=b"}),
}


@pytest.mark.parametrize(("filters_string", "expected"), PARSE_CASES.values(), ids=PARSE_CASES.keys())
def test_parse_filters_string_accepts(filters_string: str, expected: dict[str, str]) -> None:
    assert parse_filters_string(filters_string) == expected


MALFORMED_CASES = {
    "pair without equals": ("?Brand", "has no '='"),
    "trailing ampersand": ("?Brand=Carhartt&", "has no '='"),
    "empty pair": ("?a=1&&b=2", "has no '='"),
    "repeated name": ("?Brand=Carhartt&Brand=Levi%27s", "more than once"),
    "repeated name after decoding": ("?Brand=a&Br%61nd=b", "more than once"),
    "empty name": ("?=Carhartt", "empty filter name"),
    "bad percent escape": ("?Brand=100%", "two hex digits"),
    "bad hex digits": ("?Brand=%zz", "two hex digits"),
    "invalid utf-8": ("?City=%FF", "UTF-8"),
}


@pytest.mark.parametrize(("filters_string", "message"), MALFORMED_CASES.values(), ids=MALFORMED_CASES.keys())
def test_parse_filters_string_rejects(filters_string: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_filters_string(filters_string)


# ---------------------------------------------------------------------------------------------
# String filters: (expression, value, expected)
# ---------------------------------------------------------------------------------------------

STRING_CASES = {
    "equals": ("Carhartt", "Carhartt", True),
    "equals ignores case": ("carhartt", "CARHARTT", True),
    "equals is not contains": ("Carhartt", "Carhartt Kids", False),
    "equals with apostrophe": ("Levi's", "levi's", True),
    "equals with space": ("Calvin Klein", "Calvin Klein", True),
    "equals non-ascii ignores case": ("zürich", "ZÜRICH", True),
    "equals cjk": ("東京", "東京", True),
    "equals never matches null": ("Carhartt", None, False),
    "number value compared as text": ("42", 42, True),
    "any of first": ("Carhartt,Levi's", "Carhartt", True),
    "any of second": ("Carhartt,Levi's", "Levi's", True),
    "any of none": ("Carhartt,Levi's", "O'Neill", False),
    "any of trims spaces": ("Carhartt, Levi's", "Levi's", True),
    "not equals other": ("-Carhartt", "Levi's", True),
    "not equals same": ("-Carhartt", "carhartt", False),
    "not equals keeps null": ("-Carhartt", None, True),
    "not either first": ("-Carhartt,-Levi's", "Carhartt", False),
    "not either second": ("-Carhartt,-Levi's", "Levi's", False),
    "not either other": ("-Carhartt,-Levi's", "O'Neill", True),
    "contains": ("%Klein%", "Calvin Klein Jeans", True),
    "contains ignores case": ("%KLEIN%", "calvin klein", True),
    "contains missing": ("%Klein%", "Carhartt", False),
    "starts with": ("Cal%", "Calvin Klein", True),
    "starts with not at start": ("Cal%", "St Calvin", False),
    "ends with": ("%Klein", "Calvin Klein", True),
    "ends with not at end": ("%Klein", "Klein Calvin", False),
    "inner wildcard": ("F%OD", "fast food", True),
    "single char wildcard": ("_arhartt", "Carhartt", True),
    "single char wildcard needs one char": ("_arhartt", "arhartt", False),
    "single char wildcard not two": ("_arhartt", "xCarhartt", False),
    "not contains": ("-%Klein%", "Calvin Klein", False),
    "not contains other": ("-%Klein%", "Carhartt", True),
    "starts with but not exact": ("FOO%,-FOOD", "foolish", True),
    "starts with but not exact excluded": ("FOO%,-FOOD", "food", False),
    "starts with or exact": ("FOO%,BAR", "bar", True),
    "starts with or exact not barfood": ("FOO%,BAR", "barfood", False),
    "empty matches empty string": ("EMPTY", "", True),
    "empty matches null": ("EMPTY", None, True),
    "empty rejects text": ("EMPTY", "x", False),
    "not empty text": ("-EMPTY", "x", True),
    "not empty rejects empty string": ("-EMPTY", "", False),
    "not empty rejects null": ("-EMPTY", None, False),
    "null matches null": ("NULL", None, True),
    "null rejects empty string": ("NULL", "", False),
    "null keyword ignores case": ("null", None, True),
    "not null text": ("-NULL", "x", True),
    "not null rejects null": ("-NULL", None, False),
    "caret comma": ("Santa Cruz^, CA", "Santa Cruz, CA", True),
    "caret comma does not split": ("Santa Cruz^, CA", "Santa Cruz", False),
    "caret percent": ("100^%", "100%", True),
    "caret percent is literal": ("100^%", "1000", False),
    "caret underscore": ("a^_b", "a_b", True),
    "caret underscore is literal": ("a^_b", "axb", False),
    "caret caret": ("a^^b", "a^b", True),
    "caret quote": ('say ^"hi^"', 'say "hi"', True),
    "caret dash leading": ("^-5 percent", "-5 percent", True),
    "caret dash is not negation": ("^-5 percent", "x", False),
    "dash inside needs no escape": ("T-Shirt", "t-shirt", True),
    "quoted keeps comma": ('"Santa Cruz, CA"', "Santa Cruz, CA", True),
    "quoted keeps percent": ('"100%"', "100 percent", False),
    "quoted null is text": ('"NULL"', "NULL", True),
    "quoted null rejects null": ('"NULL"', None, False),
    "negated quoted null": ('-"NULL"', "NULL", False),
    "quoted with escaped caret at end": ('"a^^"', "a^", True),
    "quoted with other alternative": ('"a,b",c', "c", True),
    "empty expression matches all": ("", "anything", True),
    "blank expression matches null": ("  ", None, True),
}


@pytest.mark.parametrize(("expression", "value", "expected"), STRING_CASES.values(), ids=STRING_CASES.keys())
def test_string_filter(expression: str, value: object, expected: bool) -> None:
    assert matches(expression, "string", value) is expected


UNSUPPORTED_STRING_CASES = {
    "lone caret at end": "Carhartt^",
    "caret before letter": "^x",
    "unclosed quote": '"Carhartt',
    "quote inside value": 'say "hi"',
    "empty alternative": "Carhartt,,Levi's",
    "trailing comma": "Carhartt,",
    "dash alone": "-",
}


@pytest.mark.parametrize("expression", UNSUPPORTED_STRING_CASES.values(), ids=UNSUPPORTED_STRING_CASES.keys())
def test_string_filter_rejects(expression: str) -> None:
    with pytest.raises(UnsupportedFilterExpression):
        compile_filter(expression, "string", today=TODAY)


# ---------------------------------------------------------------------------------------------
# Date filters
# ---------------------------------------------------------------------------------------------

DATE_CASES = {
    "today": ("today", "2024-05-15", True),
    "today not yesterday": ("today", "2024-05-14", False),
    "today ignores case": ("Today", "2024-05-15", True),
    "yesterday": ("yesterday", "2024-05-14", True),
    "yesterday not today": ("yesterday", "2024-05-15", False),
    "tomorrow": ("tomorrow", "2024-05-16", True),
    "iso date": ("2024-05-01", "2024-05-01", True),
    "iso date other day": ("2024-05-01", "2024-05-02", False),
    "slash date": ("2024/05/01", "2024-05-01", True),
    "datetime string value": ("2024-05-01", "2024-05-01 23:59:59", True),
    "date object value": ("2024-05-01", datetime.date(2024, 5, 1), True),
    "datetime object value": ("2024-05-01", datetime.datetime(2024, 5, 1, 12, 0), True),
    "range includes start": ("2024-05-01 to 2024-05-10", "2024-05-01", True),
    "range includes middle": ("2024-05-01 to 2024-05-10", "2024-05-09", True),
    "range excludes end": ("2024-05-01 to 2024-05-10", "2024-05-10", False),
    "range excludes before": ("2024-05-01 to 2024-05-10", "2024-04-30", False),
    "slash range": ("2024/05/01 to 2024/05/10", "2024-05-05", True),
    "after includes date": ("after 2024-05-10", "2024-05-10", True),
    "after later": ("after 2024-05-10", "2025-01-01", True),
    "after excludes earlier": ("after 2024-05-10", "2024-05-09", False),
    "before excludes date": ("before 2024-05-10", "2024-05-10", False),
    "before earlier": ("before 2024-05-10", "2020-01-01", True),
    "7 days includes today": ("7 days", "2024-05-15", True),
    "7 days includes first": ("7 days", "2024-05-09", True),
    "7 days excludes eighth": ("7 days", "2024-05-08", False),
    "1 day is today": ("1 day", "2024-05-15", True),
    "1 day excludes yesterday": ("1 day", "2024-05-14", False),
    "2 weeks starts last monday week": ("2 weeks", "2024-05-06", True),
    "2 weeks excludes earlier sunday": ("2 weeks", "2024-05-05", False),
    "3 months from march": ("3 months", "2024-03-01", True),
    "3 months excludes february": ("3 months", "2024-02-29", False),
    "14 months across year": ("14 months", "2023-04-01", True),
    "3 days ago": ("3 days ago", "2024-05-12", True),
    "3 days ago not 2": ("3 days ago", "2024-05-13", False),
    "3 days ago not 4": ("3 days ago", "2024-05-11", False),
    "1 month ago": ("1 month ago", "2024-04-30", True),
    "this week monday": ("this week", "2024-05-13", True),
    "this week sunday": ("this week", "2024-05-19", True),
    "this week excludes last sunday": ("this week", "2024-05-12", False),
    "this month first": ("this month", "2024-05-01", True),
    "this month last": ("this month", "2024-05-31", True),
    "this month excludes april": ("this month", "2024-04-30", False),
    "last month first": ("last month", "2024-04-01", True),
    "last month last": ("last month", "2024-04-30", True),
    "last month excludes may": ("last month", "2024-05-01", False),
    "last month excludes march": ("last month", "2024-03-31", False),
    "extra spaces": ("  last   month ", "2024-04-15", True),
    "null matches null": ("NULL", None, True),
    "null rejects date": ("NULL", "2024-05-01", False),
    "not null date": ("-NULL", "2024-05-01", True),
    "not null rejects null": ("-NULL", None, False),
    "range rejects null": ("7 days", None, False),
    "empty expression matches all": ("", None, True),
}


@pytest.mark.parametrize(("expression", "value", "expected"), DATE_CASES.values(), ids=DATE_CASES.keys())
def test_date_filter(expression: str, value: object, expected: bool) -> None:
    assert matches(expression, "date", value) is expected


def test_date_filter_last_month_in_january() -> None:
    predicate = compile_filter("last month", "date", today=datetime.date(2024, 1, 10))
    assert predicate("2023-12-31")


def test_date_filter_uses_given_today() -> None:
    predicate = compile_filter("today", "date", today=datetime.date(2000, 1, 1))
    assert predicate("2000-01-01")


def test_date_filter_accepts_datetime_today() -> None:
    predicate = compile_filter("today", "date", today=datetime.datetime(2024, 5, 15, 23, 0))
    assert predicate("2024-05-15")


UNSUPPORTED_DATE_CASES = {
    "word": "soon",
    "zero days": "0 days",
    "quarter unit": "2 quarters",
    "invalid calendar date": "2024-02-30",
    "list of dates": "2024-05-01,2024-05-02",
    "future interval": "3 days from now",
    "time of day": "2024-05-01 10:00",
}


@pytest.mark.parametrize("expression", UNSUPPORTED_DATE_CASES.values(), ids=UNSUPPORTED_DATE_CASES.keys())
def test_date_filter_rejects(expression: str) -> None:
    with pytest.raises(UnsupportedFilterExpression):
        compile_filter(expression, "date", today=TODAY)


def test_date_filter_rejects_invalid_value() -> None:
    predicate = compile_filter("today", "date", today=TODAY)
    with pytest.raises(ValueError, match="invalid date value"):
        predicate("not a date")


# ---------------------------------------------------------------------------------------------
# Number filters
# ---------------------------------------------------------------------------------------------

NUMBER_CASES = {
    "equals": ("5", 5, True),
    "equals float": ("5", 5.0, True),
    "equals numeric string": ("5", "5", True),
    "equals other": ("5", 6, False),
    "equals decimal": ("12.5", 12.5, True),
    "negative number": ("-3", -3, True),
    "any of": ("1,2", 2, True),
    "any of with spaces": ("1, 2", 2, True),
    "any of none": ("1,2", 3, False),
    "greater": (">5", 6, True),
    "greater not equal": (">5", 5, False),
    "greater or equal": (">=5", 5, True),
    "less": ("<5", 4.99, True),
    "less not equal": ("<5", 5, False),
    "less or equal": ("<=5", 5, True),
    "comparison with space": ("> 5", 6, True),
    "closed interval low": ("[1,10]", 1, True),
    "closed interval high": ("[1,10]", 10, True),
    "closed interval outside": ("[1,10]", 10.01, False),
    "open interval low": ("(1,10)", 1, False),
    "open interval high": ("(1,10)", 10, False),
    "open interval inside": ("(1,10)", 5, True),
    "half open interval": ("[1,10)", 10, False),
    "interval with spaces": ("[ 1 , 10 ]", 10, True),
    "interval or value": ("[1,10],20", 20, True),
    "and range": (">=1 AND <=10", 10, True),
    "and range outside": (">=1 AND <=10", 11, False),
    "or": ("<1 OR >10", 11, True),
    "or outside": ("<1 OR >10", 5, False),
    "not": ("NOT 5", 6, True),
    "not same": ("NOT 5", 5, False),
    "not keeps null": ("NOT 5", None, True),
    "not list": ("NOT 1,2", 2, False),
    "not list other": ("NOT 1,2", 3, True),
    "not lowercase": ("not 5", 5, False),
    "null": ("NULL", None, True),
    "null rejects number": ("NULL", 0, False),
    "not null": ("NOT NULL", 0, True),
    "not null rejects null": ("NOT NULL", None, False),
    "value or null": ("5, NULL", None, True),
    "comparison rejects null": (">5", None, False),
    "empty expression matches all": ("", None, True),
}


@pytest.mark.parametrize(("expression", "value", "expected"), NUMBER_CASES.values(), ids=NUMBER_CASES.keys())
def test_number_filter(expression: str, value: object, expected: bool) -> None:
    assert matches(expression, "number", value) is expected


UNSUPPORTED_NUMBER_CASES = {
    "word": "five",
    "reversed interval": "[10,1]",
    "open bound": "[1,]",
    "empty alternative": "1,,2",
    "not alone": "NOT",
    "unknown operator": "=>5",
    "not equal operator": "!=5",
}


@pytest.mark.parametrize("expression", UNSUPPORTED_NUMBER_CASES.values(), ids=UNSUPPORTED_NUMBER_CASES.keys())
def test_number_filter_rejects(expression: str) -> None:
    with pytest.raises(UnsupportedFilterExpression):
        compile_filter(expression, "number", today=TODAY)


def test_date_filter_rejects_number_value() -> None:
    predicate = compile_filter("today", "date", today=TODAY)
    with pytest.raises(TypeError, match="of type int"):
        predicate(20240515)


def test_number_filter_rejects_bool_value() -> None:
    predicate = compile_filter("1", "number", today=TODAY)
    with pytest.raises(TypeError, match="invalid number value True"):
        predicate(True)


def test_number_filter_rejects_text_value() -> None:
    predicate = compile_filter("5", "number", today=TODAY)
    with pytest.raises(ValueError, match="invalid number value"):
        predicate("five")


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_unsupported_error_names_expression_and_kind() -> None:
    with pytest.raises(UnsupportedFilterExpression) as caught:
        compile_filter("soon", "date", today=TODAY)
    assert "'soon'" in str(caught.value)
    assert "date filter" in str(caught.value)


def test_unsupported_error_is_value_error() -> None:
    assert issubclass(UnsupportedFilterExpression, ValueError)


def test_unsupported_error_keeps_fields() -> None:
    with pytest.raises(UnsupportedFilterExpression) as caught:
        compile_filter("five", "number", today=TODAY)
    assert caught.value.expression == "five"
    assert caught.value.kind == "number"


def test_unknown_kind_rejected() -> None:
    with pytest.raises(UnsupportedFilterExpression, match="yesno"):
        compile_filter("yes", "yesno", today=TODAY)
