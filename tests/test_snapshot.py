"""Snapshots: versioned, atomic, and not replaced by an older period without force."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from needmap.config import load_config
from needmap.errors import SnapshotError
from needmap.refresh import refresh
from needmap.snapshot import latest_path, list_snapshots, load_snapshot


def test_versions_kept_and_latest_pointer(demo_config_path):
    config = load_config(demo_config_path)
    a = refresh(config).snapshot_path
    same = refresh(config)
    assert same.up_to_date and same.snapshot_path == a  # nothing changed: nothing written
    b = refresh(config, force=True).snapshot_path
    folder = config.snapshots_folder
    assert [m["snapshot_id"] for m in list_snapshots(folder)] == [a.name, b.name]
    assert latest_path(folder) == b
    assert (folder / "LATEST").read_text().strip() == b.name
    assert load_snapshot(folder).id == b.name


def test_half_written_snapshot_is_ignored(demo_config_path):
    config = load_config(demo_config_path)
    good = refresh(config).snapshot_path
    folder = config.snapshots_folder
    # What a killed refresh leaves behind: a hidden temporary folder without a manifest.
    junk = folder / ".tmp-20991231T000000-000000Z"
    junk.mkdir()
    (junk / "lsoa.parquet").write_bytes(b"PAR1 truncated")
    assert load_snapshot(folder).path == good
    assert [m["snapshot_id"] for m in list_snapshots(folder)] == [good.name]


def test_older_period_needs_force(demo_config_path):
    config = load_config(demo_config_path)
    refresh(config)
    with pytest.raises(SnapshotError, match="covers a later period.*pass --force"):
        refresh(config, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31))
    older = refresh(config, start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31), force=True)
    assert json.loads((older.snapshot_path / "manifest.json").read_text())["period_end"] == (
        "2023-12-31"
    )


def test_no_snapshot_error(tmp_path):
    with pytest.raises(SnapshotError, match="no snapshot found. Run `needmap refresh"):
        load_snapshot(tmp_path)


def test_checked_file_returns_counts_only_and_errors_name_the_upload(demo_config_path,
                                                                     tmp_path):
    from needmap.errors import InputError
    from needmap.refresh import MAX_CHECK_BYTES, check_records_file

    config = load_config(demo_config_path)
    path = tmp_path / "upload_1.csv"
    path.write_bytes(b"cin_referral_id,person_id,cin_referral_date,postcode\n"
                     b"R1,P1,01/02/2024,OL1 1AA\nR2,P2,01/02/2024,ZZ99 9ZZ\n"
                     b"R2,P2,01/02/2024,OL1 1AA\n")
    q = check_records_file(config, path, "referrals", shown_name="my export.csv")
    assert (q.rows_read, q.rows_used) == (3, 1)
    assert q.rejects == {"duplicate id": 1, "postcode not found": 1}
    assert not hasattr(q, "records") and q.path == "my export.csv"
    path.write_bytes(b"cin_referral_id,postcode\nR1,OL1 1AA\n")
    with pytest.raises(InputError, match="^my export.csv: required column 'person_id'"):
        check_records_file(config, path, "referrals", shown_name="my export.csv")
    path.write_bytes(b"x" * (MAX_CHECK_BYTES + 1))
    with pytest.raises(InputError, match="over the 52 MB limit"):
        check_records_file(config, path, "referrals", shown_name="big.csv")


def test_abandoned_temporary_folder_is_cleaned_up(demo_config_path):
    import subprocess

    config = load_config(demo_config_path)
    refresh(config)
    dead = subprocess.Popen(["true"])
    dead.wait()
    junk = config.snapshots_folder / f".tmp-20991231T000000-000000Z-{dead.pid}"
    junk.mkdir()
    live = config.snapshots_folder / f".tmp-20991231T000000-000001Z-{__import__('os').getpid()}"
    live.mkdir()
    refresh(config, force=True)
    assert not junk.exists()  # its process is gone
    assert live.exists()  # a refresh still running (this process) is left alone


def test_flags_and_trends_are_fitted_on_one_blas_thread(demo_config_path, monkeypatch):
    """Hundreds of small fits: extra BLAS threads gain little and, on a busy machine, cost
    several times the time (bench/refresh.py). The limit holds inside and is lifted after."""
    from threadpoolctl import threadpool_info

    import needmap.refresh as refresh_module

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    seen: dict[str, set[int]] = {}
    for name in ("snapshot_flags", "snapshot_trends"):
        original = getattr(refresh_module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            seen[_name] = blas_threads()
            return _original(*args, **kwargs)

        monkeypatch.setattr(refresh_module, name, spy)
    before = blas_threads()
    refresh(load_config(demo_config_path))
    assert seen == {"snapshot_flags": {1}, "snapshot_trends": {1}}
    assert blas_threads() == before
