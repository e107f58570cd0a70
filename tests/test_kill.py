"""Nothing lost: a refresh killed at any moment leaves the last good snapshot current and whole.

A real ``needmap refresh`` subprocess is sent SIGKILL, which no code can intercept: on 300,000
records (several seconds of work) at fixed times while it reads and geocodes, and at moments
seen from outside: as soon as its temporary snapshot folder appears, and while it is filling it.
After each kill the snapshots folder must still hold only complete snapshots, ``LATEST`` must
name one, and it must load. Also here: an older period does not replace a newer one without
``--force``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from needmap.snapshot import LATEST, MANIFEST, latest_path, list_snapshots, load_snapshot
from tests.conftest import ROOT, write_config

NEEDMAP = str(Path(sys.executable).parent / "needmap")
REFERRALS = ROOT / "data/synthetic/referrals_synthetic.csv"


def refresh(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NEEDMAP, "refresh", "--config", str(cfg), "--quiet", *args],
                          capture_output=True, text=True, timeout=300)


def big_records(path: Path, n: int = 300_000) -> Path:
    """The demo referrals repeated with new ids: same places and dates, n rows."""
    demo = pd.read_csv(REFERRALS, comment="#", dtype=str, keep_default_na=False)
    big = pd.concat([demo] * (n // len(demo) + 1), ignore_index=True).head(n)
    big["cin_referral_id"] = [f"K{i:07d}" for i in range(n)]
    big.to_csv(path, index=False)
    return path


def kill_when(cfg: Path, condition: Callable[[float], bool], timeout: float = 120) -> int:
    """Start a refresh and SIGKILL it as soon as ``condition(seconds_elapsed)`` holds."""
    proc = subprocess.Popen([NEEDMAP, "refresh", "--config", str(cfg), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - start
            if condition(elapsed) or elapsed > timeout:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
    finally:
        proc.wait()
    return proc.returncode


def kill_during_write(cfg: Path, folder: Path, ready: Callable[[set[Path]], bool]) -> set[Path]:
    """SIGKILL a refresh once ``ready(new temporary folders)``; the temporary folders it left.

    After the kill the snapshot that was current still is, whole. The write lasts a fraction of a
    second; should the poll miss it, the refresh completes (a new, whole, current snapshot) and the
    attempt is repeated, at most three times.
    """
    for _ in range(3):
        current = assert_whole(folder)
        before = temporary(folder)
        code = kill_when(cfg, lambda t, b=before: ready(temporary(folder) - b))
        if code == -signal.SIGKILL:
            assert assert_whole(folder) == current
            return temporary(folder) - before
        assert code == 0
    raise AssertionError("three refreshes finished before the kill landed in the write")


def temporary(folder: Path) -> set[Path]:
    return {p for p in folder.iterdir() if p.name.startswith(".tmp-")}


def assert_whole(folder: Path) -> str:
    """Every visible snapshot is complete and loads; LATEST names one of them. Returns its id."""
    visible = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir())
    listed = [m["snapshot_id"] for m in list_snapshots(folder)]
    assert [p.name for p in visible] == listed
    for p in visible:
        manifest = json.loads((p / MANIFEST).read_text())
        assert all((p / name).is_file() for name in manifest["files"])
    current = (folder / LATEST).read_text().strip()
    assert current in listed
    assert latest_path(folder) == folder / current
    snap = load_snapshot(folder)
    assert snap.id == current and len(snap.lsoa) == 142 and len(snap.ward) == 20
    assert snap.lsoa["referrals"].sum() > 0
    return current


def test_sigkill_at_any_point_keeps_the_last_good_snapshot(tmp_path):
    for sub in ("demo", "big"):
        (tmp_path / sub).mkdir()
    demo_cfg = write_config(tmp_path / "demo")
    out = tmp_path / "demo" / "output"
    folder = out / "snapshots"
    first = refresh(demo_cfg)
    assert first.returncode == 0, first.stderr
    good = assert_whole(folder)

    big = big_records(tmp_path / "big.csv")
    big_cfg = write_config(tmp_path / "big", a=f"{REFERRALS}=>{big}",
                           b=f"{tmp_path / 'big' / 'output'}=>{out}")

    # Killed while reading and geocoding.
    for seconds in (0.5, 1.5):
        assert kill_when(big_cfg, lambda t, s=seconds: t >= s) == -signal.SIGKILL
        assert assert_whole(folder) == good
        assert not temporary(folder)

    # Killed the moment its temporary snapshot folder appears, then while files are in it. The
    # snapshot holds aggregates, so its write takes as long whatever the number of records: the
    # quicker demo config serves.
    left = kill_during_write(demo_cfg, folder, bool)
    assert len(left) == 1  # the kill landed during the write: its temporary folder is left over

    left = kill_during_write(
        demo_cfg, folder, lambda new: any(len(list(p.iterdir())) >= 2 for p in new)
    )
    assert len(left) == 1 and len(list(next(iter(left)).iterdir())) >= 2
    before = assert_whole(folder)

    # What the kills left behind does not stop the next refresh.
    again = refresh(demo_cfg)
    assert again.returncode == 0, again.stderr
    newest = assert_whole(folder)
    assert newest != before and list_snapshots(folder)[-1]["snapshot_id"] == newest


def test_older_period_needs_force_at_the_cli(tmp_path):
    cfg = write_config(tmp_path)
    folder = tmp_path / "output" / "snapshots"
    assert refresh(cfg).returncode == 0
    current = assert_whole(folder)
    period_end = load_snapshot(folder).manifest["period_end"]
    assert period_end > "2023-12-31"

    older = refresh(cfg, "--start", "2023-01-01", "--end", "2023-12-31")
    assert older.returncode == 1 and "Traceback" not in older.stderr
    errors = [line for line in older.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1
    assert f"the current snapshot {current} covers a later period (to {period_end})" in errors[0]
    assert "than this refresh (to 2023-12-31)" in errors[0] and "pass --force" in errors[0]
    assert assert_whole(folder) == current
    assert len(list_snapshots(folder)) == 1

    forced = refresh(cfg, "--start", "2023-01-01", "--end", "2023-12-31", "--force")
    assert forced.returncode == 0, forced.stderr
    now = assert_whole(folder)
    assert now != current and load_snapshot(folder).manifest["period_end"] == "2023-12-31"
    assert [m["snapshot_id"] for m in list_snapshots(folder)] == [current, now]
