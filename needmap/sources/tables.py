"""Read a CSV or Excel table the way people actually export them, with errors that name the file.

Handles a UTF-8 byte-order mark, Latin-1 files, ``;``/tab/``|`` delimiters, ``#`` comment lines and
title rows above the header (common in Excel exports). Every row keeps the line number a person
sees in a spreadsheet (``_row``), so later errors can name it.

Reading is bounded, so that a corrupt or hostile file ends in one error, not a traceback or an
exhausted machine: a NUL byte anywhere, UTF-8 mixed with another encoding, and any value over
``MAX_FIELD_CHARS`` are refused naming the row; a workbook's zip container is checked first
(``needmap.sources.workbook``) and its sheet read within a cell and a character budget.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from needmap.errors import InputError
from needmap.sources.workbook import MAX_FIELD_CHARS, check_workbook

ROW = "_row"
#: ``DataFrame.attrs`` key: the line number the header was read from (errors name it).
HEADER_LINE = "header_line"
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
_HEADER_SCAN_ROWS = 30
#: Cells that mean "no value" in exports (pyarrow's defaults; Excel writes #N/A, pandas NaN).
#: Every read path blanks them, so a file reads the same whichever parser handles it.
NULL_TOKENS = frozenset(
    ["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"]
)
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook (.xlsx) or another zip file",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF",
}


#: A valid UTF-8 sequence of two to four bytes (RFC 3629), i.e. a non-ASCII character in UTF-8.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _line_of(data: bytes | str, pos: int) -> int:
    """The 1-based line holding offset ``pos``: the row a text editor or spreadsheet shows."""
    return data.count(b"\n" if isinstance(data, bytes) else "\n", 0, pos) + 1


def _decode(path: Path) -> str:
    """The file's text: UTF-16 (with BOM), UTF-8, or else cp1252/Latin-1 throughout.

    A file that is UTF-8 in places and not in others (rows appended by another program) is
    refused rather than read as cp1252, which would garble every UTF-8 name and id.
    """
    data = path.read_bytes()
    for magic, what in _BINARY_SIGNATURES.items():
        if data.startswith(magic):
            raise InputError(
                f"{path}: this is {what}, not a text table. Give an Excel file a .xlsx name "
                "(needmap reads it directly) or export the records as CSV."
            )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-delimited.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            pass
        else:
            _refuse_nul(path, text)
            return text
    _refuse_nul(path, data)
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start + 3 * bom
    utf8 = _UTF8_MULTIBYTE.search(data)
    if bom or utf8:
        byte = data[bad]
        shown = bytes([byte]).decode("cp1252", errors="replace")
        evidence = (
            "the file starts with a UTF-8 byte-order mark" if bom else
            f"row {_line_of(data, utf8.start())} is UTF-8 "
            f"({utf8.group().decode('utf-8')!r})"
        )
        raise InputError(
            f"{path}, row {_line_of(data, bad)}: this row is not UTF-8 (byte 0x{byte:02X}, "
            f"{shown!r} in Windows-1252) but {evidence}: the file mixes two encodings, so names "
            "and ids would be garbled. Open it in Excel and save it again as \"CSV UTF-8\"."
        )
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: cannot decode the file as text. Save it as CSV (UTF-8).")


def _refuse_nul(path: Path, data: bytes | str) -> None:
    """No text export holds a NUL; one anywhere means binary content (or a corrupt file)."""
    pos = data.find(b"\x00" if isinstance(data, bytes) else "\x00")
    if pos >= 0:
        raise InputError(
            f"{path}, row {_line_of(data, pos)}: the file holds binary data (NUL bytes), not "
            "text. Export it again as CSV (UTF-8), or remove the corrupt rows."
        )


def _header_index(rows: list[list[str]]) -> int:
    """The first row that looks like a header: as wide as most of the first rows.

    Title rows ("Referrals export, run 01/04/2025") above the header have one or two filled cells;
    the header has a name in every column. The usual width, not the widest, is the yardstick, so
    one ragged data row (an unquoted comma) is not taken for the header.
    """
    widths = [sum(1 for cell in r if str(cell).strip()) for r in rows[:_HEADER_SCAN_ROWS]]
    filled = [w for w in widths if w]
    if not filled:
        return 0
    usual = max(set(filled), key=lambda w: (filled.count(w), w))
    for i, w in enumerate(widths):
        if w >= max(2, usual) or (usual == 1 and w == 1):
            return i
    return 0


def _frame(rows: list[list[str]], path: Path, first_line: int) -> pd.DataFrame:
    """Build a string DataFrame from raw rows; ``first_line`` is the line number of rows[0]."""
    h = _header_index(rows)
    header = [str(c).strip() for c in rows[h]]
    if not any(header):
        raise InputError(f"{path}: the file is empty. Export it again with a header row and data.")
    while header and not header[-1]:
        header.pop()
    seen: dict[str, int] = {}
    names = []
    for i, name in enumerate(header):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    body = rows[h + 1 :]
    width = len(names)
    records = []
    lines = []
    for j, r in enumerate(body):
        cells = [str(c) if c is not None else "" for c in r[:width]]
        if not any(c.strip() for c in cells):
            continue
        if any(str(c).strip() for c in r[width:]):
            raise InputError(_ragged_message(path, first_line + h + 1 + j, len(r), width))
        cells += [""] * (width - len(cells))
        records.append(cells)
        lines.append(first_line + h + 1 + j)
    df = pd.DataFrame(records, columns=names, dtype=object)
    df = df.apply(_clean) if len(df) else df
    df[ROW] = pd.array(lines, dtype="int64")
    _refuse_long_values(df, path)
    df.attrs[HEADER_LINE] = first_line + h
    return df


_NULLS = pa.array(sorted(NULL_TOKENS), pa.string())


def _clean(s: pd.Series) -> pd.Series:
    """Strip spaces and blank the spreadsheet null tokens, in Arrow (fast on a million rows)."""
    values = s.array if s.dtype != object else s.to_numpy(dtype=object, na_value=None)
    arr = pc.utf8_trim_whitespace(pa.array(values, pa.string()))
    arr = pc.if_else(pc.is_in(arr, value_set=_NULLS), "", arr)
    return pd.Series(arr.to_pandas(types_mapper=pd.ArrowDtype), index=s.index,
                     name=s.name).astype("str")


def _ragged_message(path: Path, line: int, found: int, width: int) -> str:
    return (
        f"{path}, row {line}: {found} cells where the header has {width}. A value probably holds "
        "the delimiter without quotes (e.g. Individual, neighbour); put such values in double "
        "quotes or export again."
    )


def _locate_bad_row(path: Path, body: str, delimiter: str, first_line: int) -> str | None:
    """Name the first row with more cells than the header, or a quote never closed.

    Rows with fewer cells are not a problem: they are padded with blanks, as Excel expects.
    """
    unclosed = (
        "{path}, row {row}: a double quote opened in this row is never closed, so the rest of "
        "the file reads as one value. Close or remove the quote."
    )
    reader = csv.reader(io.StringIO(body), delimiter=delimiter)
    width = None
    start = first_line
    row: list[str] = []
    try:
        for row in reader:
            if width is None:
                width = len(row)
            elif any("\n" in c for c in row) and len(row) != width:
                return unclosed.format(path=path, row=start)
            elif len(row) > width and any(c.strip() for c in row[width:]):
                return _ragged_message(path, start, len(row), width)
            last_start, start = start, first_line + reader.line_num
    except csv.Error:
        return None
    if width is not None and any("\n" in c for c in row):
        return unclosed.format(path=path, row=last_start)
    return None


def read_table(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV or Excel file into a DataFrame of stripped strings plus a ``_row`` column.

    Raises
    ------
    InputError
        The file is missing, empty, has only a header, or the Excel sheet does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: file not found. Check the path in your config (paths are relative to the "
            "config file)."
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes). Export it again.")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        df = _read_excel(path, sheet)
    else:
        df = _read_text(path)
    if df.empty:
        raise InputError(
            f"{path}: the file has a header but no data rows. Export it again with the records."
        )
    return df


def _read_text(path: Path) -> pd.DataFrame:
    text = _decode(path)
    lines = text.splitlines()
    skipped = 0
    while skipped < len(lines) and (not lines[skipped].strip() or lines[skipped].startswith("#")):
        skipped += 1
    body = "\n".join(lines[skipped:])
    if not body.strip():
        raise InputError(f"{path}: the file is empty (no header row). Export it again.")
    _refuse_long_lines(path, lines, skipped)
    sample = "\n".join(lines[skipped : skipped + 20])
    # A title row without any delimiter ("Referrals export") would throw the sniffer off.
    tabular = [line for line in lines[skipped : skipped + 20] if any(d in line for d in ",;\t|")]
    try:
        delimiter = csv.Sniffer().sniff("\n".join(tabular) or sample, delimiters=",;\t|").delimiter
    except csv.Error:
        # No consistent pattern (e.g. one ragged row): the delimiter on most lines wins.
        delimiter = max(",;\t|", key=lambda d: (sum(d in line for line in tabular),
                                                sum(line.count(d) for line in tabular)))
    if sum(1 for line in lines[skipped : skipped + 3] if line.strip()) < 2:
        raise InputError(
            f"{path}: the file has a header but no data rows. Export it again with the records."
        )
    head = _csv_rows(sample, delimiter, path, first_line=skipped + 1)
    h = _header_index(head)
    if h:
        # Title rows above the header: the slow, careful path.
        rows = _csv_rows(body, delimiter, path, first_line=skipped + 1)
        return _frame(rows, path, first_line=skipped + 1)
    # The common case goes through a fast parser: pyarrow reads a million rows in a fraction of a
    # second, but it skips blank lines, which would shift row numbers; then pandas' C parser.
    try:
        if "\n\n" not in body and "\n\r\n" not in body:
            df = pd.read_csv(io.BytesIO(body.encode("utf-8")), sep=delimiter, dtype=str,
                             engine="pyarrow").fillna("")
        else:
            df = pd.read_csv(io.StringIO(body), sep=delimiter, dtype=str, keep_default_na=False,
                             skip_blank_lines=False).fillna("")
    except (pd.errors.ParserError, ValueError) as exc:
        problem = _locate_bad_row(path, body, delimiter, skipped + 1)
        if problem:
            raise InputError(problem) from None
        try:  # only short rows: pandas' C parser pads them with blanks
            df = pd.read_csv(io.StringIO(body), sep=delimiter, dtype=str, keep_default_na=False,
                             skip_blank_lines=False).fillna("")
        except (pd.errors.ParserError, ValueError):
            raise InputError(
                f"{path}: cannot parse as a delimited table ({str(exc)[:200]}). Check the "
                "delimiter and quoting."
            ) from None
    df.columns = [str(c).strip() for c in df.columns]
    df[ROW] = pd.RangeIndex(len(df)) + skipped + 2
    cols = [c for c in df.columns if c != ROW]
    df[cols] = df[cols].apply(_clean)
    _refuse_long_values(df, path)
    filled = (df[cols] != "").any(axis=1)
    out = df.loc[filled].reset_index(drop=True)
    out.attrs[HEADER_LINE] = skipped + 1
    return out


def _csv_rows(text: str, delimiter: str, path: Path, *, first_line: int) -> list[list[str]]:
    """Parse with Python's csv module, whose one error here is a value over its field limit."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    start = first_line  # the line the current row starts on
    try:
        for row in reader:
            rows.append(row)
            start = first_line + reader.line_num
    except csv.Error:
        _raise_long(path, start, "", None)
    return rows


def _refuse_long_lines(path: Path, lines: list[str], skipped: int) -> None:
    """Refuse a value longer than ``MAX_FIELD_CHARS`` before any parser meets it.

    Python's csv module stops at such a field with its own error, pyarrow's reader at a line
    longer than its block. Only lines that long are looked at, field by field, and the column is
    named from the line above that looks like the header.
    """
    i = next((i for i, line in enumerate(lines) if len(line) > MAX_FIELD_CHARS), None)
    if i is None:
        return
    head = [line for line in lines[skipped:i] if line.strip()][:_HEADER_SCAN_ROWS]
    delimiter = max(",;\t|", key=lambda d: sum(line.count(d) for line in head + [lines[i]]))
    try:
        rows = list(csv.reader(io.StringIO("\n".join(head)), delimiter=delimiter))
    except csv.Error:  # a long quoted value over several lines: no header to name
        rows = []
    header = rows[_header_index(rows)] if rows else []
    for j, n in enumerate(_field_lengths(lines[i], delimiter)):
        if n > MAX_FIELD_CHARS:
            column = f", column '{header[j].strip()}'" if j < len(header) else f", column {j + 1}"
            _raise_long(path, i + 1, column, n)


def _field_lengths(line: str, delimiter: str):
    """Length of each field of one delimited line, quotes respected, without copying a field."""
    quoted = re.compile(r'"[^"]*(?:""[^"]*)*"')
    pos = 0
    while pos <= len(line):
        m = quoted.match(line, pos)
        end = line.find(delimiter, m.end() if m else pos)
        end = len(line) if end < 0 else end
        yield end - pos - (2 if m and m.end() == end else 0)
        pos = end + 1


def _raise_long(path: Path, row: int, column: str, n: int | None) -> None:
    size = f"of {n:,} characters, over" if n else "longer than"
    raise InputError(
        f"{path}, row {row}{column}: a value {size} the limit of {MAX_FIELD_CHARS:,} characters; "
        "a records export holds ids, dates and places, never text this long (a quote left open "
        "can also run on). Fix or clear the cell, or export the file again without that column."
    )


def _refuse_long_values(df: pd.DataFrame, path: Path) -> None:
    """Refuse a parsed value longer than ``MAX_FIELD_CHARS`` (one spanning lines, in quotes)."""
    for column in df.columns:
        if column == ROW or not len(df):
            continue
        lengths = df[column].str.len()
        if lengths.max() > MAX_FIELD_CHARS:
            k = int(np.flatnonzero((lengths > MAX_FIELD_CHARS).to_numpy(dtype=bool))[0])
            _raise_long(path, int(df[ROW].iloc[k]), f", column '{column}'", int(lengths.iloc[k]))


def _read_excel(path: Path, sheet: str | None) -> pd.DataFrame:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise InputError(f"{path}: reading Excel needs openpyxl (pip install openpyxl).") from exc
    check_workbook(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        with path.open("rb") as fh:
            start = fh.read(4096)
        if b"\x00" not in start and not start.startswith(b"PK"):
            raise InputError(
                f"{path}: cannot open as an Excel workbook: it is a text file with an Excel name. "
                "If it is a CSV export, give it a .csv name."
            ) from None
        raise InputError(
            f"{path}: cannot open as an Excel workbook ({_excel_problem(exc)}). Save it as .xlsx "
            "or export CSV."
        ) from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise InputError(
                f"{path}: no sheet named '{sheet}'. Sheets found: {', '.join(book.sheetnames)}. "
                "Set sheet = \"...\" in the config to one of these."
            )
        rows = _excel_rows(ws, path)
    except InputError:
        raise
    except Exception as exc:  # the sheet is parsed lazily: its faults surface here
        raise InputError(
            f"{path}: cannot read the sheet ({_excel_problem(exc)}). Save it as .xlsx again or "
            "export CSV."
        ) from None
    finally:
        book.close()
    if not rows or not any(any(str(c).strip() for c in r) for r in rows):
        raise InputError(f"{path}: the sheet is empty. Choose the sheet that holds the records.")
    return _frame(rows, path, first_line=1)


#: Cells read from one sheet at most (the gaps inside rows count): 5 million is 250,000 rows of
#: 20 columns; openpyxl reads them in about 80 s, within 700 MB of memory.
MAX_EXCEL_CELLS = 5_000_000
#: Characters read from one sheet at most. A workbook stores each distinct text once, so one long
#: text used by a million cells is small in the file but would be a million copies in memory.
MAX_EXCEL_CHARS = 100_000_000


def _excel_rows(ws, path: Path) -> list[list[str]]:
    """The sheet's rows as text, trailing blanks dropped, within the cell and character limits.

    The sheet size a file claims is ignored (``reset_dimensions``): openpyxl would pad every row
    to it, and a few kilobytes can claim all 17 billion cells of the Excel grid.
    """
    ws.reset_dimensions()
    rows: list[list[str]] = []
    cells = chars = 0
    for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
        n = len(values)
        while n and values[n - 1] is None:
            n -= 1
        row = ["" if v is None else _excel_cell(v) for v in values[:n]]
        cells += n
        chars += sum(map(len, row))
        if cells > MAX_EXCEL_CELLS or chars > MAX_EXCEL_CHARS:
            what = (f"{MAX_EXCEL_CELLS:,} cells (counting blanks inside rows)"
                    if cells > MAX_EXCEL_CELLS else f"{MAX_EXCEL_CHARS:,} characters of text")
            raise InputError(
                f"{path}, row {i}: the sheet holds more than {what}, more than needmap reads "
                "from Excel. Delete unused columns and rows, or export the records as CSV "
                "(UTF-8): needmap reads CSV of any size."
            )
        rows.append(row)
    return rows


def _excel_problem(exc: Exception) -> str:
    """Name what openpyxl met; defusedxml's refusals say it is unsafe XML."""
    if type(exc).__module__.startswith("defusedxml"):
        return "it declares XML entities or a DTD, which Excel never writes; refused as unsafe"
    return type(exc).__name__


def _excel_cell(v: object) -> str:
    import datetime as dt

    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def require_columns(df: pd.DataFrame, columns: dict[str, str], path: Path, section: str) -> None:
    """Fail with the list of columns found when a configured column is absent.

    ``columns`` maps the config key (e.g. ``children_column``) to the column it names.
    """
    found = [c for c in df.columns if c != ROW]
    for key, col in columns.items():
        if col not in df.columns:
            raise InputError(
                f"{path}: column '{col}' not found (config [{section}] {key}). Columns found: "
                f"{', '.join(found)}. Set {key} in the config to the right one."
            )


_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def to_float(values: pd.Series) -> np.ndarray:
    """Text to float, NaN where a cell is blank or not a number.

    Done in Arrow rather than ``pd.to_numeric``: eight times faster on a million coordinates.
    """
    arr = pa.array(values.astype("string").to_numpy(dtype=object, na_value=None), pa.string())
    ok = pc.fill_null(pc.match_substring_regex(arr, _NUMBER), False)
    parsed = pc.cast(pc.if_else(ok, pc.utf8_trim_whitespace(arr), None), pa.float64())
    return parsed.to_numpy(zero_copy_only=False).astype(float)


def numeric_column(
    df: pd.DataFrame, column: str, path: Path, *, required: bool = True
) -> pd.Series:
    """Parse a column of numbers that may carry thousands separators ("29,199").

    Blank cells become NaN (an error when ``required``); text that is not a number is an error
    that names the row.
    """
    raw = df[column].astype("string").str.replace(",", "", regex=False).str.strip()
    values = pd.Series(to_float(raw), index=df.index)
    bad = values.isna() & raw.fillna("").ne("")
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{path}, row {df[ROW].iloc[i]}, column '{column}': {raw.iloc[i]!r} is not a number. "
            "Fix the cell or the column mapping in the config."
        )
    if required and values.isna().any():
        i = values.isna().to_numpy().nonzero()[0][0]
        raise InputError(
            f"{path}, row {df[ROW].iloc[i]}, column '{column}': the value is blank. Every row "
            "needs one; fill it in or point the config at a complete column."
        )
    return values.astype("float64")
