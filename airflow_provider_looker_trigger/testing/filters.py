"""Parser and evaluator for the Looker filter expressions the emulator applies to demo rows.

Looker documents the expression syntax at https://cloud.google.com/looker/docs/filter-expressions.
This module covers the subset listed on ``compile_filter`` and raises ``UnsupportedFilterExpression``
for everything else, so the emulator fails loudly instead of delivering rows that Looker would not.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

__all__ = [
    "FILTER_KINDS",
    "UnsupportedFilterExpression",
    "compile_filter",
    "encode_filters_string",
    "parse_filters_string",
]

FILTER_KINDS: tuple[str, ...] = ("string", "date", "number")

Predicate = Callable[[object], bool]


class UnsupportedFilterExpression(ValueError):
    """A filter expression that the emulator cannot evaluate the way Looker would."""

    def __init__(self, expression: str, kind: str, reason: str) -> None:
        self.expression = expression
        self.kind = kind
        self.reason = reason
        super().__init__(f"unsupported Looker filter expression {expression!r} for a {kind} filter: {reason}")


def _match_any(value: object) -> bool:
    return True


# ---------------------------------------------------------------------------------------------
# filters_string: the URL query string that carries dashboard filter values in a scheduled plan
# ---------------------------------------------------------------------------------------------

_BAD_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def encode_filters_string(filters: Mapping[str, str]) -> str:
    """Encode filter names and values as Looker writes ``filters_string``: ``?`` then ``name=value`` pairs.

    Names and values are percent-encoded with RFC 3986 rules, so a space becomes ``%20``.
    """
    pairs = (quote(name, safe="") + "=" + quote(value, safe="") for name, value in filters.items())
    return "?" + "&".join(pairs)


def _decode_component(component: str, filters_string: str) -> str:
    bad_escape = _BAD_PERCENT_ESCAPE.search(component)
    if bad_escape is not None:
        raise ValueError(
            f"invalid filters_string {filters_string!r}: '%' at position {bad_escape.start()} of "
            f"{component!r} is not followed by two hex digits"
        )
    try:
        return unquote(component.replace("+", " "), encoding="utf-8", errors="strict")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"invalid filters_string {filters_string!r}: {component!r} does not decode to UTF-8 "
            f"({error.reason})"
        ) from error


def parse_filters_string(s: str) -> dict[str, str]:
    """Decode a ``filters_string`` into a mapping of filter name to filter expression.

    This is the inverse of ``encode_filters_string``. A leading ``?`` is optional, ``+`` decodes to a
    space as in any query string, and an empty string or a lone ``?`` means no filters. Raises
    ValueError for a pair without ``=``, an empty name, a repeated name, a malformed percent escape
    or bytes that are not UTF-8.
    """
    if not s:
        return {}
    body = s.removeprefix("?")
    if not body:
        return {}

    filters: dict[str, str] = {}
    for pair in body.split("&"):
        raw_name, separator, raw_value = pair.partition("=")
        if not separator:
            raise ValueError(f"invalid filters_string {s!r}: pair {pair!r} has no '='")
        name = _decode_component(raw_name, s)
        if not name:
            raise ValueError(f"invalid filters_string {s!r}: pair {pair!r} has an empty filter name")
        if name in filters:
            raise ValueError(f"invalid filters_string {s!r}: filter {name!r} appears more than once")
        filters[name] = _decode_component(raw_value, s)
    return filters


# ---------------------------------------------------------------------------------------------
# String filters
# ---------------------------------------------------------------------------------------------

# Characters that a caret makes literal. "^-" is needed only for a leading "-" but is accepted anywhere.
_CARET_ESCAPABLE = frozenset(',%_^"-')


@dataclass(frozen=True)
class _StringTerm:
    negated: bool
    keyword: str | None  # "NULL" or "EMPTY", or None for a pattern
    pattern: re.Pattern[str] | None  # matched against the casefolded value

    def matches(self, value: str | None) -> bool:
        if self.keyword == "NULL":
            return value is None
        if self.keyword == "EMPTY":
            return value is None or value == ""
        assert self.pattern is not None
        return value is not None and self.pattern.fullmatch(value.casefold()) is not None


def _split_string_alternatives(expression: str) -> list[str]:
    """Split at commas that are neither caret-escaped nor inside double quotes, keeping escapes."""
    alternatives: list[str] = []
    current: list[str] = []
    in_quotes = False
    index = 0
    while index < len(expression):
        char = expression[index]
        if char == "^":
            if index + 1 >= len(expression):
                raise UnsupportedFilterExpression(expression, "string", "the expression ends with a lone '^'")
            current.append(expression[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_quotes = not in_quotes
        if char == "," and not in_quotes:
            alternatives.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    if in_quotes:
        raise UnsupportedFilterExpression(
            expression, "string", 'a double quote is not closed (use ^" for a literal quote)'
        )
    alternatives.append("".join(current))
    return alternatives


def _string_term_regex(text: str, expression: str, *, literal: bool) -> re.Pattern[str]:
    """Translate one alternative into a regex for ``fullmatch``.

    With ``literal``, ``%`` and ``_`` are not wildcards.
    """
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "^":
            escaped = text[index + 1]
            if escaped not in _CARET_ESCAPABLE:
                raise UnsupportedFilterExpression(
                    expression, "string", f"'^{escaped}' is not an escape; '^' escapes only , % _ ^ \" and -"
                )
            parts.append(re.escape(escaped.casefold()))
            index += 2
            continue
        if char == '"':
            raise UnsupportedFilterExpression(
                expression, "string", 'a double quote inside a value must be escaped as ^"'
            )
        if char == "%" and not literal:
            parts.append(".*")
        elif char == "_" and not literal:
            parts.append(".")
        else:
            parts.append(re.escape(char.casefold()))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _is_quoted(text: str) -> bool:
    """Return True when ``text`` is one double-quoted value.

    That is the case when the first unescaped quote after the opening one is the last character.
    """
    if len(text) < 2 or not text.startswith('"'):
        return False
    index = 1
    while index < len(text):
        if text[index] == "^":
            index += 2
            continue
        if text[index] == '"':
            return index == len(text) - 1
        index += 1
    return False


def _parse_string_term(alternative: str, expression: str) -> _StringTerm:
    text = alternative.strip()
    if not text:
        raise UnsupportedFilterExpression(expression, "string", "an alternative between commas is empty")

    negated = text.startswith("-")
    if negated:
        text = text[1:]
        if not text:
            raise UnsupportedFilterExpression(expression, "string", "'-' is not followed by a value")

    if text.upper() in ("NULL", "EMPTY"):
        return _StringTerm(negated, text.upper(), None)

    if _is_quoted(text):
        # A double-quoted value is one literal: commas, % and _ inside it and the words NULL and
        # EMPTY lose their special meaning.
        return _StringTerm(negated, None, _string_term_regex(text[1:-1], expression, literal=True))
    return _StringTerm(negated, None, _string_term_regex(text, expression, literal=False))


def _compile_string(expression: str) -> Predicate:
    terms = [
        _parse_string_term(alternative, expression) for alternative in _split_string_alternatives(expression)
    ]
    positive_terms = [term for term in terms if not term.negated]
    negative_terms = [term for term in terms if term.negated]

    # Looker ORs the positive alternatives and ANDs the negated ones: "FOO%,-FOOD" is
    # "starts with FOO and is not FOOD". Matching ignores case, as Looker does when the model is
    # not case_sensitive. A negated pattern such as "-FOO" keeps NULL values, as in the SQL
    # "x <> 'FOO' OR x IS NULL".
    # NOTE: keeping NULLs in negated string and number filters is remembered Looker behavior,
    # not checked against a Looker instance.
    def predicate(value: object) -> bool:
        text = None if value is None else str(value)
        if positive_terms and not any(term.matches(text) for term in positive_terms):
            return False
        return all(not term.matches(text) for term in negative_terms)

    return predicate


# ---------------------------------------------------------------------------------------------
# Date filters
# ---------------------------------------------------------------------------------------------

_DATE_LITERAL = r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})"
_DATE_UNITS = ("day", "week", "month", "year")
_UNIT = r"(day|week|month|year)s?"

_DATE_ONLY = re.compile(_DATE_LITERAL)
_DATE_RANGE = re.compile(_DATE_LITERAL + r" to " + _DATE_LITERAL)
_DATE_AFTER = re.compile(r"after " + _DATE_LITERAL)
_DATE_BEFORE = re.compile(r"before " + _DATE_LITERAL)
_LAST_N_PERIODS = re.compile(r"(\d+) " + _UNIT)
_N_PERIODS_AGO = re.compile(r"(\d+) " + _UNIT + r" ago")
_THIS_PERIOD = re.compile(r"this (day|week|month|year)")
_LAST_PERIOD = re.compile(r"last (day|week|month|year)")


def _period_start(day: datetime.date, unit: str) -> datetime.date:
    """Return the first day of the period that contains ``day``.

    Weeks start on Monday, Looker's default week_start_day.
    """
    if unit == "day":
        return day
    if unit == "week":
        return day - datetime.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _shift_period_start(start: datetime.date, unit: str, count: int) -> datetime.date:
    """Move a period start by ``count`` periods (negative moves back)."""
    if unit == "day":
        return start + datetime.timedelta(days=count)
    if unit == "week":
        return start + datetime.timedelta(weeks=count)
    if unit == "month":
        month_index = start.year * 12 + (start.month - 1) + count
        return datetime.date(month_index // 12, month_index % 12 + 1, 1)
    return datetime.date(start.year + count, 1, 1)


def _parse_date_literal(groups: tuple[str, ...], expression: str) -> datetime.date:
    year, _separator, month, day = groups
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError as error:
        raise UnsupportedFilterExpression(expression, "date", f"invalid date: {error}") from error


def _coerce_date(value: object) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            # The first ten characters cover both "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS".
            return datetime.date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f"invalid date value {value!r} for a date filter; expected YYYY-MM-DD") from None
    raise TypeError(
        f"invalid date value {value!r} of type {type(value).__name__} for a date filter; "
        "expected a date or an ISO date string"
    )


def _date_range(expression: str, today: datetime.date) -> tuple[datetime.date | None, datetime.date | None]:
    """Translate a date expression into a half-open range [start, end). A None bound leaves that side open."""
    text = " ".join(expression.lower().split())
    one_day = datetime.timedelta(days=1)

    if text == "today":
        return today, today + one_day
    if text == "yesterday":
        return today - one_day, today
    if text == "tomorrow":
        return today + one_day, today + 2 * one_day

    match = _DATE_ONLY.fullmatch(text)
    if match:
        day = _parse_date_literal(match.groups(), expression)
        return day, day + one_day
    match = _DATE_RANGE.fullmatch(text)
    if match:
        # Looker's "A to B" includes A and excludes B.
        return _parse_date_literal(match.groups()[:4], expression), _parse_date_literal(
            match.groups()[4:], expression
        )
    match = _DATE_AFTER.fullmatch(text)
    if match:
        # Looker's "after" includes the date itself ("is on or after" in the filter UI).
        return _parse_date_literal(match.groups(), expression), None
    match = _DATE_BEFORE.fullmatch(text)
    if match:
        return None, _parse_date_literal(match.groups(), expression)

    match = _N_PERIODS_AGO.fullmatch(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        start = _shift_period_start(_period_start(today, unit), unit, -count)
        return start, _shift_period_start(start, unit, 1)
    match = _LAST_N_PERIODS.fullmatch(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        if count < 1:
            raise UnsupportedFilterExpression(expression, "date", "the number of periods must be at least 1")
        # "3 months" is the current calendar month and the two before it, so the range covers
        # whole periods up to the end of the current one.
        # NOTE: this calendar alignment and the inclusive "after" follow Looker's behavior as
        # remembered from its generated SQL. They were not checked against a Looker instance.
        current_start = _period_start(today, unit)
        return _shift_period_start(current_start, unit, -(count - 1)), _shift_period_start(
            current_start, unit, 1
        )
    match = _THIS_PERIOD.fullmatch(text)
    if match:
        start = _period_start(today, match.group(1))
        return start, _shift_period_start(start, match.group(1), 1)
    match = _LAST_PERIOD.fullmatch(text)
    if match:
        current_start = _period_start(today, match.group(1))
        return _shift_period_start(current_start, match.group(1), -1), current_start

    raise UnsupportedFilterExpression(
        expression,
        "date",
        "expected NULL, -NULL, today, yesterday, YYYY-MM-DD, 'A to B', 'after A', 'before A', "
        "'N days', 'N days ago', 'this month' or 'last month' (days, weeks, months or years)",
    )


def _compile_date(expression: str, today: datetime.date) -> Predicate:
    keyword = " ".join(expression.upper().split())
    if keyword == "NULL":
        return lambda value: _coerce_date(value) is None
    if keyword in ("-NULL", "NOT NULL"):
        return lambda value: _coerce_date(value) is not None

    start, end = _date_range(expression, today)

    def predicate(value: object) -> bool:
        day = _coerce_date(value)
        if day is None:
            return False
        if start is not None and day < start:
            return False
        return end is None or day < end

    return predicate


# ---------------------------------------------------------------------------------------------
# Number filters
# ---------------------------------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_EXACT = re.compile(_NUMBER)
_NUMBER_COMPARISON = re.compile(r"(>=|<=|>|<)\s*(" + _NUMBER + r")")
_NUMBER_INTERVAL = re.compile(r"([\[(])\s*(" + _NUMBER + r")\s*,\s*(" + _NUMBER + r")\s*([\])])")
_NUMBER_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_NUMBER_OR = re.compile(r"\s+OR\s+", re.IGNORECASE)
_NUMBER_NOT = re.compile(r"NOT\s+", re.IGNORECASE)


def _coerce_number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"invalid number value {value!r} for a number filter")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"invalid number value {value!r} for a number filter") from None
    raise TypeError(f"invalid number value {value!r} of type {type(value).__name__} for a number filter")


def _split_outside_brackets(text: str) -> list[str]:
    """Split at commas that are not inside an interval such as ``[1,10]``."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _number_condition(text: str, expression: str) -> Callable[[float], bool]:
    """Compile one condition (``5``, ``>=5``, ``[1,10]``, ``(1,10)``, ``[1,10)``) for a non-null number."""
    if _NUMBER_EXACT.fullmatch(text):
        target = float(text)
        return lambda number: number == target

    match = _NUMBER_COMPARISON.fullmatch(text)
    if match:
        operator, bound = match.group(1), float(match.group(2))
        comparisons: dict[str, Callable[[float], bool]] = {
            ">": lambda number: number > bound,
            ">=": lambda number: number >= bound,
            "<": lambda number: number < bound,
            "<=": lambda number: number <= bound,
        }
        return comparisons[operator]

    match = _NUMBER_INTERVAL.fullmatch(text)
    if match:
        low, high = float(match.group(2)), float(match.group(3))
        if low > high:
            raise UnsupportedFilterExpression(
                expression, "number", f"interval {text!r} has its lower bound above its upper bound"
            )
        low_closed, high_closed = match.group(1) == "[", match.group(4) == "]"

        def in_interval(number: float) -> bool:
            above_low = number >= low if low_closed else number > low
            below_high = number <= high if high_closed else number < high
            return above_low and below_high

        return in_interval

    raise UnsupportedFilterExpression(
        expression,
        "number",
        f"{text!r} is not a number, a comparison (>, >=, <, <=) or an interval such as [1,10] or (1,10)",
    )


def _compile_number_alternatives(text: str, expression: str) -> Predicate:
    """Compile alternatives such as ``a, b OR c AND d``, where AND binds tighter than a comma or OR."""
    alternatives: list[tuple[bool, list[Callable[[float], bool]]]] = []
    for comma_part in _split_outside_brackets(text):
        for alternative in _NUMBER_OR.split(comma_part.strip()):
            alternative = alternative.strip()
            if not alternative:
                raise UnsupportedFilterExpression(
                    expression, "number", "an alternative between commas is empty"
                )
            if alternative.upper() == "NULL":
                alternatives.append((True, []))
                continue
            conditions = [
                _number_condition(part.strip(), expression) for part in _NUMBER_AND.split(alternative)
            ]
            alternatives.append((False, conditions))

    def predicate(value: object) -> bool:
        number = _coerce_number(value)
        for is_null_test, conditions in alternatives:
            if is_null_test:
                if number is None:
                    return True
            elif number is not None and all(condition(number) for condition in conditions):
                return True
        return False

    return predicate


def _compile_number(expression: str) -> Predicate:
    text = expression.strip()
    keyword = " ".join(text.upper().split())
    if keyword in ("NOT NULL", "-NULL"):
        return lambda value: _coerce_number(value) is not None

    not_match = _NUMBER_NOT.match(text)
    if not_match:
        # "NOT 66, 99, 4" excludes every listed value. NULL values pass, as in the SQL
        # "x NOT IN (...) OR x IS NULL".
        inner = _compile_number_alternatives(text[not_match.end() :], expression)
        return lambda value: _coerce_number(value) is None or not inner(value)
    return _compile_number_alternatives(text, expression)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def compile_filter(expression: str, kind: str, *, today: datetime.date) -> Callable[[object], bool]:
    """Compile a Looker filter expression into a predicate over one column value (None is SQL NULL).

    Supported expressions:

    - ``string``: ``FOO``, ``FOO,BAR``, ``-FOO``, ``-FOO,-BAR``, ``%FOO%``, ``FOO%``, ``%FOO``, ``F_O``,
      ``-%FOO%``, ``EMPTY``, ``-EMPTY``, ``NULL``, ``-NULL``, double-quoted literals, and the caret
      escapes ``^,`` ``^%`` ``^_`` ``^^`` ``^"`` ``^-``. Matching ignores case.
    - ``date``: ``today``, ``yesterday``, ``tomorrow``, ``YYYY-MM-DD`` or ``YYYY/MM/DD``, ``A to B``
      (B excluded), ``after A`` (A included), ``before A`` (A excluded), ``N days``/``weeks``/``months``/
      ``years`` (the current period and the N-1 before it), ``N days ago`` (that one period),
      ``this week``/``month``/``year``, ``last week``/``month``/``year``, ``NULL``, ``-NULL``.
      Weeks start on Monday.
    - ``number``: ``5``, ``1,2``, ``>5``, ``>=5``, ``<5``, ``<=5``, ``[1,10]``, ``(1,10)``, mixed
      brackets, ``>=1 AND <=10``, ``1 OR 2``, ``NOT 5``, ``NOT 1,2``, ``NULL``, ``NOT NULL``.

    An empty or blank expression matches every value, as an unset dashboard filter does. ``today``
    anchors relative dates, so the predicate never reads the clock. The predicate raises ValueError
    for a text value that does not parse as the filter's kind and TypeError for a value of another
    type. Raises ``UnsupportedFilterExpression`` for any other expression or kind.
    """
    if kind not in FILTER_KINDS:
        raise UnsupportedFilterExpression(
            expression, kind, f"the filter kind must be one of {', '.join(FILTER_KINDS)}"
        )
    if not expression.strip():
        return _match_any
    if isinstance(today, datetime.datetime):
        # A datetime would break comparisons with the plain dates of the range bounds.
        today = today.date()
    if kind == "string":
        return _compile_string(expression)
    if kind == "date":
        return _compile_date(expression, today)
    return _compile_number(expression)
