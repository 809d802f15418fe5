"""Build and check the body of a Looker run-once scheduled plan.

Everything here is pure: no network, no Airflow connection look-ups (the caller passes a function for
that). Each check raises :class:`~airflow_provider_looker_trigger.exceptions.LookerConfigurationError`
(a ``ValueError``) naming the value, what is wrong, and the accepted alternatives, so that bad input
fails the task before any request reaches Looker.

The field names and value sets follow the ``WriteScheduledPlan`` and ``ScheduledPlanDestination``
models of the Looker API 4.0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus

from airflow_provider_looker_trigger.exceptions import LookerConfigurationError

SOURCE_DASHBOARD = "dashboard"
SOURCE_LOOKML_DASHBOARD = "lookml_dashboard"
SOURCE_LOOK = "look"
SOURCE_QUERY = "query"

# The plan body field that carries each kind of content.
SOURCE_FIELDS = {
    SOURCE_DASHBOARD: "dashboard_id",
    SOURCE_LOOKML_DASHBOARD: "lookml_dashboard_id",
    SOURCE_LOOK: "look_id",
    SOURCE_QUERY: "query_id",
}

DASHBOARD_FORMATS = ("wysiwyg_pdf", "assembled_pdf", "wysiwyg_png", "csv_zip")
DATA_FORMATS = ("json", "json_detail", "inline_json", "csv", "txt", "html", "xlsx")
PDF_PAPER_SIZES = ("letter", "legal", "tabloid", "a0", "a1", "a2", "a3", "a4", "a5")
DESTINATION_TYPES = ("email", "webhook", "s3", "sftp", "looker-integration://<hub id>::<action name>")

# Keys a destination dict may have in DAG code. ``secret_parameters`` is deliberately absent: secrets come
# from Airflow connections named by ``aws_conn_id`` or ``sftp_conn_id``.
DESTINATION_KEYS = (
    "type",
    "address",
    "format",
    "apply_formatting",
    "apply_vis",
    "message",
    "parameters",
    "aws_conn_id",
    "sftp_conn_id",
)

# Patterns stay strings: the re module compiles and caches them on first use, so parsing a DAG file
# that imports this module pays nothing for them.
_LOOKML_DASHBOARD_ID = r"^[A-Za-z0-9_]+::[A-Za-z0-9_.\-]+$"
_CONTENT_ID = r"^[A-Za-z0-9_\-]+$"
_EMAIL = r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]+$"
_ACTION_HUB_TYPE = r"^looker-integration://([^\s:/]+)::([^\s:/]+)$"
_S3_ADDRESS = r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/[^\s]*)?$"
_SFTP_ADDRESS = r"^sftp://[^\s/@:]+(:\d+)?(/[^\s]*)?$"
_HTTPS_ADDRESS = r"^https://[^\s/]+(/[^\s]*)?$"


@dataclass(frozen=True)
class ContentSource:
    """The dashboard, LookML dashboard, Look or query a plan delivers."""

    kind: str
    id: str

    @property
    def field(self) -> str:
        """Name of the plan body field that carries this id."""
        return SOURCE_FIELDS[self.kind]

    @property
    def is_dashboard(self) -> bool:
        return self.kind in (SOURCE_DASHBOARD, SOURCE_LOOKML_DASHBOARD)

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.id}"


@dataclass(frozen=True)
class Destination:
    """One checked ``scheduled_plan_destination`` entry."""

    type: str
    address: str
    format: str
    apply_formatting: bool | None = None
    apply_vis: bool | None = None
    message: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    secret_parameters: dict[str, Any] = field(default_factory=dict, repr=False)
    aws_conn_id: str | None = None
    sftp_conn_id: str | None = None

    @property
    def kind(self) -> str:
        """``email``, ``webhook``, ``s3``, ``sftp`` or ``action_hub``."""
        return "action_hub" if self.type.startswith("looker-integration://") else self.type

    def to_api(self) -> dict[str, Any]:
        """Return the destination as Looker expects it, with ``parameters`` encoded as JSON strings."""
        body: dict[str, Any] = {"type": self.type, "address": self.address, "format": self.format}
        for name in ("apply_formatting", "apply_vis", "message"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.parameters:
            body["parameters"] = json.dumps(self.parameters, sort_keys=True)
        if self.secret_parameters:
            body["secret_parameters"] = json.dumps(self.secret_parameters, sort_keys=True)
        return body


@dataclass(frozen=True)
class PlanOptions:
    """Optional plan settings; ``None`` leaves Looker's default in place and is never sent."""

    timezone: str | None = None
    pdf_paper_size: str | None = None
    pdf_landscape: bool | None = None
    long_tables: bool | None = None
    send_all_results: bool | None = None
    run_as_recipient: bool | None = None
    include_links: bool | None = None
    require_results: bool | None = None
    require_no_results: bool | None = None
    require_change: bool | None = None


def resolve_source(
    *,
    dashboard_id: Any = None,
    look_id: Any = None,
    lookml_dashboard_id: Any = None,
    query_id: Any = None,
) -> ContentSource:
    """Return the single content source among the arguments; a ``model::name`` dashboard id is LookML."""
    given = {
        name: value
        for name, value in (
            ("dashboard_id", dashboard_id),
            ("look_id", look_id),
            ("lookml_dashboard_id", lookml_dashboard_id),
            ("query_id", query_id),
        )
        if value is not None
    }
    empty = [name for name, value in given.items() if isinstance(value, str) and not value.strip()]
    if empty:
        raise LookerConfigurationError(
            f"{', '.join(empty)} is set but empty: check the template or XCom that gives it, "
            "or leave the argument out."
        )
    if not given:
        raise LookerConfigurationError(
            "No content to deliver: set exactly one of dashboard_id, lookml_dashboard_id, look_id or query_id."
        )
    if len(given) > 1:
        listed = ", ".join(f"{name}={value!r}" for name, value in given.items())
        raise LookerConfigurationError(
            f"Two or more content sources were given ({listed}): a plan delivers exactly one, "
            "so keep one of dashboard_id, lookml_dashboard_id, look_id or query_id."
        )

    name, value = next(iter(given.items()))
    text = _content_id_text(name, value)
    if name == "lookml_dashboard_id" or (name == "dashboard_id" and "::" in text):
        if not re.match(_LOOKML_DASHBOARD_ID, text):
            raise LookerConfigurationError(
                f"Invalid LookML dashboard id {text!r} in {name}: expected the form model::dashboard_name, "
                "for example 'thelook::business_pulse'."
            )
        return ContentSource(SOURCE_LOOKML_DASHBOARD, text)
    check_id(name, text)
    kind = {"dashboard_id": SOURCE_DASHBOARD, "look_id": SOURCE_LOOK, "query_id": SOURCE_QUERY}[name]
    return ContentSource(kind, text)


def check_id(name: str, value: Any) -> str:
    """Return a Looker id (an int or a string) as the string Looker API 4.0 expects, or raise naming ``name``."""
    text = _content_id_text(name, value)
    if not re.match(_CONTENT_ID, text):
        raise LookerConfigurationError(
            f"Invalid {name} {text!r}: a Looker id contains only letters, digits, '_' and '-', "
            "for example 73 or '73'."
        )
    return text


def _content_id_text(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise LookerConfigurationError(
            f"Invalid {name} {value!r} of type {type(value).__name__}: give the id as an int or a string."
        )
    text = str(value)
    if text != text.strip() or not text:
        raise LookerConfigurationError(f"Invalid {name} {value!r}: remove the surrounding white space.")
    return text


def encode_filters(filters: Mapping[str, Any] | str | None, *, allow_empty_values: bool = False) -> str | None:
    """Return the ``filters_string`` for ``filters``, or ``None`` when there are no filters.

    A dict maps dashboard filter names (as shown on the dashboard) to Looker filter expressions. Its
    keys and values are percent-encoded one by one (RFC 3986, UTF-8), so ``&``, ``=``, ``+``, ``#``,
    ``%``, ``/``, spaces and non-ASCII text reach Looker unchanged. A string is taken as a query string
    that is already encoded and is returned unchanged.

    An empty filter value makes Looker drop that filter and deliver every row, so it is rejected unless
    ``allow_empty_values`` is true.
    """
    if filters is None:
        return None
    if isinstance(filters, str):
        if filters:
            _check_query_string(filters, allow_empty_values)
        return filters or None
    if not isinstance(filters, Mapping):
        raise LookerConfigurationError(
            f"Invalid filters {filters!r} of type {type(filters).__name__}: give a dict of "
            "{dashboard filter name: filter expression} or an encoded query string such as '?Brand=Levi%27s'."
        )
    if not filters:
        return None

    pairs = []
    for name, value in filters.items():
        _check_filter(name, value, allow_empty_values)
        pairs.append(f"{quote(name, safe='')}={quote(value, safe='')}")
    return "?" + "&".join(pairs)


def _check_filter(name: Any, value: Any, allow_empty_values: bool) -> None:
    if not isinstance(name, str) or not name.strip():
        raise LookerConfigurationError(
            f"Invalid filter name {name!r}: use the dashboard filter's name as a non-empty string, e.g. 'Date'."
        )
    if name != name.strip():
        raise LookerConfigurationError(
            f"Invalid filter name {name!r}: remove the surrounding white space, because Looker matches names exactly."
        )
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, (list, tuple, set)):
            hint = " To match any of several values, join them with commas, e.g. 'Texas,Ohio'."
        raise LookerConfigurationError(
            f"Invalid value {value!r} of type {type(value).__name__} for filter {name!r}: filter values are "
            f"Looker filter expressions written as strings, e.g. {str(value)!r}.{hint}"
        )
    if value.strip() == "None":
        raise LookerConfigurationError(
            f"Filter {name!r} has the value 'None', which is what a template renders for a missing value. "
            "Check the template; to match the text None itself, quote it as '\"None\"'."
        )
    if not value.strip() and not allow_empty_values:
        raise LookerConfigurationError(
            f"Filter {name!r} has an empty value, so Looker would ignore it and deliver unfiltered rows. "
            "Give a filter expression, leave the filter out to keep the dashboard's default, or set "
            "allow_empty_filter_values=True to clear the filter on purpose."
        )


def _check_query_string(filters: str, allow_empty_values: bool) -> None:
    """Apply the dict checks to an encoded filter string, which is then sent unchanged."""
    if any(char.isspace() for char in filters):
        raise LookerConfigurationError(
            f"Invalid filters string {filters!r}: it contains white space, which must be percent-encoded "
            "(a space is %20). Pass a dict instead, and the operator encodes names and values for you."
        )
    pairs = filters[1:] if filters.startswith("?") else filters
    for pair in pairs.split("&"):
        name, equals, value = pair.partition("=")
        if not equals:
            raise LookerConfigurationError(
                f"Invalid filters string {filters!r}: {pair!r} is not name=value. A '&' inside a value must be "
                "encoded as %26; pass a dict instead, and the operator encodes names and values for you."
            )
        _check_filter(unquote_plus(name), unquote_plus(value), allow_empty_values)


def decode_filters(filters_string: str | None) -> dict[str, str]:
    """Return the ``{name: expression}`` dict encoded in a ``filters_string``."""
    if not filters_string:
        return {}
    return dict(parse_qsl(filters_string.lstrip("?"), keep_blank_values=True))


def parse_destinations(value: Any) -> list[Destination]:
    """Check a list of destination dicts and return one :class:`Destination` per address.

    An email destination may give a list of addresses; each becomes its own destination, which is how
    Looker stores recipients.
    """
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise LookerConfigurationError(
            f"Invalid destinations {value!r}: give a non-empty list of dicts such as "
            "[{'type': 'email', 'address': 'team@example.com', 'format': 'wysiwyg_pdf'}]."
        )

    destinations: list[Destination] = []
    for position, item in enumerate(value):
        destinations.extend(_parse_destination(item, position))
    return destinations


def _parse_destination(item: Any, position: int) -> list[Destination]:
    where = f"destinations[{position}]"
    if not isinstance(item, Mapping):
        raise LookerConfigurationError(f"Invalid {where} {item!r}: each destination is a dict with type, address and format.")
    if "secret_parameters" in item:
        raise LookerConfigurationError(
            f"{where} has secret_parameters: secrets written in DAG code show in rendered templates and logs. "
            "Store the secret in an Airflow connection and name it with aws_conn_id (S3) or sftp_conn_id (SFTP)."
        )
    unknown = sorted(set(item) - set(DESTINATION_KEYS))
    if unknown:
        raise LookerConfigurationError(
            f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; accepted keys: {', '.join(DESTINATION_KEYS)}."
        )

    dest_type = item.get("type")
    if not isinstance(dest_type, str) or not dest_type:
        raise LookerConfigurationError(f"{where} has no type: use one of {', '.join(DESTINATION_TYPES)}.")
    fmt = item.get("format")
    if not isinstance(fmt, str) or fmt not in DASHBOARD_FORMATS + DATA_FORMATS:
        raise LookerConfigurationError(
            f"{where} has unknown format {fmt!r}: use one of {', '.join(DASHBOARD_FORMATS)} for dashboards "
            f"or {', '.join(DATA_FORMATS)} for Looks and queries."
        )
    common = {
        "format": fmt,
        "apply_formatting": _optional_bool(item, "apply_formatting", where),
        "apply_vis": _optional_bool(item, "apply_vis", where),
        "message": _optional_str(item, "message", where),
        "parameters": _parameters(item.get("parameters"), where),
    }
    if common["message"] is not None and dest_type != "email":
        raise LookerConfigurationError(f"{where} sets message, which Looker uses only for email destinations.")

    _reject_conn_ids(item, where, allowed={"s3": "aws_conn_id", "sftp": "sftp_conn_id"}.get(dest_type))
    if dest_type == "email":
        return [Destination(type="email", address=address, **common) for address in _email_addresses(item.get("address"), where)]
    address = item.get("address")
    if dest_type == "webhook":
        _check_address(address, _HTTPS_ADDRESS, where, "an https:// URL, e.g. 'https://hooks.example.com/looker'; plain http is rejected")
        return [Destination(type="webhook", address=address, **common)]
    if dest_type == "s3":
        _check_address(address, _S3_ADDRESS, where, "s3://bucket/path/ with a lower-case bucket name")
        return [Destination(type="s3", address=address, aws_conn_id=_conn_id(item, "aws_conn_id", where), **common)]
    if dest_type == "sftp":
        _check_address(address, _SFTP_ADDRESS, where, "sftp://host/path/ (a port after the host is allowed)")
        return [Destination(type="sftp", address=address, sftp_conn_id=_conn_id(item, "sftp_conn_id", where), **common)]
    if re.match(_ACTION_HUB_TYPE, dest_type):
        if address not in (None, ""):
            raise LookerConfigurationError(
                f"{where} is an Action Hub destination with address {address!r}: leave address empty and "
                "put the action's form values in parameters."
            )
        return [Destination(type=dest_type, address="", **common)]
    raise LookerConfigurationError(f"{where} has unknown type {dest_type!r}: use one of {', '.join(DESTINATION_TYPES)}.")


def _email_addresses(address: Any, where: str) -> list[str]:
    addresses = [address] if isinstance(address, str) else address
    if not isinstance(addresses, (list, tuple)) or not addresses:
        raise LookerConfigurationError(
            f"{where} is an email destination with address {address!r}: give an address or a list of addresses."
        )
    for one in addresses:
        if not isinstance(one, str) or not re.match(_EMAIL, one):
            hint = " Give several addresses as a list, not one string with separators." if isinstance(one, str) and re.search(r"[,;\s]", one.strip()) else ""
            raise LookerConfigurationError(f"{where} has invalid email address {one!r}.{hint}")
    return list(addresses)


def _check_address(address: Any, pattern: str, where: str, expected: str) -> None:
    if not isinstance(address, str) or not re.match(pattern, address):
        raise LookerConfigurationError(f"{where} has invalid address {address!r}: expected {expected}.")


def _reject_conn_ids(item: Mapping[str, Any], where: str, allowed: str | None) -> None:
    for key in ("aws_conn_id", "sftp_conn_id"):
        if key in item and key != allowed:
            raise LookerConfigurationError(
                f"{where} of type {item.get('type')!r} sets {key}, which only "
                f"{'S3' if key == 'aws_conn_id' else 'SFTP'} destinations use."
            )


def _conn_id(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise LookerConfigurationError(f"{where} has invalid {key} {value!r}: give the id of an Airflow connection.")
    return value


def _optional_bool(item: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = item.get(key)
    if value is not None and not isinstance(value, bool):
        raise LookerConfigurationError(f"{where} has {key}={value!r}: use True or False.")
    return value


def _optional_str(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise LookerConfigurationError(f"{where} has {key}={value!r}: use a string.")
    return value


def _parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise LookerConfigurationError(
                f"{where} has parameters {value!r} that are not valid JSON: give a dict instead."
            ) from None
    if not isinstance(value, Mapping):
        raise LookerConfigurationError(f"{where} has parameters {value!r}: give a dict of parameter names to values.")
    if "secret_access_key" in value or "password" in value:
        raise LookerConfigurationError(
            f"{where} puts a secret in parameters, which Looker stores and returns in clear text; "
            "use aws_conn_id or sftp_conn_id to send it as a secret parameter."
        )
    return dict(value)


def check_option_values(options: PlanOptions) -> None:
    """Reject option values that are invalid whatever the content: wrong types, unknown names."""
    for name in (
        "pdf_landscape",
        "long_tables",
        "send_all_results",
        "run_as_recipient",
        "include_links",
        "require_results",
        "require_no_results",
        "require_change",
    ):
        value = getattr(options, name)
        if value is not None and not isinstance(value, bool):
            raise LookerConfigurationError(f"Invalid {name}={value!r}: use True or False.")

    if options.timezone is not None:
        _check_timezone(options.timezone)
    if options.pdf_paper_size is not None and options.pdf_paper_size not in PDF_PAPER_SIZES:
        raise LookerConfigurationError(
            f"Invalid pdf_paper_size {options.pdf_paper_size!r}: use one of {', '.join(PDF_PAPER_SIZES)}, "
            "or leave it unset to fit the page to the dashboard."
        )
    if options.require_results and options.require_no_results:
        raise LookerConfigurationError(
            "require_results=True and require_no_results=True together would never deliver: keep at most one."
        )


def check_options(options: PlanOptions, source: ContentSource, destinations: list[Destination]) -> None:
    """Reject option values and combinations that Looker rejects or ignores for this content."""
    check_option_values(options)
    if options.send_all_results and source.is_dashboard:
        raise LookerConfigurationError(
            f"send_all_results=True is not available for {source.describe()}: Looker sends all results only "
            "for Looks and queries."
        )
    for name in ("require_results", "require_no_results", "require_change"):
        if getattr(options, name) is not None and source.kind != SOURCE_LOOK:
            raise LookerConfigurationError(
                f"{name} is only available for Looks, not for {source.describe()}; remove it or deliver a Look."
            )
    if options.run_as_recipient:
        others = sorted({dest.type for dest in destinations if dest.type != "email"})
        if others:
            raise LookerConfigurationError(
                f"run_as_recipient=True works only with email destinations, but the plan also has {', '.join(others)}."
            )

    allowed = DASHBOARD_FORMATS if source.is_dashboard else DATA_FORMATS
    for dest in destinations:
        if dest.format not in allowed:
            raise LookerConfigurationError(
                f"Format {dest.format!r} for {dest.type} destination {dest.address or dest.type!r} is not available "
                f"for {source.describe()}: use one of {', '.join(allowed)}."
            )


def _check_timezone(name: Any) -> None:
    import zoneinfo

    if not isinstance(name, str) or not name:
        raise LookerConfigurationError(f"Invalid timezone {name!r}: use an IANA time zone name such as 'America/New_York'.")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise LookerConfigurationError(
            f"Unknown timezone {name!r}: use an IANA time zone name such as 'UTC' or 'America/New_York'."
        ) from None


def resolve_destination_secrets(
    destinations: list[Destination], get_connection: Callable[[str], Any]
) -> list[Destination]:
    """Fill S3 and SFTP credentials from the Airflow connections the destinations name.

    An S3 destination takes the access key id from the connection's login and the secret access key
    from its password (an AWS connection), and the region from the ``region_name`` extra unless its
    parameters set one. An SFTP destination takes username and password from login and password.
    """
    resolved = []
    for dest in destinations:
        if dest.aws_conn_id:
            conn = get_connection(dest.aws_conn_id)
            if not conn.login or not conn.password:
                raise LookerConfigurationError(
                    f"Connection {dest.aws_conn_id!r} for S3 destination {dest.address!r} needs the access key id "
                    "as login and the secret access key as password."
                )
            parameters = {"access_key_id": conn.login, **dest.parameters}
            region = (conn.extra_dejson or {}).get("region_name")
            if region and "region" not in parameters:
                parameters["region"] = region
            dest = _replace(dest, parameters=parameters, secret_parameters={"secret_access_key": conn.password})
        elif dest.sftp_conn_id:
            conn = get_connection(dest.sftp_conn_id)
            if not conn.login or not conn.password:
                raise LookerConfigurationError(
                    f"Connection {dest.sftp_conn_id!r} for SFTP destination {dest.address!r} needs login and password."
                )
            parameters = {"username": conn.login, **dest.parameters}
            dest = _replace(dest, parameters=parameters, secret_parameters={"password": conn.password})
        if dest.type == "s3" and not {"access_key_id", "region"} <= set(dest.parameters):
            raise LookerConfigurationError(
                f"S3 destination {dest.address!r} needs aws_conn_id (an AWS connection with the access key) "
                "and a region, from parameters={'region': ...} or the connection's region_name extra."
            )
        if dest.type == "sftp" and "username" not in dest.parameters:
            raise LookerConfigurationError(
                f"SFTP destination {dest.address!r} needs sftp_conn_id, an SFTP connection with login and password."
            )
        resolved.append(dest)
    return resolved


def _replace(dest: Destination, **changes: Any) -> Destination:
    from dataclasses import replace

    return replace(dest, **changes)


def build_run_once_body(
    *,
    name: str,
    source: ContentSource,
    destinations: list[Destination],
    filters_string: str | None,
    options: PlanOptions,
) -> dict[str, Any]:
    """Return the ``WriteScheduledPlan`` body for ``POST /scheduled_plans/run_once``.

    Only writable fields are included, and options left as ``None`` are omitted. Looks always get the
    three ``require_*`` booleans, because Looker requires them for Look plans.
    """
    if not isinstance(name, str) or not name.strip():
        raise LookerConfigurationError(f"Invalid plan name {name!r}: give a non-empty string.")
    check_options(options, source, destinations)

    body: dict[str, Any] = {"name": name, "run_once": True, source.field: source.id}
    if filters_string is not None:
        body["filters_string"] = filters_string
    body["scheduled_plan_destination"] = [dest.to_api() for dest in destinations]
    for option, value in vars(options).items():
        if value is not None:
            body[option] = value
    if source.kind == SOURCE_LOOK:
        for option in ("require_results", "require_no_results", "require_change"):
            body[option] = bool(getattr(options, option))
    return body


def filter_literal(value: str) -> str:
    """Return a Looker filter expression that matches ``value`` exactly and nothing else.

    Looker reads ``,`` as "or", ``%`` and ``_`` as wildcards, ``"`` as quoting and a leading ``-`` as
    "not", so a literal such as ``"New York, NY"`` would become two values. Each of these characters
    gets Looker's escape character ``^`` in front (and ``^`` itself is doubled). Plain strings passed to
    ``filters`` keep their filter-expression meaning; use this for values that come from data.
    """
    if not isinstance(value, str):
        raise LookerConfigurationError(f"filter_literal takes a string, not {type(value).__name__} {value!r}.")
    escaped = value.replace("^", "^^")
    for char in (",", "%", "_", '"'):
        escaped = escaped.replace(char, "^" + char)
    if escaped.startswith("-"):
        escaped = "^" + escaped
    return escaped


def closest_names(name: str, candidates: list[str], *, limit: int = 3) -> list[str]:
    """Return up to ``limit`` of ``candidates`` that look most like ``name``, ignoring case."""
    import difflib

    by_lower = {candidate.lower(): candidate for candidate in candidates}
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=limit, cutoff=0.5)
    return [by_lower[match] for match in matches]


def check_filter_names(filters: Mapping[str, str], dashboard_filter_names: list[str], *, content: str) -> None:
    """Reject filter names that the dashboard does not have.

    Looker ignores a filter whose name it does not know and delivers the dashboard without it, so a
    misspelled name would send unfiltered rows.
    """
    known = set(dashboard_filter_names)
    unknown = [name for name in filters if name not in known]
    if not unknown:
        return
    lines = []
    for name in unknown:
        suggestions = closest_names(name, dashboard_filter_names)
        hint = f"did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else "no similar name"
        lines.append(f"{name!r} ({hint})")
    available = ", ".join(map(repr, dashboard_filter_names)) or "none"
    raise LookerConfigurationError(
        f"{content} has no filter named {'; '.join(lines)}. Looker would ignore "
        f"{'it' if len(unknown) == 1 else 'them'} and deliver unfiltered rows, so nothing was sent. "
        f"Filters on the dashboard: {available}. Set strict_filters=False to send unknown names anyway."
    )
