"""One refresh writes to an output folder at a time, and LATEST never moves to an older period.

Two real ``needmap refresh`` processes are started together, a full-period one and an older one
(``--end 2023-12-31``, no ``--force``): whichever order their steps interleave in, LATEST must
end on the full period. Before the lock, LATEST named the older snapshot in about half the
trials: both checked the current period before either had written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock

from needmap.errors import SnapshotError
from needmap.snapshot import LATEST, MANIFEST, list_snapshots
from tests.conftest import ROOT, write_config

NEEDMAP = str(Path(sys.executable).parent / "needmap")
SYNTHETIC = ROOT / "data/synthetic"
OLDER = ("--start", "2023-01-01", "--end", "2023-12-31")


def small_config(tmp_path: Path) -> Path:
    """The demo config over every 10th synthetic record: the same three years, a quicker run."""
    replace = {}
    for kind in ("referrals", "engagement"):
        src = SYNTHETIC / f"{kind}_synthetic.csv"
        rows = pd.read_csv(src, comment="#", dtype=str, keep_default_na=False)
        dest = tmp_path / f"{kind}.csv"
        rows.iloc[::10].to_csv(dest, index=False)
        replace[kind] = f"{src}=>{dest}"
    return write_config(tmp_path, **replace)


def start(cfg: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([NEEDMAP, "refresh", "--config", str(cfg), "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def latest_period(folder: Path) -> str:
    current = (folder / LATEST).read_text().strip()
    return json.loads((folder / current / MANIFEST).read_text())["period_end"]


@pytest.mark.slow
def test_concurrent_refreshes_never_make_an_older_period_current(tmp_path):
    trials = 6
    for trial in range(trials):
        base = tmp_path / f"trial{trial}"
        base.mkdir()
        cfg = small_config(base)
        folder = base / "output" / "snapshots"
        # Alternate which one is started first: the race must be lost by neither order.
        order = [(), OLDER] if trial % 2 else [OLDER, ()]
        procs = {args: start(cfg, *args) for args in order}
        out = {args: (p.communicate(timeout=300), p.returncode) for args, p in procs.items()}
        (_, full_err), full_code = out[()]
        (_, old_err), old_code = out[OLDER]
        assert full_code == 0 and "Traceback" not in full_err, full_err
        assert "Traceback" not in old_err, old_err
        periods = sorted(m["period_end"] for m in list_snapshots(folder))
        assert latest_period(folder) == "2025-09-30", (trial, periods, old_err)
        if old_code:  # it wrote second: refused, with the one-line reason
            assert old_code == 1
            errors = [line for line in old_err.splitlines() if line.startswith("Error: ")]
            assert len(errors) == 1 and "covers a later period" in errors[0], old_err
            assert periods == ["2025-09-30"]
        else:  # it wrote first; the full period replaced it
            assert periods == ["2023-12-31", "2025-09-30"]


@pytest.mark.slow  # a real refresh process waiting on the lock
def test_a_refresh_that_finds_the_lock_taken_says_so_and_waits(tmp_path):
    from needmap.locking import LOCK_NAME

    cfg = small_config(tmp_path)
    folder = tmp_path / "output" / "snapshots"
    folder.mkdir(parents=True)
    said = (f"Warning: {folder}: another refresh is writing a snapshot here; waiting for it to "
            "finish (at most 600 s).")
    err = tmp_path / "stderr"
    with FileLock(folder / LOCK_NAME), err.open("w") as fh:
        proc = subprocess.Popen([NEEDMAP, "refresh", "--config", str(cfg), "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=fh)
        deadline = time.monotonic() + 120
        while said not in err.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "no word of the wait"
            time.sleep(0.1)
        time.sleep(2)
        assert proc.poll() is None, err.read_text()  # still waiting, nothing written
        assert list_snapshots(folder) == []
    assert proc.wait(timeout=120) == 0, err.read_text()
    assert err.read_text().splitlines() == [said]
    assert len(list_snapshots(folder)) == 1


def test_waiting_gives_up_with_a_clear_error(tmp_path):
    from needmap.locking import LOCK_NAME, snapshot_lock

    folder = tmp_path / "snapshots"
    folder.mkdir()
    with FileLock(folder / LOCK_NAME), pytest.raises(
        SnapshotError, match=r"another refresh has held \.needmap\.lock for more than 0 s\. A "
        r"killed refresh releases it"
    ), pytest.warns(match="another refresh is writing a snapshot here"):
        with snapshot_lock(folder, timeout=0.2):
            pytest.fail("the lock was taken twice")
