"""Renderers for the attachment formats a Looker scheduled plan can deliver.

csv, txt, json, json_detail, inline_json, html, xlsx and csv_zip hold the real rows. The PDF and PNG
formats are stand-ins: small valid files whose first text line states that they are not a Looker
rendering. They still carry every row, as text lines plus exact JSON in the metadata, so tests can
read the rows back with ``extract_pdf_text``, ``extract_pdf_rows`` and ``extract_png_rows``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

__all__ = [
    "FORMAT_EXTENSIONS",
    "extract_pdf_rows",
    "extract_pdf_text",
    "extract_png_rows",
    "extract_png_text",
    "format_cell",
    "render",
    "render_csv_zip",
    "stand_in_text_lines",
]

FORMAT_EXTENSIONS: dict[str, str] = {
    "csv": "csv",
    "txt": "txt",
    "json": "json",
    "json_detail": "json",
    "inline_json": "json",
    "html": "html",
    "xlsx": "xlsx",
    "csv_zip": "zip",
    "wysiwyg_pdf": "pdf",
    "assembled_pdf": "pdf",
    "wysiwyg_png": "png",
}

Row = dict[str, object]


def format_cell(value: object) -> str:
    """Format one value for text formats: None becomes an empty string, booleans become true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _select_columns(rows: Sequence[Row], columns: Sequence[str]) -> list[list[object]]:
    """Return the rows as lists in column order. Raises ValueError when a row has no value for a column."""
    table: list[list[object]] = []
    for index, row in enumerate(rows):
        missing = [column for column in columns if column not in row]
        if missing:
            raise ValueError(f"row {index} has no value for columns {missing}; row keys: {sorted(row)}")
        table.append([row[column] for column in columns])
    return table


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _json_rows(rows: Sequence[Row], columns: Sequence[str]) -> list[dict[str, object]]:
    return [
        {column: _json_value(value) for column, value in zip(columns, values)}
        for values in _select_columns(rows, columns)
    ]


def _dump_json(document: object) -> bytes:
    # allow_nan=False keeps the output valid JSON and fails on NaN instead of writing it.
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=2).encode("utf-8")


def _column_label(column: str) -> str:
    """Turn a column name into a label in the style of Looker field labels: "sale_price" -> "Sale Price"."""
    return " ".join(word.capitalize() for word in column.replace(".", " ").split("_") if word)


# ---------------------------------------------------------------------------------------------
# Delimited text, JSON and HTML
# ---------------------------------------------------------------------------------------------


def _render_delimited(rows: Sequence[Row], columns: Sequence[str], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for values in _select_columns(rows, columns):
        writer.writerow([format_cell(value) for value in values])
    return buffer.getvalue().encode("utf-8")


def _render_json_detail(rows: Sequence[Row], columns: Sequence[str]) -> bytes:
    # NOTE: every column is listed as a dimension because the emulator does not know which
    # warehouse columns Looker would model as measures.
    fields = {
        "dimensions": [{"name": column, "label": _column_label(column)} for column in columns],
        "measures": [],
        "table_calculations": [],
        "pivots": [],
    }
    data = [{column: {"value": value} for column, value in row.items()} for row in _json_rows(rows, columns)]
    return _dump_json({"data": data, "fields": fields})


def _render_html(rows: Sequence[Row], columns: Sequence[str], title: str, stand_in_note: str | None) -> bytes:
    escaped_title = html.escape(title)
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>' + escaped_title + "</title></head>",
        "<body>",
        "<h1>" + escaped_title + "</h1>",
    ]
    if stand_in_note:
        lines.append('<p class="stand-in-note">' + html.escape(stand_in_note) + "</p>")
    lines.append("<table>")
    lines.append(
        "<thead><tr>"
        + "".join("<th>" + html.escape(column) + "</th>" for column in columns)
        + "</tr></thead>"
    )
    lines.append("<tbody>")
    for values in _select_columns(rows, columns):
        cells = "".join("<td>" + html.escape(format_cell(value)) + "</td>" for value in values)
        lines.append("<tr>" + cells + "</tr>")
    lines.extend(["</tbody>", "</table>", "</body>", "</html>", ""])
    return "\n".join(lines).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Zip-based formats: csv_zip and xlsx
# ---------------------------------------------------------------------------------------------


def _safe_file_stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return stem or "tile"


def render_csv_zip(tiles: Sequence[tuple[str, Sequence[Row], Sequence[str]]]) -> bytes:
    """Zip one CSV file per dashboard tile, given as ``(title, rows, columns)`` tuples.

    File names come from the tile titles, with characters outside letters, digits, ``.``, ``-`` and
    ``_`` replaced by ``_`` and a numeric suffix added when two titles collide.
    """
    buffer = io.BytesIO()
    used_names: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for title, rows, columns in tiles:
            stem = _safe_file_stem(title)
            name = stem + ".csv"
            suffix = 2
            while name in used_names:
                name = f"{stem}_{suffix}.csv"
                suffix += 1
            used_names.add(name)
            archive.writestr(name, _render_delimited(rows, columns, ","))
    return buffer.getvalue()


_XLSX_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# XML 1.0 forbids most control characters even when escaped, so they are dropped from cell text.
_XML_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_MAX_LENGTH = 31  # Excel rejects longer sheet names.


def _xlsx_column_letters(index: int) -> str:
    """Return the spreadsheet column name for a zero-based index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _xlsx_sheet_name(title: str) -> str:
    name = " ".join(_SHEET_NAME_FORBIDDEN.sub(" ", _XML_ILLEGAL_CHARS.sub("", title)).split()).strip("'")
    name = name[:_SHEET_NAME_MAX_LENGTH].strip()
    return name or "Sheet1"


def _xlsx_cell(reference: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f'<c r="{reference}"><v>{value!r}</v></c>'
    text = _XML_ILLEGAL_CHARS.sub("", format_cell(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{reference}" t="inlineStr"><is><t{space}>{xml_escape(text)}</t></is></c>'


def _xlsx_sheet_xml(rows: Sequence[Row], columns: Sequence[str]) -> str:
    table: list[Sequence[object]] = [list(columns), *_select_columns(rows, columns)]
    row_elements = []
    for row_index, values in enumerate(table, start=1):
        cells = "".join(
            _xlsx_cell(f"{_xlsx_column_letters(column_index)}{row_index}", value)
            for column_index, value in enumerate(values)
        )
        row_elements.append(f'<row r="{row_index}">{cells}</row>')
    return (
        _XML_DECLARATION
        + f'<worksheet xmlns="{_XLSX_MAIN_NS}"><sheetData>'
        + "".join(row_elements)
        + "</sheetData></worksheet>"
    )


def _render_xlsx(rows: Sequence[Row], columns: Sequence[str], title: str) -> bytes:
    """Build a one-sheet workbook from the required SpreadsheetML parts and a minimal style sheet.

    Cells use inline strings, so the workbook needs no shared-string table.
    """
    content_types = (
        _XML_DECLARATION
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        + '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        + '<Default Extension="xml" ContentType="application/xml"/>'
        + '<Override PartName="/xl/workbook.xml" '
        + 'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + '<Override PartName="/xl/worksheets/sheet1.xml" '
        + 'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        + '<Override PartName="/xl/styles.xml" '
        + 'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "</Types>"
    )
    package_rels = (
        _XML_DECLARATION
        + f'<Relationships xmlns="{_PACKAGE_REL_NS}">'
        + f'<Relationship Id="rId1" Type="{_XLSX_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        + "</Relationships>"
    )
    workbook = (
        _XML_DECLARATION
        + f'<workbook xmlns="{_XLSX_MAIN_NS}" xmlns:r="{_XLSX_REL_NS}"><sheets>'
        + f'<sheet name={quoteattr(_xlsx_sheet_name(title))} sheetId="1" r:id="rId1"/>'
        + "</sheets></workbook>"
    )
    workbook_rels = (
        _XML_DECLARATION
        + f'<Relationships xmlns="{_PACKAGE_REL_NS}">'
        + f'<Relationship Id="rId1" Type="{_XLSX_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        + f'<Relationship Id="rId2" Type="{_XLSX_REL_NS}/styles" Target="styles.xml"/>'
        + "</Relationships>"
    )
    styles = (
        _XML_DECLARATION
        + f'<styleSheet xmlns="{_XLSX_MAIN_NS}">'
        + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        + '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        + '<fill><patternFill patternType="gray125"/></fill></fills>'
        + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        + '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        + "</styleSheet>"
    )

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/styles.xml", styles)
        archive.writestr("xl/worksheets/sheet1.xml", _xlsx_sheet_xml(rows, columns))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Stand-in PDF and PNG
# ---------------------------------------------------------------------------------------------


def stand_in_text_lines(
    rows: Sequence[Row], columns: Sequence[str], fmt: str, *, title: str, stand_in_note: str | None = None
) -> list[str]:
    """Build the text lines of a stand-in file: statement, title, column header, then one line per row.

    The first line states that the file is a Looker emulator stand-in for ``fmt`` and ends with
    ``stand_in_note`` when one is given. Cells are joined by `` | `` and formatted by ``format_cell``.
    """
    statement = f"Looker emulator stand-in for {fmt}, not a Looker rendering"
    if stand_in_note:
        statement += f": {stand_in_note}"
    lines = [statement, title, " | ".join(columns)]
    lines.extend(
        " | ".join(format_cell(value) for value in values) for values in _select_columns(rows, columns)
    )
    # Control characters such as newlines inside a value would split one text line in two.
    return [re.sub(r"[\x00-\x1f\x7f]", " ", line) for line in lines]


def _rows_json(rows: Sequence[Row], columns: Sequence[str]) -> str:
    return json.dumps(
        {"columns": list(columns), "rows": _json_rows(rows, columns)}, ensure_ascii=True, allow_nan=False
    )


_PDF_PAGE_WIDTH = 612  # US Letter in points
_PDF_PAGE_HEIGHT = 792
_PDF_MARGIN = 36
_PDF_FONT_SIZE = 9
_PDF_LEADING = 11
_PDF_LINES_PER_PAGE = (_PDF_PAGE_HEIGHT - 2 * _PDF_MARGIN) // _PDF_LEADING
_PDF_ROWS_KEY = b"/LookerEmulatorRows"


def _pdf_literal(text: str) -> bytes:
    """Encode text as a PDF literal string for the WinAnsi-encoded Courier font.

    Backslashes and parentheses are escaped. Latin-1 letters are written as octal escapes, which
    WinAnsiEncoding maps to the same characters, and every other non-ASCII character becomes '?'.
    """
    out = bytearray(b"(")
    for char in text:
        code = ord(char)
        if char in "\\()":
            out += b"\\" + char.encode("ascii")
        elif 0x20 <= code <= 0x7E:
            out.append(code)
        elif 0xA0 <= code <= 0xFF:
            out += b"\\%03o" % code
        else:
            out += b"?"
    out += b")"
    return bytes(out)


def _pdf_text_string(text: str) -> bytes:
    """Encode text for a document information entry as UTF-16BE with a byte order mark, in hex."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _render_pdf(lines: Sequence[str], rows_json: str, title: str, fmt: str) -> bytes:
    pages = [
        lines[start : start + _PDF_LINES_PER_PAGE] for start in range(0, len(lines), _PDF_LINES_PER_PAGE)
    ]
    page_count = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 font, 4 document information, then per page a page object
    # and its content stream.
    page_object_numbers = [5 + 2 * index for index in range(page_count)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % number for number in page_object_numbers)
        + b"] /Count %d >>" % page_count,
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        4: b"<< /Title "
        + _pdf_text_string(title)
        + b" /Subject "
        + _pdf_text_string(f"Looker emulator stand-in for {fmt}")
        + b" /Producer (airflow-provider-looker-trigger Looker emulator) "
        + _PDF_ROWS_KEY
        + b" <"
        + rows_json.encode("ascii").hex().encode("ascii")
        + b"> >>",
    }
    top = _PDF_PAGE_HEIGHT - _PDF_MARGIN - _PDF_FONT_SIZE
    for page_number, page_lines in zip(page_object_numbers, pages):
        content = bytearray(
            b"BT\n/F1 %d Tf\n%d TL\n%d %d Td\n" % (_PDF_FONT_SIZE, _PDF_LEADING, _PDF_MARGIN, top)
        )
        for line in page_lines:
            content += _pdf_literal(line) + b" Tj T*\n"
        content += b"ET"
        objects[page_number] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % (
            _PDF_PAGE_WIDTH,
            _PDF_PAGE_HEIGHT,
        ) + b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_number + 1)
        objects[page_number + 1] = (
            b"<< /Length %d >>\nstream\n" % len(content) + bytes(content) + b"\nendstream"
        )

    # The comment after the header line repeats the statement for anyone who opens the file as text.
    output = bytearray(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% Looker emulator stand-in for " + fmt.encode("ascii") + b"\n"
    )
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(output)
        output += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_offset = len(output)
    size = max(objects) + 1
    output += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        output += b"%010d 00000 n \n" % offsets[number]
    output += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        xref_offset,
    )
    return bytes(output)


_PDF_STREAM = re.compile(rb"/Length (\d+) >>\s*stream\r?\n")
_PDF_ESCAPES = {b"n": "\n", b"r": "\r", b"t": "\t", b"b": "\b", b"f": "\f"}


def _read_pdf_literal(data: bytes, start: int) -> tuple[str, int]:
    """Decode the literal string that opens at ``data[start]`` and return it with the index after it."""
    chars: list[str] = []
    depth = 1
    index = start + 1
    while index < len(data):
        byte = data[index : index + 1]
        if byte == b"\\":
            following = data[index + 1 : index + 2]
            if following in _PDF_ESCAPES:
                chars.append(_PDF_ESCAPES[following])
                index += 2
            elif following and following in b"01234567":
                octal = re.match(rb"[0-7]{1,3}", data[index + 1 : index + 4])
                assert octal is not None  # the first byte is an octal digit
                chars.append(chr(int(octal.group(), 8)))
                index += 1 + len(octal.group())
            elif following in (b"\n", b"\r"):
                index += 2  # a backslash before a line break continues the string
            else:
                chars.append(following.decode("latin-1"))
                index += 2
            continue
        if byte == b"(":
            depth += 1
        elif byte == b")":
            depth -= 1
            if depth == 0:
                return "".join(chars), index + 1
        chars.append(byte.decode("latin-1"))
        index += 1
    raise ValueError("PDF literal string is not terminated")


def extract_pdf_text(data: bytes) -> list[str]:
    """Return the text lines shown by the content streams of a PDF written by ``render``, in page order.

    It reads only uncompressed content streams with a direct ``/Length``, as ``render`` writes them,
    so it is not a general PDF text extractor. Characters outside Latin-1 come back as '?'.
    """
    if not data.startswith(b"%PDF-"):
        raise ValueError("data is not a PDF: the %PDF- header is missing")
    lines: list[str] = []
    for match in _PDF_STREAM.finditer(data):
        stream = data[match.end() : match.end() + int(match.group(1))]
        index = 0
        while True:
            index = stream.find(b"(", index)
            if index < 0:
                break
            text, index = _read_pdf_literal(stream, index)
            lines.append(text)
    return lines


def extract_pdf_rows(data: bytes) -> dict[str, object]:
    """Return ``{"columns": [...], "rows": [...]}`` exactly as stored in the metadata of a stand-in PDF."""
    match = re.search(re.escape(_PDF_ROWS_KEY) + rb" <([0-9A-Fa-f]*)>", data)
    if match is None:
        raise ValueError("PDF has no /LookerEmulatorRows entry; it was not written by the Looker emulator")
    return json.loads(bytes.fromhex(match.group(1).decode("ascii")))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_WIDTH = 240
_PNG_HEIGHT = 120
_PNG_ROWS_KEYWORD = "LookerEmulatorRows"


def _png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + chunk_type
        + payload
        + struct.pack(">I", zlib.crc32(chunk_type + payload))
    )


def _png_text_chunk(keyword: str, text: str) -> bytes:
    # A tEXt chunk stores Latin-1 text without NUL bytes, so other characters become '?'.
    safe_text = text.replace("\x00", " ").encode("latin-1", errors="replace")
    return _png_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + safe_text)


def _render_png(lines: Sequence[str], rows_json: str, title: str) -> bytes:
    """Draw a framed grey placeholder with one dark bar per row (up to the image height)."""
    background, frame, bar = 240, 64, 160
    pixels = [[background] * _PNG_WIDTH for _ in range(_PNG_HEIGHT)]
    for x in range(_PNG_WIDTH):
        pixels[0][x] = pixels[_PNG_HEIGHT - 1][x] = frame
    for y in range(_PNG_HEIGHT):
        pixels[y][0] = pixels[y][_PNG_WIDTH - 1] = frame
    data_lines = lines[3:]
    for index, line in enumerate(data_lines[: (_PNG_HEIGHT - 8) // 3]):
        y = 4 + 3 * index
        length = min(_PNG_WIDTH - 8, 8 + 2 * len(line))
        for x in range(4, 4 + length):
            pixels[y][x] = pixels[y + 1][x] = bar
    # Each scanline starts with filter type 0 (None).
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    header = struct.pack(">IIBBBBB", _PNG_WIDTH, _PNG_HEIGHT, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_text_chunk("Description", lines[0])
        + _png_text_chunk("Title", title)
        + _png_text_chunk("Comment", "\n".join(lines))
        + _png_text_chunk(_PNG_ROWS_KEYWORD, rows_json)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def extract_png_text(data: bytes) -> dict[str, str]:
    """Return the tEXt chunks of a PNG as keyword -> text, checking the signature and every chunk CRC."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("data is not a PNG: the signature is missing")
    texts: dict[str, str] = {}
    index = len(_PNG_SIGNATURE)
    while index < len(data):
        if index + 8 > len(data):
            raise ValueError(f"PNG chunk header at offset {index} is truncated")
        (length,) = struct.unpack(">I", data[index : index + 4])
        chunk_type = data[index + 4 : index + 8]
        payload = data[index + 8 : index + 8 + length]
        crc_bytes = data[index + 8 + length : index + 12 + length]
        if len(payload) != length or len(crc_bytes) != 4:
            raise ValueError(f"PNG chunk {chunk_type!r} at offset {index} is truncated")
        if struct.unpack(">I", crc_bytes)[0] != zlib.crc32(chunk_type + payload):
            raise ValueError(f"PNG chunk {chunk_type!r} at offset {index} has a wrong CRC")
        if chunk_type == b"tEXt":
            keyword, _separator, text = payload.partition(b"\x00")
            texts[keyword.decode("latin-1")] = text.decode("latin-1")
        index += 12 + length
        if chunk_type == b"IEND":
            break
    return texts


def extract_png_rows(data: bytes) -> dict[str, object]:
    """Return ``{"columns": [...], "rows": [...]}`` exactly as stored in a stand-in PNG."""
    texts = extract_png_text(data)
    if _PNG_ROWS_KEYWORD not in texts:
        raise ValueError(
            f"PNG has no {_PNG_ROWS_KEYWORD} text chunk; it was not written by the Looker emulator"
        )
    return json.loads(texts[_PNG_ROWS_KEYWORD])


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def render(
    rows: list[dict], columns: list[str], fmt: str, *, title: str, stand_in_note: str | None = None
) -> tuple[bytes, str]:
    """Render rows in a Looker delivery format and return ``(content, file extension)``.

    ``columns`` fixes the column order, and every row must have a value for each column. csv has a
    header row and CRLF line ends. txt is tab-separated, json is ``{"data": rows}``, inline_json is
    the plain list of rows, and json_detail wraps each value as ``{"value": ...}`` beside a
    ``fields`` description. csv_zip contains one CSV named after ``title``, and ``render_csv_zip``
    builds one with a file per tile. ``stand_in_note`` is appended to the first line of a PDF or PNG stand-in
    and shown under the title in html; the other formats ignore it. Raises ValueError for an unknown
    format.
    """
    if fmt not in FORMAT_EXTENSIONS:
        raise ValueError(f"unknown result format {fmt!r}; supported formats: {', '.join(FORMAT_EXTENSIONS)}")
    extension = FORMAT_EXTENSIONS[fmt]

    if fmt == "csv":
        return _render_delimited(rows, columns, ","), extension
    if fmt == "txt":
        return _render_delimited(rows, columns, "\t"), extension
    if fmt == "json":
        return _dump_json({"data": _json_rows(rows, columns)}), extension
    if fmt == "inline_json":
        return _dump_json(_json_rows(rows, columns)), extension
    if fmt == "json_detail":
        return _render_json_detail(rows, columns), extension
    if fmt == "html":
        return _render_html(rows, columns, title, stand_in_note), extension
    if fmt == "xlsx":
        return _render_xlsx(rows, columns, title), extension
    if fmt == "csv_zip":
        return render_csv_zip([(title, rows, columns)]), extension

    lines = stand_in_text_lines(rows, columns, fmt, title=title, stand_in_note=stand_in_note)
    if fmt == "wysiwyg_png":
        return _render_png(lines, _rows_json(rows, columns), title), extension
    return _render_pdf(lines, _rows_json(rows, columns), title, fmt), extension
