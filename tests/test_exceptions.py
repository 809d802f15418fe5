"""Tests of the provider's exceptions, above all the message built from a Looker error response."""

from __future__ import annotations

import pytest

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_looker_trigger.exceptions import (
    BODY_EXCERPT_LENGTH,
    LookerApiError,
    LookerAuthenticationError,
    LookerConfigurationError,
    LookerDeliveryUnknownError,
    LookerError,
    LookerNotFoundError,
    LookerRequestError,
)

RUN_ONCE_PATH = "/api/4.0/scheduled_plans/run_once"
DOCS_URL = "https://cloud.google.com/looker/docs/r/err/4.0/422/post/scheduled_plans/run_once"


def api_error(body=None, text="", status=422, hint=""):
    return LookerApiError(status=status, method="POST", path=RUN_ONCE_PATH, body=body, text=text, hint=hint)


class BrokenStr:
    """An object that cannot be turned into text: both ``str()`` and ``repr()`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("str failed")

    def __repr__(self) -> str:
        raise RuntimeError("repr failed")


# ---------------------------------------------------------------------------------------------
# Hierarchy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error_class",
    [
        LookerConfigurationError,
        LookerRequestError,
        LookerApiError,
        LookerAuthenticationError,
        LookerNotFoundError,
        LookerDeliveryUnknownError,
    ],
)
def test_every_error_is_looker_error(error_class):
    assert issubclass(error_class, LookerError)
    assert issubclass(error_class, AirflowException)


def test_configuration_error_is_value_error():
    assert issubclass(LookerConfigurationError, ValueError)


@pytest.mark.parametrize("error_class", [LookerAuthenticationError, LookerNotFoundError])
def test_api_error_subclasses(error_class):
    assert issubclass(error_class, LookerApiError)


def test_request_error_attributes():
    error = LookerRequestError("Could not connect", method="POST", path="/login", sent=False)

    assert str(error) == "Could not connect"
    assert error.method == "POST"
    assert error.path == "/login"
    assert error.sent is False


def test_request_error_sent_default():
    assert LookerRequestError("timed out").sent is None


def test_delivery_unknown_attributes():
    error = LookerDeliveryUnknownError(
        "response lost", plan_name="daily [airflow:0123456789ab]", method="POST", path=RUN_ONCE_PATH
    )

    assert str(error) == "response lost"
    assert error.plan_name == "daily [airflow:0123456789ab]"
    assert error.path == RUN_ONCE_PATH


# ---------------------------------------------------------------------------------------------
# Message from a Looker JSON error body
# ---------------------------------------------------------------------------------------------


def test_api_error_validation_body():
    body = {
        "message": "Validation Failed",
        "errors": [
            {"field": "look_id", "code": "missing", "message": "This field is required.", "documentation_url": DOCS_URL},
            {"field": "scheduled_plan_destination", "code": "invalid", "message": "Address is invalid."},
        ],
        "documentation_url": DOCS_URL,
    }

    error = api_error(body)
    lines = str(error).splitlines()

    assert lines[0] == f"Looker answered 422 to POST {RUN_ONCE_PATH}: Validation Failed"
    assert "  - field look_id: This field is required. (code missing)" in lines
    assert "  - field scheduled_plan_destination: Address is invalid. (code invalid)" in lines
    assert f"  Looker documentation: {DOCS_URL}" in lines


def test_api_error_attributes():
    body = {"message": "Not found", "documentation_url": DOCS_URL}

    error = LookerNotFoundError(status=404, method="GET", path="/api/4.0/looks/12", body=body, hint="No Look '12'.")

    assert error.status == 404
    assert error.method == "GET"
    assert error.path == "/api/4.0/looks/12"
    assert error.body is body
    assert error.looker_message == "Not found"
    assert error.documentation_url == DOCS_URL
    assert error.field_errors == []
    assert error.hint == "No Look '12'."


def test_api_error_message_only():
    error = api_error({"message": "Too Many Requests"}, status=429)

    assert str(error) == f"Looker answered 429 to POST {RUN_ONCE_PATH}: Too Many Requests"


def test_api_error_documentation_only():
    error = api_error({"documentation_url": DOCS_URL})

    assert str(error) == f"Looker answered 422 to POST {RUN_ONCE_PATH}\n  Looker documentation: {DOCS_URL}"


def test_api_error_hint_last():
    error = api_error({"message": "Not found"}, status=404, hint="Check the dashboard id.")

    assert str(error).splitlines()[-1] == "  Check the dashboard id."


def test_api_error_error_item_gaps():
    error = api_error({"message": "Validation Failed", "errors": [{"field": None}, {}]})

    lines = str(error).splitlines()
    assert lines[1:] == ["  - field ?: no message (code ?)", "  - field ?: no message (code ?)"]


def test_api_error_json_body_ignores_text():
    error = api_error({"message": "Validation Failed"}, text="<html>proxy page</html>")

    assert error.excerpt == ""
    assert "proxy page" not in str(error)


# ---------------------------------------------------------------------------------------------
# Message from a body that is not Looker's JSON
# ---------------------------------------------------------------------------------------------


def test_api_error_html_body_shortened():
    page = (
        "<html><head><title>502 Bad Gateway</title><style>body { color: red; }</style></head>\n"
        "<body>\n  <h1>502   Bad Gateway</h1>\n<p>The proxy could not reach Looker.</p>"
        + "<p>padding text</p>" * 200
        + "</body></html>"
    )

    error = api_error(None, text=page, status=502)

    assert "<" not in error.excerpt
    assert ">" not in error.excerpt
    assert len(error.excerpt) <= BODY_EXCERPT_LENGTH
    assert error.excerpt.startswith("502 Bad Gateway")
    assert error.excerpt.endswith("...")
    assert "  " not in error.excerpt
    assert "not Looker's JSON" in str(error)
    assert "502 Bad Gateway" in str(error)


def test_api_error_short_text_kept():
    error = api_error(None, text="upstream connect error", status=503)

    assert error.excerpt == "upstream connect error"
    assert str(error) == f"Looker answered 503 to POST {RUN_ONCE_PATH} with a body that is not Looker's JSON: 'upstream connect error'"


def test_api_error_empty_body():
    error = api_error(None, text="", status=500)

    assert str(error) == f"Looker answered 500 to POST {RUN_ONCE_PATH}"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x" * (BODY_EXCERPT_LENGTH - 1), id="just-below"),
        pytest.param("x" * BODY_EXCERPT_LENGTH, id="exact"),
        pytest.param("x" * (BODY_EXCERPT_LENGTH + 1), id="just-above"),
        pytest.param("x" * 5_000_000, id="huge"),
    ],
)
def test_api_error_excerpt_length(text):
    error = api_error(None, text=text)

    assert len(error.excerpt) <= BODY_EXCERPT_LENGTH
    assert len(str(error)) < BODY_EXCERPT_LENGTH + 200


# ---------------------------------------------------------------------------------------------
# str() never raises
# ---------------------------------------------------------------------------------------------

ODD_BODIES = {
    "bytes-body": (b"\x00\xff\xfe binary", b"\x00\xff\xfe binary"),
    "bytearray-body": (bytearray(b"<p>x</p>"), bytearray(b"<p>x</p>")),
    "memoryview-text": (None, memoryview(b"abc")),
    "none-text": (None, None),
    "int-body": (500, "500"),
    "list-body": (["message", "errors"], '["message"]'),
    "nested-message": ({"message": {"detail": {"deep": [1, {"deeper": None}]}}}, ""),
    "message-list": ({"message": ["first", "second"]}, ""),
    "message-number": ({"message": 42, "documentation_url": 7}, ""),
    "errors-string": ({"message": "Validation Failed", "errors": "look_id is required"}, ""),
    "errors-dict": ({"message": "Validation Failed", "errors": {"field": "look_id"}}, ""),
    "errors-none": ({"message": "Validation Failed", "errors": None}, ""),
    "error-items-not-dicts": ({"errors": ["plain text", 5, None, ["nested"], b"bytes"]}, ""),
    "error-item-nested": ({"errors": [{"field": {"name": "look_id"}, "code": ["a", "b"], "message": 3.5}]}, ""),
    "non-string-keys": ({1: "one", None: "none", "message": "ok"}, ""),
    "huge-message": ({"message": "m" * 1_000_000}, ""),
    "huge-errors": ({"errors": [{"field": str(i), "message": "bad"} for i in range(10_000)]}, ""),
    "bytes-message": ({"message": b"\xff\xfe"}, ""),
    "set-message": ({"message": {1, 2}}, ""),
    "text-str-raises": (None, BrokenStr()),
    "body-str-raises": (BrokenStr(), ""),
    "html-unclosed-tag": (None, "<html><body <p unclosed"),
    "control-characters": (None, "\x00\x1b[31mred\x1b[0m\r\n\t"),
}


@pytest.mark.parametrize(("body", "text"), ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_api_error_odd_body(body, text):
    error = api_error(body, text=text)

    message = str(error)
    assert message.startswith(f"Looker answered 422 to POST {RUN_ONCE_PATH}")
    assert isinstance(repr(error), str)


def test_api_error_circular_body():
    message = {"detail": None}
    message["detail"] = message

    error = api_error({"message": message})

    assert str(error).startswith("Looker answered 422")


def test_api_error_nested_message_readable():
    error = api_error({"message": {"detail": "field is locked"}})

    assert "field is locked" in str(error)


def test_api_error_error_items_not_dicts_listed():
    error = api_error({"errors": ["plain text", 5]})

    lines = str(error).splitlines()
    assert "  - field ?: plain text (code ?)" in lines
    assert "  - field ?: 5 (code ?)" in lines


BROKEN_INSIDE_DICT = {
    "message": {"message": BrokenStr()},
    "documentation-url": {"message": "x", "documentation_url": BrokenStr()},
    "nested-message": {"message": {"detail": BrokenStr()}},
    "error-item": {"errors": [BrokenStr()]},
    "error-item-field": {"errors": [{"field": BrokenStr()}]},
}


@pytest.mark.parametrize("body", BROKEN_INSIDE_DICT.values(), ids=BROKEN_INSIDE_DICT.keys())
def test_api_error_broken_value_in_body(body):
    error = api_error(body)

    assert str(error).startswith("Looker answered 422")
