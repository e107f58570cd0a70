"""Hostile inputs that the corpus (``tests/test_corpus.py``) cannot carry: the app's file check,
output folders a refresh cannot use, and the workbook cell budget.

The hostile record and boundary files themselves are corpus cases (``tests/corpus/README.md``);
their peak memory is measured by ``bench/hostile_files.py``.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from needmap.cli import main
from needmap.config import load_config
from needmap.errors import InputError
from needmap.refresh import check_records_file
from tests import hostile
from tests.conftest import ROOT, write_config

REFERRALS = ROOT / "data/synthetic/referrals_synthetic.csv"


def check_uploaded(config, name: str, data: bytes, kind: str):
    """What the Data page does with an upload: a private copy, checked, named as uploaded."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return check_records_file(config, path, kind, shown_name=name)


def refresh_error(cfg: Path, capsys) -> str:
    """Run ``needmap refresh`` in-process; it must fail with exactly one ``Error:`` line."""
    code = main(["refresh", "--config", str(cfg), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, err
    return errors[0]


# --- the app's Data-page file check -----------------------------------------------------------

def test_the_app_file_check_refuses_a_workbook_bomb(tmp_path):
    """Its 50 MB cap counts the upload's bytes: 150 KB here, 150 MB of text inside."""
    bomb = tmp_path / "bomb.xlsx"
    hostile.xlsx_long_shared_string(bomb, 150_000_000)
    data = bomb.read_bytes()
    assert len(data) < 1_000_000
    config = load_config(write_config(tmp_path))
    with pytest.raises(InputError, match=r"^bomb\.xlsx: the workbook's text values \(its shared "
                       r"strings\) inflate to 150 MB, over the 100 MB limit"):
        check_uploaded(config, "bomb.xlsx", data, "referrals")


def test_the_app_file_check_refuses_a_long_csv_field(tmp_path):
    bad = tmp_path / "long.csv"
    hostile.csv_long_field(bad, 200_000)
    config = load_config(write_config(tmp_path))
    with pytest.raises(InputError, match=r"^long\.csv, row 3, column 'person_id': a value of "
                       r"200,000 characters"):
        check_uploaded(config, "long.csv", bad.read_bytes(), "referrals")


# --- the workbook scan finds any run of text too long, wherever it falls ----------------------

@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=0, max_size=12), st.integers(0, 300),
       st.integers(20, 120))
@example([0, 2, 30, 0], 0, 20)  # a run of 30 that no stretch of 20 aligned on the first '<' holds
@example([5, 41, 1], 0, 20)
def test_the_scan_finds_every_long_run(gaps, carried, limit):
    """``_long_run`` against the plain answer: the first run without '<' longer than ``limit``."""
    from needmap.sources.workbook import _long_run

    chunk = b"<".join(b"x" * g for g in gaps) or b"x"
    runs = [len(r) for r in chunk.split(b"<")]
    expected = None
    if len(runs) == 1:
        expected = 0 if carried + runs[0] > limit else None
    elif carried + runs[0] > limit:
        expected = 0
    elif any(r > limit for r in runs[1:-1]):
        expected = sum(r + 1 for r in runs[: next(i for i in range(1, len(runs) - 1)
                                                   if runs[i] > limit)])
    found = _long_run(chunk, carried, limit)
    assert (found is None) == (expected is None)
    if expected:  # the exact search reports the longest run; it must be one that is too long
        assert chunk.find(b"<", found, found + limit + 1) == -1


# --- workbook cell budget ---------------------------------------------------------------------

def test_a_sheet_over_the_cell_budget_is_refused(tmp_path, capsys, monkeypatch):
    """5 million cells take openpyxl 80 s to make; the budget is lowered to show the refusal."""
    from needmap.sources import tables

    monkeypatch.setattr(tables, "MAX_EXCEL_CELLS", 40)
    book = tmp_path / "referrals.xlsx"
    hostile.write_xlsx(book, hostile.good_rows())
    cfg = write_config(tmp_path, a=f"{REFERRALS}=>{book}")
    line = refresh_error(cfg, capsys)
    # Six cells a row: the seventh row takes the count past 40.
    assert line.startswith(f"Error: {book}, row 7: the sheet holds more than 40 cells")
    assert "export the records as CSV (UTF-8)" in line


# --- output folders ---------------------------------------------------------------------------

def _output(tmp_path: Path, folder: Path | str) -> Path:
    return write_config(tmp_path, a=f'folder = "{tmp_path / "output"}"=>folder = "{folder}"')


def test_an_output_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "output").write_text("not a folder\n")
    line = refresh_error(write_config(tmp_path), capsys)
    assert line == (
        f"Error: [output] folder {tmp_path / 'output'}: it is a file, not a folder. Set [output] "
        "folder in the config to a folder you can write to."
    )


def test_an_output_folder_under_a_file(tmp_path, capsys):
    (tmp_path / "data.txt").write_text("x\n")
    folder = tmp_path / "data.txt" / "out"
    line = refresh_error(_output(tmp_path, folder), capsys)
    assert line.startswith(f"Error: [output] folder {folder}: it lies under {tmp_path / 'data.txt'}"
                           ", which is a file, not a folder.")


@pytest.mark.parametrize("system", ["/proc", "/sys"])
def test_an_output_folder_under_a_system_folder(tmp_path, capsys, system):
    folder = f"{system}/needmap-output"
    line = refresh_error(_output(tmp_path, folder), capsys)
    assert line == (
        f"Error: [output] folder {folder}: it lies under {system}, a system folder that cannot "
        "hold snapshots. Set [output] folder in the config to a folder you can write to."
    )
    assert not Path(folder).exists()


def test_an_output_folder_that_cannot_be_written(tmp_path):
    """As an unprivileged user (root writes anywhere): refresh forked, then dropped to nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    import rich.progress  # noqa: F401 - imported before the switch, when the files are readable

    shared = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        shared.chmod(0o755)
        folder = shared / "output"
        folder.mkdir(mode=0o555)
        folder.chmod(0o555)  # mkdir's mode is masked by the umask
        cfg = write_config(shared)
        load_config(cfg)
        errors = shared / "stderr"
        errors.touch(mode=0o666)
        errors.chmod(0o666)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code and stderr
            code = 2
            try:
                os.setgid(65534)
                os.setuid(65534)
                with errors.open("w") as fh:
                    sys.stderr = fh
                    code = main(["refresh", "--config", str(cfg), "--quiet"])
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 1, errors.read_text()
        assert errors.read_text().splitlines() == [
            f"Error: [output] folder {folder}: it cannot be written (permissions). Set [output] "
            "folder in the config to a folder you can write to."
        ]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o555 and not list(folder.iterdir())
    finally:
        for p in sorted(shared.rglob("*"), reverse=True):
            p.chmod(0o755) if p.is_dir() else p.unlink()
            if p.is_dir():
                p.rmdir()
        shared.rmdir()
