"""Exceptions raised by the Looker hook and operators.

Every message names the value or request involved and what to do next. ``str()`` of any of these
exceptions is computed when the exception is built, from plain strings, so printing one never raises.
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

# Maximum length of the excerpt kept in a message from a response body that is not Looker's JSON, such as a proxy's HTML page.
BODY_EXCERPT_LENGTH = 300
# Maximum length of the text kept from one field of Looker's JSON error body.
MESSAGE_LENGTH = 2000

_TAG = r"<[^>]*>"
_SPACE = r"\s+"


class LookerError(AirflowException):
    """Base class of every error raised by this provider."""

    def __reduce__(self):
        # Keyword-only constructors cannot be rebuilt from ``args``; restore the instance's fields instead.
        return (_rebuild, (type(self), str(self), self.__dict__))


def _rebuild(cls: type[LookerError], message: str, state: dict[str, Any]) -> LookerError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class LookerConfigurationError(LookerError, ValueError):
    """The Looker connection or an operator argument is invalid; nothing was sent to Looker."""


class LookerRequestError(LookerError):
    """A request got no response from Looker (connection refused, TLS failure, timeout)."""

    def __init__(self, message: str, *, method: str = "", path: str = "", sent: bool | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        # False: the request never left this machine. True or None: Looker may have received it.
        self.sent = sent


class LookerApiError(LookerError):
    """Looker returned an error status for a request."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        body: Any = None,
        text: str = "",
        hint: str = "",
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.body = body
        self.looker_message, self.field_errors, self.documentation_url = _parse_error_body(body)
        self.excerpt = "" if isinstance(body, dict) else _shorten(text)
        self.hint = hint
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = [f"Looker answered {self.status} to {self.method} {self.path}"]
        if self.looker_message:
            parts.append(f": {self.looker_message}")
        elif self.excerpt:
            parts.append(f" with a body that is not Looker's JSON: {self.excerpt!r}")
        lines = ["".join(parts)]
        for detail in self.field_errors:
            lines.append(
                "  - field {field}: {message} (code {code})".format(
                    field=detail.get("field") or "?",
                    message=detail.get("message") or "no message",
                    code=detail.get("code") or "?",
                )
            )
        if self.documentation_url:
            lines.append(f"  Looker documentation: {self.documentation_url}")
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)


class LookerAuthenticationError(LookerApiError):
    """Looker rejected the client id and secret, or its login response had no access token."""


class LookerPermissionError(LookerApiError):
    """The API user lacks a permission the request needs, such as ``see_system_activity``."""


class LookerNotFoundError(LookerApiError):
    """The content, plan or datagroup does not exist, or the API user cannot see it."""


class LookerDeliveryUnknownError(LookerError):
    """A run_once request may have reached Looker, but its response was lost.

    The request is not repeated, because repeating it could deliver the report twice. Search Looker's
    schedule history for ``plan_name`` to learn whether it ran.
    """

    def __init__(self, message: str, *, plan_name: str, method: str, path: str) -> None:
        super().__init__(message)
        self.plan_name = plan_name
        self.method = method
        self.path = path


def _shorten(text: str) -> str:
    """Return ``text`` without HTML tags and runs of white space, cut to ``BODY_EXCERPT_LENGTH`` characters."""
    if text is None:
        return ""
    try:
        flat = re.sub(_SPACE, " ", re.sub(_TAG, " ", str(text))).strip()
    except Exception:  # a body so odd that it cannot be turned into text still must not break the message
        return "<unreadable body>"
    if len(flat) > BODY_EXCERPT_LENGTH:
        return flat[: BODY_EXCERPT_LENGTH - 3] + "..."
    return flat


def _as_text(value: Any) -> str:
    """Return ``value`` as text cut to ``MESSAGE_LENGTH`` characters, whatever its type."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, default=str)
        except Exception:
            try:
                text = repr(value)
            except Exception:
                text = f"<unprintable {type(value).__name__}>"
    if len(text) > MESSAGE_LENGTH:
        return text[: MESSAGE_LENGTH - 3] + "..."
    return text


def _parse_error_body(body: Any) -> tuple[str, list[dict[str, str]], str]:
    """Extract Looker's ``message``, ``errors[]`` items and ``documentation_url`` from an error body."""
    if not isinstance(body, dict):
        return "", [], ""
    message = _as_text(body.get("message"))
    documentation_url = _as_text(body.get("documentation_url"))
    details: list[dict[str, str]] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                details.append({key: _as_text(item.get(key)) for key in ("field", "code", "message")})
            else:
                details.append({"field": "", "code": "", "message": _as_text(item)})
    return message, details, documentation_url


NOT_DELIVERED_NOTE = "Nothing was delivered: the plan did not reach Looker, or Looker rejected it."


def note_not_delivered(error: LookerError) -> LookerError:
    """Append to ``error``'s message that nothing was delivered, unless the message states it already, and return ``error``."""
    text = str(error)
    if "nothing was delivered" not in text.lower():
        error.args = (f"{text}\n{NOT_DELIVERED_NOTE}", *error.args[1:])
    return error
