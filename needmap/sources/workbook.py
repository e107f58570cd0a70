"""Check an Excel workbook's zip container before openpyxl opens it: bounded sizes, no bombs.

An .xlsx is a zip of XML parts, and its central directory states every part's inflated size.
Python's ``zipfile`` never inflates a part beyond the size it states (and then fails its CRC
check), so the directory can be trusted to bound memory. openpyxl, even in read-only mode, loads
every shared string into memory at once, trusts the sheet size a file claims (and pads rows to
it), and reads DTDs unless ``defusedxml`` is installed (a dependency of needmap). A 1 MB workbook
holding one 1 GB shared string took 4.1 GB of memory to read; a 2 GB one ended in an Arrow
overflow. Hence, before openpyxl sees the file:

- at most ``MAX_PARTS`` parts, counted from the zip's end record before ``zipfile`` lists them;
- the parts together may inflate to at most ``MAX_INFLATED_BYTES``, the shared strings to at
  most ``MAX_SHARED_STRINGS_BYTES``, and the other XML parts (styles, workbook, relationships),
  which openpyxl parses whole into objects, to ``MAX_OTHER_XML_BYTES`` together (a 20 MB style
  sheet took 346 MB and 11 s to load; a real one is well under 1 MB);
- no part larger than 1 MB may inflate more than ``MAX_RATIO`` times (Apache POI's
  ``ZipSecureFile`` uses the same 1:100 floor; the XML of real exports inflates 5 to 20 times);
- only stored and deflated parts (what Excel writes; bzip2 and LZMA parts inflate unbounded in
  one call);
- no DTD in the shared strings or worksheets (Excel never writes one; entity expansion is the
  "billion laughs" attack);
- no text in them longer than ``MAX_FIELD_CHARS``: the parts are streamed through in 1 MB chunks
  and the longest run between two tags measured, so one huge string is found without holding it.

Streaming the two kinds of part takes about as long as inflating them: 0.9 s for a 162 MB
worksheet of 5 million cells.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from needmap.errors import InputError

#: The longest value a cell may hold, in characters: Python's csv module's default limit, four
#: times Excel's own 32,767 (so nothing Excel writes is refused).
MAX_FIELD_CHARS = 131_072
MAX_INFLATED_BYTES = 500_000_000
MAX_SHARED_STRINGS_BYTES = 100_000_000
MAX_OTHER_XML_BYTES = 20_000_000
MAX_RATIO = 100
MAX_PARTS = 10_000
#: The end-of-central-directory record is 22 bytes plus a comment of up to 65,535.
_END_SEARCH = 22 + 65_535
_RATIO_GRACE_BYTES = 1_000_000
_CHUNK = 1 << 20
#: Bytes per character at most in the XML of a cell's text (``&quot;`` stands for one ").
_XML_BYTES_PER_CHAR = 6
_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_SHARED = "xl/sharedStrings.xml"
_OTHER_XML = re.compile(r"\.(xml|rels)$", re.IGNORECASE)
_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]+[0-9]+)"')
_MB = 1e6

_FIX_CSV = "Open it in Excel and save it again, or export the records as CSV (UTF-8)."


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose parts are too big, inflate too much or carry a DTD or huge text.

    A file that is not a zip is left to openpyxl, whose error says what it is.

    Raises
    ------
    InputError
        Naming the file, the part (and the row and column of a huge value), and the fix.
    """
    parts = _count_parts(path)
    if parts is None:
        return
    if parts > MAX_PARTS:
        raise InputError(
            f"{path}: the workbook holds {parts:,} parts; a workbook holds tens, a few thousand "
            f"with many sheets, and more than {MAX_PARTS:,} are refused. {_FIX_CSV}"
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with archive:
        infos = archive.infolist()
        for info in infos:
            _check_part(path, info)
        other = sum(i.file_size for i in infos if _OTHER_XML.search(i.filename)
                    and i.filename != _SHARED and not _SHEET.match(i.filename))
        if other > MAX_OTHER_XML_BYTES:
            raise InputError(
                f"{path}: the workbook's other XML parts (styles, workbook, relationships) "
                f"inflate to {other / _MB:,.0f} MB, over the {MAX_OTHER_XML_BYTES / _MB:,.0f} MB "
                f"limit; openpyxl reads them whole, at some 16 bytes of memory a byte. {_FIX_CSV}"
            )
        total = sum(i.file_size for i in infos)
        if total > MAX_INFLATED_BYTES:
            raise InputError(
                f"{path}: the workbook inflates to {total / _MB:,.0f} MB of XML, over the "
                f"{MAX_INFLATED_BYTES / _MB:,.0f} MB needmap reads from Excel. Export the records "
                "as CSV (UTF-8): needmap reads CSV of any size."
            )
        parts = [i for i in infos if i.filename == _SHARED or _SHEET.match(i.filename)]
        for info in parts:
            _scan_part(path, archive, info, [i for i in parts if i.filename != _SHARED])


def _count_parts(path: Path) -> int | None:
    """The number of parts the zip's end record states, read before ``zipfile`` lists them all.

    ``zipfile`` builds an object per part: 400,000 empty parts (a 37 MB file) took 230 MB and
    4.5 s to list, and openpyxl lists them again. None when the file is not a zip.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _END_SEARCH))
        end = fh.read()
        i = end.rfind(b"PK\x05\x06")
        if i < 0 or len(end) < i + 22:
            return None
        count = int.from_bytes(end[i + 10 : i + 12], "little")
        locator = end[i - 20 : i] if i >= 20 else b""
        if count == 0xFFFF and locator.startswith(b"PK\x06\x07"):  # ZIP64: the count is there
            fh.seek(int.from_bytes(locator[8:16], "little"))
            record = fh.read(56)
            if record.startswith(b"PK\x06\x06") and len(record) == 56:
                count = int.from_bytes(record[32:40], "little")
    return count


def _check_part(path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputError(
            f"{path}: part {name} is compressed with method {info.compress_type}, which Excel "
            f"never uses (only deflate). {_FIX_CSV}"
        )
    if name == _SHARED and info.file_size > MAX_SHARED_STRINGS_BYTES:
        raise InputError(
            f"{path}: the workbook's text values (its shared strings) inflate to "
            f"{info.file_size / _MB:,.0f} MB, over the {MAX_SHARED_STRINGS_BYTES / _MB:,.0f} MB "
            "limit; a records export holds far less. Export the records as CSV (UTF-8)."
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > _RATIO_GRACE_BYTES and ratio > MAX_RATIO:
        raise InputError(
            f"{path}: part {name} inflates {ratio:,.0f} times ({info.compress_size / _MB:,.1f} MB "
            f"to {info.file_size / _MB:,.0f} MB); real workbooks inflate less than {MAX_RATIO} "
            f"times, so this looks like a zip bomb and is refused. {_FIX_CSV}"
        )


def _scan_part(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
               sheets: list[zipfile.ZipInfo]) -> None:
    """Stream one part: refuse a DTD, and text longer than ``MAX_FIELD_CHARS``, naming its cell.

    Text cannot hold a ``<`` (XML escapes it), so the longest run of bytes between two ``<`` bounds
    the longest value. The count of shared strings (or the last cell reference of a sheet) is
    kept on the way, so the cell can be named; ``tail`` carries the end of one chunk into the
    next for the tags that straddle two chunks.
    """
    limit = MAX_FIELD_CHARS * _XML_BYTES_PER_CHAR
    shared = info.filename == _SHARED
    run = 0  # bytes without '<' at the end of what was read so far
    tail = b""
    items = 0  # shared strings (<si>) so far
    ref = None  # the last cell reference (<c r="B7">) so far
    with archive.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            window, off = tail + chunk, len(tail)
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                raise InputError(
                    f"{path}: part {info.filename} declares a DTD or XML entities, which Excel "
                    f"never writes and which can expand without bound; refused. {_FIX_CSV}"
                )
            start = _long_run(chunk, run, limit)
            if start is not None:
                head = window[: off + start]
                item = items + _count_items(head) - _count_items(tail) if shared else 0
                _too_long(path, archive, info, sheets, item - 1, _last_ref(head) or ref)
            if shared:
                items += _count_items(window) - _count_items(tail)
            else:
                ref = _last_ref(window) or ref
            last = chunk.rfind(b"<")
            run = len(chunk) - 1 - last if last >= 0 else run + len(chunk)
            tail = window[-64:]
    if run > limit:  # text running to the end of the part
        _too_long(path, archive, info, sheets, items - 1, ref)


def _long_run(chunk: bytes, run: int, limit: int) -> int | None:
    """Where in ``chunk`` a run without ``<`` longer than ``limit`` starts (0: in an earlier
    chunk, ``run`` bytes ago), or None.

    XML has a ``<`` every few bytes, so a few ``find`` calls show there is no long run: every
    stretch of ``limit // 2`` bytes between the first and last ``<`` holds one. Only a chunk that
    fails this is searched exactly.
    """
    first = chunk.find(b"<")
    if first < 0:
        return 0 if run + len(chunk) > limit else None
    if run + first > limit:
        return 0
    last = chunk.rfind(b"<")
    half = limit // 2
    if all(chunk.find(b"<", s + 1, s + 1 + half) >= 0 for s in range(first, last, half)):
        return None
    tags = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("<"))
    gaps = np.diff(tags)
    k = int(np.argmax(gaps))
    return int(tags[k]) + 1 if int(gaps[k]) - 1 > limit else None


def _count_items(data: bytes) -> int:
    return data.count(b"<si>") + data.count(b"<si ")


def _last_ref(data: bytes) -> str | None:
    """The reference of the last complete cell tag in ``data`` (``<c r="B7" ...``), if any."""
    end = len(data)
    while (i := data.rfind(b"<c ", 0, end)) >= 0:
        m = _CELL.match(data, i, i + 128)
        if m:
            return m[1].decode()
        end = i
    return None


def _too_long(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
              sheets: list[zipfile.ZipInfo], item: int, ref: str | None) -> None:
    where = ""
    if info.filename == _SHARED:
        ref, sheet = _cell_using(archive, sheets, item)
        if ref and len(sheets) > 1:
            where = f" (sheet part {sheet})"
    elif len(sheets) > 1:
        where = f" (sheet part {info.filename})"
    place = _cell_place(ref) if ref else ""
    raise InputError(
        f"{path}{place}{where}: a value longer than the limit of {MAX_FIELD_CHARS:,} characters; "
        "a records export holds ids, dates and places, never text this long. Clear the cell, or "
        "export the file again without that column."
    )


def _cell_place(ref: str) -> str:
    m = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
    return f", row {m[2]}, column {m[1]}" if m else ""


def _cell_using(archive: zipfile.ZipFile, sheets: list[zipfile.ZipInfo],
                item: int) -> tuple[str | None, str | None]:
    """The first cell (and its sheet part) showing shared string number ``item``."""
    pattern = re.compile(rb"<c ([^>]*)>\s*<v>%d</v>" % item)
    for info in sheets:
        tail = b""
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                window = tail + chunk
                for m in pattern.finditer(window):
                    attrs = m[1]
                    ref = re.search(rb'\br="([A-Z]+[0-9]+)"', attrs)
                    if ref and re.search(rb'\bt="s"', attrs):
                        return ref[1].decode(), info.filename
                tail = window[-256:]
    return None, None
