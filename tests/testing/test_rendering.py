from __future__ import annotations

import csv
import io
import json
import re
import struct
import zipfile
import zlib
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from airflow_provider_looker_trigger.testing.rendering import (
    FORMAT_EXTENSIONS,
    extract_pdf_rows,
    extract_pdf_text,
    extract_png_rows,
    extract_png_text,
    render,
    render_csv_zip,
    stand_in_text_lines,
)

COLUMNS = ["created_date", "brand", "category", "sale_price"]
ROWS = [
    {"created_date": "2024-05-01", "brand": "Levi's", "category": "Jeans", "sale_price": 49.5},
    {"created_date": "2024-05-02", "brand": "O'Neill", "category": "Outerwear & Coats", "sale_price": 120},
    {"created_date": "2024-05-03", "brand": 'Zürich, "Ltd"', "category": "<b>Tops</b>", "sale_price": None},
    {
        "created_date": "2024-05-04",
        "brand": "東京 (Tokyo) \\ store",
        "category": "Swim\tWear",
        "sale_price": 0.1,
    },
]
TITLE = "Business Pulse & <Friends>"

SPREADSHEET_NS = {"s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def text_of(fmt: str) -> str:
    content, _extension = render(ROWS, COLUMNS, fmt, title=TITLE)
    return content.decode("utf-8")


# ---------------------------------------------------------------------------------------------
# Extensions and errors
# ---------------------------------------------------------------------------------------------

EXTENSION_CASES = {
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


@pytest.mark.parametrize(("fmt", "extension"), EXTENSION_CASES.items(), ids=EXTENSION_CASES.keys())
def test_render_returns_extension(fmt: str, extension: str) -> None:
    _content, returned_extension = render(ROWS, COLUMNS, fmt, title=TITLE)
    assert returned_extension == extension


def test_format_extensions_table_complete() -> None:
    assert FORMAT_EXTENSIONS == EXTENSION_CASES


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown result format 'docx'"):
        render(ROWS, COLUMNS, "docx", title=TITLE)


def test_render_rejects_row_missing_column() -> None:
    with pytest.raises(ValueError, match="row 0 has no value for columns \\['brand'\\]"):
        render([{"created_date": "2024-05-01"}], ["created_date", "brand"], "csv", title=TITLE)


@pytest.mark.parametrize("fmt", list(EXTENSION_CASES), ids=list(EXTENSION_CASES))
def test_render_accepts_no_rows(fmt: str) -> None:
    content, _extension = render([], COLUMNS, fmt, title=TITLE)
    assert content


# ---------------------------------------------------------------------------------------------
# csv and txt
# ---------------------------------------------------------------------------------------------


def test_csv_round_trip() -> None:
    parsed = list(csv.reader(io.StringIO(text_of("csv"), newline="")))
    expected = [COLUMNS] + [["" if row[c] is None else str(row[c]) for c in COLUMNS] for row in ROWS]
    assert parsed == expected


def test_csv_uses_crlf() -> None:
    assert text_of("csv").startswith("created_date,brand,category,sale_price\r\n")


def test_csv_quotes_comma_and_quote() -> None:
    assert '"Zürich, ""Ltd"""' in text_of("csv")


def test_txt_round_trip() -> None:
    parsed = list(csv.reader(io.StringIO(text_of("txt"), newline=""), delimiter="\t"))
    expected = [COLUMNS] + [["" if row[c] is None else str(row[c]) for c in COLUMNS] for row in ROWS]
    assert parsed == expected


def test_txt_header_is_tab_separated() -> None:
    assert text_of("txt").splitlines()[0] == "created_date\tbrand\tcategory\tsale_price"


def test_columns_order_and_subset() -> None:
    content, _extension = render(ROWS, ["sale_price", "brand"], "csv", title=TITLE)
    assert content.decode("utf-8").splitlines()[1] == "49.5,Levi's"


# ---------------------------------------------------------------------------------------------
# JSON formats
# ---------------------------------------------------------------------------------------------


def test_json_wraps_rows_in_data() -> None:
    assert json.loads(text_of("json")) == {"data": ROWS}


def test_json_keeps_column_order() -> None:
    first_row = json.loads(text_of("json"))["data"][0]
    assert list(first_row) == COLUMNS


def test_json_writes_non_ascii_as_utf8() -> None:
    assert "東京" in text_of("json")


def test_inline_json_is_row_list() -> None:
    assert json.loads(text_of("inline_json")) == ROWS


def test_json_detail_wraps_values() -> None:
    data = json.loads(text_of("json_detail"))["data"]
    assert data[1]["brand"] == {"value": "O'Neill"}


def test_json_detail_lists_fields() -> None:
    fields = json.loads(text_of("json_detail"))["fields"]
    assert [field["name"] for field in fields["dimensions"]] == COLUMNS


def test_json_detail_labels_fields() -> None:
    fields = json.loads(text_of("json_detail"))["fields"]
    assert fields["dimensions"][3]["label"] == "Sale Price"


def test_json_rejects_nan() -> None:
    with pytest.raises(ValueError):
        render([{"x": float("nan")}], ["x"], "json", title=TITLE)


# ---------------------------------------------------------------------------------------------
# html
# ---------------------------------------------------------------------------------------------


class TableParser(HTMLParser):
    """Collect the title and the table cells of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.rows: list[list[str]] = []
        self._in_title = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell.append(data)


def parse_html_table() -> TableParser:
    parser = TableParser()
    parser.feed(text_of("html"))
    parser.close()
    return parser


def test_html_table_round_trip() -> None:
    expected = [COLUMNS] + [["" if row[c] is None else str(row[c]) for c in COLUMNS] for row in ROWS]
    assert parse_html_table().rows == expected


def test_html_title_round_trip() -> None:
    assert parse_html_table().title == TITLE


def test_html_escapes_markup() -> None:
    assert "<b>" not in text_of("html")


def test_html_escapes_title() -> None:
    assert "Business Pulse &amp; &lt;Friends&gt;" in text_of("html")


def test_html_shows_note() -> None:
    content, _extension = render(ROWS, COLUMNS, "html", title=TITLE, stand_in_note="a <note>")
    assert '<p class="stand-in-note">a &lt;note&gt;</p>' in content.decode("utf-8")


# ---------------------------------------------------------------------------------------------
# xlsx and csv_zip
# ---------------------------------------------------------------------------------------------


def xlsx_parts() -> dict[str, bytes]:
    content, _extension = render(ROWS, COLUMNS, "xlsx", title=TITLE)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xlsx_cell_values(sheet_xml: bytes) -> list[list[str | None]]:
    """Read cell text from inline-string and number cells, keeping None for absent cells."""
    root = ElementTree.fromstring(sheet_xml)
    table: list[list[str | None]] = []
    for row in root.iterfind("s:sheetData/s:row", SPREADSHEET_NS):
        values: list[str | None] = [None] * len(COLUMNS)
        for cell in row.iterfind("s:c", SPREADSHEET_NS):
            column = ord(cell.get("r", "")[0]) - ord("A")
            inline_text = cell.find("s:is/s:t", SPREADSHEET_NS)
            number = cell.find("s:v", SPREADSHEET_NS)
            values[column] = (
                inline_text.text if inline_text is not None else number.text if number is not None else None
            )
        table.append(values)
    return table


def test_xlsx_has_required_parts() -> None:
    names = set(xlsx_parts())
    assert {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/worksheets/sheet1.xml",
        "xl/styles.xml",
    } <= names


@pytest.mark.parametrize(
    "part",
    [
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/worksheets/sheet1.xml",
        "xl/styles.xml",
    ],
)
def test_xlsx_part_is_well_formed(part: str) -> None:
    ElementTree.fromstring(xlsx_parts()[part])


def test_xlsx_rows_round_trip() -> None:
    expected = [list(COLUMNS)] + [[None if row[c] is None else str(row[c]) for c in COLUMNS] for row in ROWS]
    assert xlsx_cell_values(xlsx_parts()["xl/worksheets/sheet1.xml"]) == expected


def test_xlsx_numbers_are_numeric_cells() -> None:
    root = ElementTree.fromstring(xlsx_parts()["xl/worksheets/sheet1.xml"])
    cell = root.find("s:sheetData/s:row[2]/s:c[4]", SPREADSHEET_NS)
    assert cell is not None
    assert cell.get("t") is None


def test_xlsx_sheet_name_is_sanitized() -> None:
    content, _extension = render(
        ROWS, COLUMNS, "xlsx", title="Sales [EMEA]: 2024/05 * a very long dashboard title"
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheet = workbook.find("s:sheets/s:sheet", SPREADSHEET_NS)
    assert sheet is not None
    assert sheet.get("name") == "Sales EMEA 2024 05 a very long"


def test_xlsx_drops_xml_illegal_characters() -> None:
    content, _extension = render([{"x": "bell\x07"}], ["x"], "xlsx", title="\x00")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    assert xlsx_cell_values(sheet)[1][0] == "bell"


def test_xlsx_many_columns_get_two_letters() -> None:
    columns = [f"c{i}" for i in range(28)]
    content, _extension = render([{c: 1 for c in columns}], columns, "xlsx", title=TITLE)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert 'r="AB2"' in sheet


def test_csv_zip_contains_title_csv() -> None:
    content, _extension = render(ROWS, COLUMNS, "csv_zip", title=TITLE)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.namelist() == ["Business_Pulse_Friends.csv"]


def test_csv_zip_member_matches_csv() -> None:
    content, _extension = render(ROWS, COLUMNS, "csv_zip", title=TITLE)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        member = archive.read("Business_Pulse_Friends.csv")
    assert member == render(ROWS, COLUMNS, "csv", title=TITLE)[0]


def test_render_csv_zip_one_file_per_tile() -> None:
    content = render_csv_zip(
        [("Sales", ROWS, COLUMNS), ("Sales", ROWS[:1], ["brand"]), ("東京", [], ["brand"])]
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.namelist() == ["Sales.csv", "Sales_2.csv", "東京.csv"]


def test_render_csv_zip_tile_content() -> None:
    content = render_csv_zip([("Sales", ROWS, COLUMNS), ("Brands", ROWS[:1], ["brand"])])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.read("Brands.csv") == b"brand\r\nLevi's\r\n"


# ---------------------------------------------------------------------------------------------
# PDF stand-in
# ---------------------------------------------------------------------------------------------


def pdf_of(fmt: str = "wysiwyg_pdf", rows: list[dict] = ROWS, note: str | None = None) -> bytes:
    content, _extension = render(rows, COLUMNS, fmt, title=TITLE, stand_in_note=note)
    return content


def test_pdf_header_and_trailer() -> None:
    content = pdf_of()
    assert content.startswith(b"%PDF-1.4\n")
    assert content.endswith(b"%%EOF\n")


def test_pdf_xref_offsets_point_to_objects() -> None:
    content = pdf_of()
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF", content).group(1))
    assert content[startxref:].startswith(b"xref\n")
    entries = re.findall(rb"(\d{10}) 00000 n \n", content[startxref:])
    assert entries, "xref table has no in-use entries"
    for number, offset in enumerate(entries, start=1):
        assert content[int(offset) :].startswith(b"%d 0 obj\n" % number), f"object {number}"


def test_pdf_stream_lengths_are_exact() -> None:
    content = pdf_of()
    for match in re.finditer(rb"/Length (\d+) >>\nstream\n", content):
        end = match.end() + int(match.group(1))
        assert content[end : end + len(b"\nendstream")] == b"\nendstream"


@pytest.mark.parametrize("fmt", ["wysiwyg_pdf", "assembled_pdf"])
def test_pdf_first_line_states_stand_in(fmt: str) -> None:
    assert extract_pdf_text(pdf_of(fmt))[0] == f"Looker emulator stand-in for {fmt}, not a Looker rendering"


def test_pdf_first_line_carries_note() -> None:
    first_line = extract_pdf_text(pdf_of(note="filters ignored: Color"))[0]
    assert first_line.endswith(": filters ignored: Color")


def test_pdf_second_line_is_title() -> None:
    assert extract_pdf_text(pdf_of())[1] == TITLE


def test_pdf_lines_follow_stand_in_text() -> None:
    expected = stand_in_text_lines(ROWS, COLUMNS, "wysiwyg_pdf", title=TITLE)
    # Courier with WinAnsiEncoding shows Latin-1; other characters are written as '?'.
    expected = ["".join(c if ord(c) <= 0xFF else "?" for c in line) for line in expected]
    assert extract_pdf_text(pdf_of()) == expected


def test_pdf_row_line_escapes_round_trip() -> None:
    assert extract_pdf_text(pdf_of())[6] == "2024-05-04 | ?? (Tokyo) \\ store | Swim Wear | 0.1"


def test_pdf_keeps_latin1_letters() -> None:
    assert extract_pdf_text(pdf_of())[5].startswith('2024-05-03 | Zürich, "Ltd"')


def test_pdf_escapes_parentheses_and_backslash() -> None:
    assert b"(Tokyo\\) \\\\ store" in pdf_of()


def test_pdf_content_stream_is_uncompressed() -> None:
    assert b"/Filter" not in pdf_of()


def test_pdf_rows_metadata_exact() -> None:
    assert extract_pdf_rows(pdf_of()) == {"columns": COLUMNS, "rows": ROWS}


def test_pdf_title_metadata_utf16() -> None:
    encoded = b"<FEFF" + TITLE.encode("utf-16-be").hex().upper().encode("ascii") + b">"
    assert b"/Title " + encoded in pdf_of()


def test_pdf_many_rows_span_pages() -> None:
    rows = [{"created_date": f"d{i}", "brand": "b", "category": "c", "sale_price": i} for i in range(200)]
    content = pdf_of(rows=rows)
    page_count = int(re.search(rb"/Count (\d+)", content).group(1))
    assert page_count == 4


def test_pdf_many_rows_all_lines_extracted() -> None:
    rows = [{"created_date": f"d{i}", "brand": "b", "category": "c", "sale_price": i} for i in range(200)]
    lines = extract_pdf_text(pdf_of(rows=rows))
    assert lines[3:] == [f"d{i} | b | c | {i}" for i in range(200)]


def test_extract_pdf_text_rejects_other_data() -> None:
    with pytest.raises(ValueError, match="not a PDF"):
        extract_pdf_text(b"PK\x03\x04")


def test_extract_pdf_rows_rejects_foreign_pdf() -> None:
    with pytest.raises(ValueError, match="LookerEmulatorRows"):
        extract_pdf_rows(b"%PDF-1.4\n%%EOF\n")


# ---------------------------------------------------------------------------------------------
# PNG stand-in
# ---------------------------------------------------------------------------------------------


def png_of(note: str | None = None) -> bytes:
    content, _extension = render(ROWS, COLUMNS, "wysiwyg_png", title=TITLE, stand_in_note=note)
    return content


def png_chunks(content: bytes) -> list[tuple[bytes, bytes]]:
    chunks = []
    index = 8
    while index < len(content):
        (length,) = struct.unpack(">I", content[index : index + 4])
        chunks.append((content[index + 4 : index + 8], content[index + 8 : index + 8 + length]))
        index += 12 + length
    return chunks


def test_png_signature() -> None:
    assert png_of().startswith(b"\x89PNG\r\n\x1a\n")


def test_png_chunk_order() -> None:
    types = [chunk_type for chunk_type, _payload in png_chunks(png_of())]
    assert types[0] == b"IHDR"
    assert types[-1] == b"IEND"
    assert b"IDAT" in types


def test_png_pixels_decompress_to_image_size() -> None:
    chunks = dict(png_chunks(png_of()))
    width, height, bit_depth, color_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = zlib.decompress(chunks[b"IDAT"])
    assert (bit_depth, color_type) == (8, 0)
    assert len(raw) == height * (width + 1)


def test_png_first_text_states_stand_in() -> None:
    texts = extract_png_text(png_of())
    first_keyword = next(iter(texts))
    assert texts[first_keyword] == "Looker emulator stand-in for wysiwyg_png, not a Looker rendering"


def test_png_text_carries_note() -> None:
    assert extract_png_text(png_of(note="demo"))["Description"].endswith(": demo")


def test_png_rows_exact() -> None:
    assert extract_png_rows(png_of()) == {"columns": COLUMNS, "rows": ROWS}


def test_png_comment_has_row_lines() -> None:
    comment = extract_png_text(png_of())["Comment"]
    assert "2024-05-02 | O'Neill | Outerwear & Coats | 120" in comment.splitlines()


def test_extract_png_text_detects_bad_crc() -> None:
    content = png_of()
    index = content.index(b"Looker emulator")
    corrupted = content[:index] + b"l" + content[index + 1 :]
    with pytest.raises(ValueError, match="wrong CRC"):
        extract_png_text(corrupted)


def test_extract_png_text_rejects_other_data() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        extract_png_text(b"%PDF-1.4")
