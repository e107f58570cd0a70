"""Plan store: versions, restore, atomic saves, what each plan records, schema migration."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from needmap.errors import InputError
from needmap.plans import SCHEMA_VERSION, PlanStore
from needmap.sources.roster import read_roster

ROOT = Path(__file__).resolve().parents[1]


def labels(zones: list[int]) -> pd.DataFrame:
    n = len(zones)
    return pd.DataFrame({
        "area_code": [f"E0100{i:04d}" for i in range(n)],
        "area_name": [f"Area {i}" for i in range(n)],
        "zone": zones,
        "workload": [10.0 * (i + 1) for i in range(n)],
    })


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


@pytest.fixture
def store(tmp_path: Path) -> PlanStore:
    return PlanStore(tmp_path / "plans.sqlite")


def test_new_store_is_empty_wal_and_versioned(store: PlanStore):
    assert store.latest_plan() is None
    assert store.list_plans().empty
    assert store.schema_version == SCHEMA_VERSION == 2
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_save_list_load_round_trip(store: PlanStore):
    a = store.save_plan(labels([1, 1, 2, 2]), author="amy", note="first")
    b = store.save_plan(labels([1, 2, 2, 2]), author="bo", note="moved area 1")
    assert (a, b) == (1, 2)
    listed = store.list_plans()
    assert listed["plan_id"].tolist() == [1, 2]
    assert listed["author"].tolist() == ["amy", "bo"]
    assert listed["note"].tolist() == ["first", "moved area 1"]
    assert listed["n_zones"].tolist() == [2, 2]
    assert listed["n_areas"].tolist() == [4, 4]
    plan = store.load_plan(1)
    pd.testing.assert_frame_equal(plan.areas, labels([1, 1, 2, 2]))
    assert store.latest_plan().plan_id == 2
    assert store.latest_plan().areas["zone"].tolist() == [1, 2, 2, 2]


def test_restore_saves_a_copy_as_newest_and_keeps_history(store: PlanStore):
    store.save_plan(labels([1, 1, 2, 2]), author="amy")
    store.save_plan(labels([1, 2, 2, 2]), author="amy")
    new = store.restore(1, author="cat")
    assert new == 3
    latest = store.latest_plan()
    assert latest.restored_from == 1
    assert latest.author == "cat"
    assert latest.note == "restored from plan 1"
    pd.testing.assert_frame_equal(latest.areas, store.load_plan(1).areas)
    assert len(store.list_plans()) == 3  # nothing lost


def test_roster_is_saved_with_the_plan(store: PlanStore, tmp_path: Path):
    roster = read_roster(write(tmp_path, """
        name,fte,base,email
        Amy,1,OL1 1AA,amy@example.org
        Bo,0.5,,
    """))
    pid = store.save_plan(labels([1, 1, 2]), author="amy", roster=roster)
    staff = store.load_plan(pid).staff
    assert staff["zone"].tolist() == [1, 2]
    assert staff["name"].tolist() == ["Amy", "Bo"]
    assert staff["fte"].tolist() == [1.0, 0.5]
    assert staff["base"].iloc[0] == "OL1 1AA"
    assert staff["base"].isna().tolist() == [False, True]
    restored = store.load_plan(store.restore(pid, author="amy"))
    pd.testing.assert_frame_equal(restored.staff, staff)


def test_roster_must_have_one_worker_per_zone(store: PlanStore, tmp_path: Path):
    roster = read_roster(write(tmp_path, "name,fte\nAmy,1\n"))
    with pytest.raises(InputError, match="1 worker.*2 zones"):
        store.save_plan(labels([1, 2]), author="amy", roster=roster)
    assert store.latest_plan() is None


def test_failure_mid_save_leaves_last_plan_intact(store: PlanStore, tmp_path, monkeypatch):
    store.save_plan(labels([1, 1, 2]), author="amy", note="good")
    roster = read_roster(write(tmp_path, "name,fte\nAmy,1\nBo,1\n"))

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(PlanStore, "_write_staff", staticmethod(boom))
    with pytest.raises(RuntimeError):
        store.save_plan(labels([2, 2, 1]), author="bo", note="lost", roster=roster)
    assert store.list_plans()["note"].tolist() == ["good"]
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM plan_areas").fetchone()[0] == 3
    conn.close()


def test_process_killed_mid_save_leaves_last_plan_intact(store: PlanStore, tmp_path):
    store.save_plan(labels([1, 1, 2]), author="amy", note="good")
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        import pandas as pd
        from needmap.plans import PlanStore

        def die(conn, plan_id, staff):
            os._exit(3)  # a hard crash: no rollback, no close

        PlanStore._write_staff = staticmethod(die)
        roster = pd.DataFrame({{"name": ["A", "B"], "fte": [1.0, 1.0]}})
        labels = pd.DataFrame({{"area_code": ["E01000000", "E01000001", "E01000002"],
                               "zone": [2, 2, 1]}})
        PlanStore({str(store.path)!r}).save_plan(labels, author="x", roster=roster)
    """)
    done = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert done.returncode == 3
    assert store.list_plans()["note"].tolist() == ["good"]
    assert store.latest_plan().areas["zone"].tolist() == [1, 1, 2]
    assert store.save_plan(labels([2, 1, 1]), author="amy") == 2  # still writable


def test_bad_labels_are_rejected_before_writing(store: PlanStore):
    with pytest.raises(InputError, match=r"column\(s\) \['zone'\] missing"):
        store.save_plan(pd.DataFrame({"area_code": ["a"]}), author="amy")
    with pytest.raises(InputError, match="repeated"):
        store.save_plan(pd.DataFrame({"area_code": ["a", "a"], "zone": [1, 1]}), author="amy")
    with pytest.raises(InputError, match=r"zone\(s\) \[2\] have no areas"):
        store.save_plan(pd.DataFrame({"area_code": ["a", "b"], "zone": [1, 3]}), author="amy")
    with pytest.raises(InputError, match="whole number from 1"):
        store.save_plan(pd.DataFrame({"area_code": ["a", "b"], "zone": [0, 1]}), author="amy")
    with pytest.raises(InputError, match="author is empty"):
        store.save_plan(labels([1]), author=" ")
    assert store.latest_plan() is None


def test_load_missing_plan_lists_what_exists(store: PlanStore):
    store.save_plan(labels([1]), author="amy")
    with pytest.raises(InputError, match=r"No plan 9 .*saved plans: \[1\]"):
        store.load_plan(9)


def test_other_tables_can_join_the_same_database_and_transaction(store: PlanStore):
    with store.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS audit (at TEXT, who TEXT, what TEXT)")
        conn.execute("INSERT INTO audit VALUES ('now', 'amy', 'made audit')")
    again = PlanStore(store.path)  # reopening keeps foreign tables and data
    again.save_plan(labels([1]), author="amy")
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 1
    conn.close()


def test_plans_record_level_measure_and_snapshot(store: PlanStore):
    pid = store.save_plan(labels([1, 2]), author="amy", level="ward", measure="caseload",
                          snapshot_id="20261130T000000-000000Z")
    plan = store.load_plan(pid)
    assert (plan.level, plan.measure, plan.snapshot_id) == ("ward", "caseload",
                                                            "20261130T000000-000000Z")
    copy = store.load_plan(store.restore(pid, author="bo"))
    assert (copy.level, copy.measure) == ("ward", "caseload")
    with pytest.raises(InputError, match="level must be one of"):
        store.save_plan(labels([1]), author="amy", level="county")


def test_a_version_1_database_gains_the_new_columns(tmp_path: Path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE plans (plan_id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
        " author TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', n_zones INTEGER NOT NULL,"
        " n_areas INTEGER NOT NULL, restored_from INTEGER);"
        "INSERT INTO plans VALUES (1, '2025-01-01T00:00:00', 'old', '', 1, 1, NULL);"
    )
    conn.close()
    store = PlanStore(path)
    assert store.schema_version == SCHEMA_VERSION == 2
    assert store.list_plans()["level"].isna().all()
