"""Builders of hostile input files, shared by ``tests/test_hostile_files.py`` and
``bench/hostile_files.py``.

Each builder writes one file to ``dest``; size parameters let the tests use small variants and the
benchmark the full-size ones the reporter used (a 1 GB shared string in a 1 MB workbook). Every
big file is written as a stream, so building it never holds it in memory.
"""

from __future__ import annotations

import os
import re
import zipfile
from html import escape
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
WARDS = ROOT / "boundaries/wards_may2023_bgc_oldham.parquet"
LSOAS = ROOT / "boundaries/lsoa21_bgc_oldham.parquet"
POSTCODES = ROOT / "data/postcodes_oldham_codepoint_open_2025_10.csv"
HEADER = ["cin_referral_id", "person_id", "cin_referral_date", "postcode", "referral_source",
          "referral_outcome"]
_PLACEHOLDER = "NEEDMAP-HOSTILE-PLACEHOLDER"
_CHUNK = 1 << 24


def good_rows() -> list[list[str]]:
    """Twelve synthetic referrals with real Oldham postcodes, header first."""
    lines = (CORPUS / "semicolon_delimited.csv").read_text(encoding="utf-8").splitlines()
    return [line.split(";") for line in lines]


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
        f'Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}"><sheets>'
        '<sheet name="Referrals" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


_LETTERS = bytes(ord("A") + i % 26 for i in range(256))


def _fill(n_bytes: int, fill: bytes | None = b"A"):
    """``n_bytes`` of ``fill`` (``None``: random capital letters) in chunks, never all at once."""
    block = b"" if fill is None else fill * (_CHUNK // len(fill))
    while n_bytes > 0:
        if fill is None:
            block = os.urandom(min(n_bytes, _CHUNK)).translate(_LETTERS)
        yield block[: min(n_bytes, len(block))]
        n_bytes -= len(block)


def _expand(text: str, n_bytes: int, fill: bytes | None = b"A"):
    """``text`` as bytes with the placeholder replaced by ``n_bytes`` of ``fill``, in chunks."""
    before, after = text.encode().split(_PLACEHOLDER.encode(), 1)
    yield before
    yield from _fill(n_bytes, fill)
    yield after


def write_xlsx(dest: Path, rows: list[list[str]], *, shared=None, sheet=None) -> None:
    """Write ``rows`` as a minimal workbook the way Excel does: text as shared strings.

    ``shared`` and ``sheet`` turn the XML text of the shared-strings part or the worksheet into
    the byte chunks to store (for the hostile variants); by default it is stored as it is.
    """
    from openpyxl.utils import get_column_letter

    index: dict[str, int] = {}
    cells = []
    for i, row in enumerate(rows, start=1):
        refs = []
        for j, value in enumerate(row, start=1):
            k = index.setdefault(value, len(index))
            refs.append(f'<c r="{get_column_letter(j)}{i}" t="s"><v>{k}</v></c>')
        cells.append(f'<row r="{i}">{"".join(refs)}</row>')
    width = max(len(r) for r in rows)
    sheet_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_MAIN}">'
        f'<dimension ref="A1:{get_column_letter(width)}{len(rows)}"/>'
        f'<sheetData>{"".join(cells)}</sheetData></worksheet>'
    )
    strings_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{_MAIN}" '
        f'count="{sum(map(len, rows))}" uniqueCount="{len(index)}">'
        + "".join(f"<si><t>{escape(s)}</t></si>" for s in index)
        + "</sst>"
    )
    parts = {
        **{name: [text.encode()] for name, text in _PARTS.items()},
        "xl/worksheets/sheet1.xml": (sheet or (lambda t: [t.encode()]))(sheet_xml),
        "xl/sharedStrings.xml": (shared or (lambda t: [t.encode()]))(strings_xml),
    }
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, chunks in parts.items():
            with z.open(name, "w", force_zip64=True) as fh:
                for chunk in chunks:
                    fh.write(chunk)


def _with_placeholder(row: int, column: int) -> list[list[str]]:
    rows = good_rows()
    rows[row - 1][column - 1] = _PLACEHOLDER
    return rows


def xlsx_long_shared_string(dest: Path, n_chars: int, *, row: int = 5, column: int = 2,
                            random: bool = False) -> None:
    """A referrals workbook whose cell (``row``, ``column``) is one shared string of ``n_chars``.

    ``row`` is the spreadsheet row (header = 1), ``column`` 1-based (2 = person_id). Deflate
    shrinks the repeated letter about a thousandfold: 1 GB of text makes a 1 MB file. ``random``
    letters instead barely compress (no zip bomb, just one huge value).
    """
    fill = None if random else b"A"
    write_xlsx(dest, _with_placeholder(row, column), shared=lambda t: _expand(t, n_chars, fill))


def xlsx_repeated_string(dest: Path, n_chars: int, n_rows: int) -> None:
    """A workbook of ``n_rows`` rows whose ``person_id`` is the same ``n_chars``-long text.

    The workbook stores the text once; read naively, every row holds its own copy.
    """
    rows = good_rows()
    body = [list(rows[1 + i % 12]) for i in range(n_rows)]
    for i, r in enumerate(body):
        r[0], r[1] = f"R{i:07d}", _PLACEHOLDER
    write_xlsx(dest, [rows[0], *body], shared=lambda t: _expand(t, n_chars))


def xlsx_styles(dest: Path, n_styles: int) -> None:
    """A referrals workbook whose style sheet lists ``n_styles`` cell formats, all different.

    openpyxl parses the style sheet whole, into objects: 20 MB of it took 346 MB and 11 s.
    """
    write_xlsx(dest, good_rows())
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{_MAIN}">'
        '<fonts count="1"><font/></fonts><fills count="1"><fill><patternFill '
        'patternType="none"/></fill></fills><borders count="1"><border/></borders>'
        f'<cellXfs count="{n_styles}">'
    )
    with zipfile.ZipFile(dest, "a", zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/styles.xml", "w", force_zip64=True) as fh:
            fh.write(head.encode())
            for start in range(0, n_styles, 10_000):
                fh.write("".join(
                    f'<xf numFmtId="{i % 50}" fontId="0" fillId="0" borderId="0" xfId="{i}"/>'
                    for i in range(start, min(n_styles, start + 10_000))
                ).encode())
            fh.write(b"</cellXfs></styleSheet>")


def xlsx_many_parts(dest: Path, n_parts: int) -> None:
    """A valid referrals workbook with ``n_parts`` extra empty parts (zipfile lists each one)."""
    write_xlsx(dest, good_rows())
    with zipfile.ZipFile(dest, "a") as z:
        for i in range(n_parts):
            z.writestr(f"xl/media/empty{i}.bin", b"")


def xlsx_number_grid(dest: Path, n_rows: int, n_cols: int) -> None:
    """A sheet of ``n_rows`` x ``n_cols`` distinct numbers under a header: the most memory per
    cell a workbook can cost once read (each number becomes its own string), streamed out.
    """
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(j) for j in range(1, n_cols + 1)]

    def sheet(text: str):
        head, tail = text.split("</sheetData>", 1)
        yield head.encode()
        for start in range(2, n_rows + 2, 10_000):
            yield "".join(
                f'<row r="{i}">'
                + "".join(f'<c r="{c}{i}"><v>{i * n_cols + j}</v></c>'
                          for j, c in enumerate(letters))
                + "</row>"
                for i in range(start, min(start + 10_000, n_rows + 2))
            ).encode()
        yield ("</sheetData>" + tail).encode()

    write_xlsx(dest, [[f"column_{j}" for j in range(1, n_cols + 1)]], sheet=sheet)


def xlsx_long_inline_string(dest: Path, n_chars: int, *, row: int = 5, column: int = 2,
                            random: bool = False) -> None:
    """As ``xlsx_long_shared_string`` but the text sits in the worksheet (``t="inlineStr"``)."""
    from openpyxl.utils import get_column_letter

    ref = f"{get_column_letter(column)}{row}"

    def inline(sheet: str):
        start = sheet.index(f'<c r="{ref}"')
        end = sheet.index("</c>", start) + len("</c>")
        cell = f'<c r="{ref}" t="inlineStr"><is><t>{_PLACEHOLDER}</t></is></c>'
        return _expand(sheet[:start] + cell + sheet[end:], n_chars, None if random else b"A")

    write_xlsx(dest, good_rows(), sheet=inline)


def xlsx_sheet_padding(dest: Path, n_bytes: int) -> None:
    """A workbook whose worksheet XML carries ``n_bytes`` of blank space: a plain zip bomb."""
    write_xlsx(dest, good_rows(), sheet=lambda t: _expand(
        t.replace("<sheetData>", f"<sheetData>{_PLACEHOLDER}", 1), n_bytes, fill=b" "))


def xlsx_entities(dest: Path, *, levels: int = 9) -> None:
    """A workbook whose shared strings use nested XML entities ("billion laughs")."""
    entities = ['<!ENTITY e0 "laugh">'] + [
        f'<!ENTITY e{i} "{("&e" + str(i - 1) + ";") * 10}">' for i in range(1, levels + 1)
    ]
    doctype = "<!DOCTYPE sst [" + "".join(entities) + "]>"

    def shared(text: str):
        head, body = text.split("?>", 1)
        return [(head + "?>" + doctype + body.replace(_PLACEHOLDER, f"&e{levels};")).encode()]

    write_xlsx(dest, _with_placeholder(5, 2), shared=shared)


def xlsx_sparse(dest: Path) -> None:
    """A workbook whose sheet claims the full Excel grid (A1:XFD1048576) and fills one far cell.

    openpyxl's read-only mode trusts the claimed size and pads every row to it: 17 billion cells
    out of a few kilobytes.
    """
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'

    def sheet(text: str):
        text = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', text)
        return [text.replace("</sheetData>", far + "</sheetData>", 1).encode()]

    write_xlsx(dest, good_rows(), sheet=sheet)


def _csv_lines(n_rows: int) -> list[str]:
    """``n_rows`` synthetic referrals (the twelve repeated with fresh ids), header first."""
    rows = good_rows()
    out = [",".join(rows[0])]
    for i in range(n_rows):
        r = list(rows[1 + i % 12])
        r[0], r[1] = f"R{i:06d}", f"P{i:06d}"
        out.append(",".join(r))
    return out


def csv_long_field(dest: Path, n_chars: int, *, row: int = 3) -> None:
    """A referrals CSV whose ``person_id`` on line ``row`` is ``n_chars`` long."""
    lines = _csv_lines(12)
    cells = lines[row - 1].split(",")
    cells[1] = "P" * n_chars
    lines[row - 1] = ",".join(cells)
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")


def csv_nul_late(dest: Path, *, n_rows: int = 3000, row: int = 2500) -> Path:
    """A referrals CSV with a NUL inside ``person_id`` on line ``row``, past the first 64 KB."""
    lines = _csv_lines(n_rows)
    cells = lines[row - 1].split(",")
    cells[1] = "P\x00" + cells[1][1:]
    lines[row - 1] = ",".join(cells)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    assert data.index(b"\x00") > 65536
    dest.write_bytes(data)
    return dest


def csv_mixed_encoding(dest: Path, *, utf8_row: int = 3, cp1252_row: int = 9) -> None:
    """A referrals CSV that is UTF-8 except one line written by a cp1252 program."""
    lines = _csv_lines(12)
    lines[0] += ",child_name"
    for i in range(1, len(lines)):
        lines[i] += ",Sam"
    lines[utf8_row - 1] = lines[utf8_row - 1][: -len("Sam")] + "Zoë"
    data = [(line + "\n").encode("utf-8") for line in lines]
    data[cp1252_row - 1] = (lines[cp1252_row - 1][: -len("Sam")] + "Renée\n").encode("cp1252")
    dest.write_bytes(b"".join(data))


def _read(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)


def _swapped(path: Path) -> gpd.GeoDataFrame:
    gdf = _read(path).to_crs("EPSG:4326")
    gdf.geometry = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1])
    return gdf


def wards_latlon_swapped(dest: Path) -> None:
    """The Oldham wards as GeoJSON with each point written (latitude, longitude)."""
    dest.write_text(_swapped(WARDS).to_json())


def lsoa_latlon_swapped(dest: Path) -> None:
    """The Oldham LSOAs as GeoJSON with each point written (latitude, longitude)."""
    dest.write_text(_swapped(LSOAS).to_json())


def wards_wrong_crs(dest: Path) -> None:
    """The Oldham wards in British National Grid metres, labelled as Web Mercator (EPSG:3857)."""
    _read(WARDS).to_crs("EPSG:27700").set_crs("EPSG:3857", allow_override=True).to_file(
        dest, driver="GPKG"
    )


def postcodes_swapped(dest: Path) -> None:
    """The Oldham postcode table with eastings and northings exchanged."""
    pc = pd.read_csv(POSTCODES, dtype=str, keep_default_na=False)
    pc["eastings"], pc["northings"] = pc["northings"].copy(), pc["eastings"].copy()
    pc.to_csv(dest, index=False)
