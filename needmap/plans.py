"""Staff rosters and versioned zone plans kept in one SQLite file.

Every save adds a new plan version (when, by whom, a note); nothing is overwritten or deleted,
so any earlier plan can be restored (restoring saves a copy as the newest version). Saves run in
one ``BEGIN IMMEDIATE`` transaction on a WAL-mode database: a crash mid-save leaves the last
complete plan as it was.

Schema (``schema_version`` 2, in table ``meta``)::

    meta(key PRIMARY KEY, value)
    plans(plan_id PRIMARY KEY, created_at, author, note, n_zones, n_areas, restored_from,
          level, measure, snapshot_id)
    plan_areas(plan_id, area_code, area_name, zone, workload)     PRIMARY KEY (plan_id, area_code)
    plan_staff(plan_id, zone, name, fte, base, email)             PRIMARY KEY (plan_id, zone)

Each plan records the geography it zones (``level``), the workload measure and the snapshot it
was made from, so no reader has to guess them. A version-1 file gains those columns on opening
(``ALTER TABLE``; old plans have them empty and are read by their area codes).

Tables are created with ``CREATE TABLE IF NOT EXISTS`` so later features (user roles, an audit
log) can add their own tables to the same file and raise ``schema_version``; they can write in
the same transaction as a save through :meth:`PlanStore.transaction`.

Zones are numbered 1..k, and roster row ``i`` (0-based) is the worker for zone ``i + 1``, as in
:class:`needmap.zones.ZoneBuilder`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from needmap.errors import InputError, NeedmapError

__all__ = [
    "SCHEMA_VERSION",
    "Plan",
    "PlanStore",
]

SCHEMA_VERSION = 2

_DDL = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS plans (
        plan_id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        author TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        n_zones INTEGER NOT NULL,
        n_areas INTEGER NOT NULL,
        restored_from INTEGER REFERENCES plans(plan_id),
        level TEXT,
        measure TEXT,
        snapshot_id TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS plan_areas (
        plan_id INTEGER NOT NULL REFERENCES plans(plan_id),
        area_code TEXT NOT NULL,
        area_name TEXT,
        zone INTEGER NOT NULL CHECK (zone >= 1),
        workload REAL,
        PRIMARY KEY (plan_id, area_code)
    )""",
    """CREATE TABLE IF NOT EXISTS plan_staff (
        plan_id INTEGER NOT NULL REFERENCES plans(plan_id),
        zone INTEGER NOT NULL CHECK (zone >= 1),
        name TEXT NOT NULL,
        fte REAL NOT NULL CHECK (fte > 0),
        base TEXT,
        email TEXT,
        PRIMARY KEY (plan_id, zone)
    )""",
)

AREA_COLUMNS = ["area_code", "area_name", "zone", "workload"]
LEVELS = ("lsoa", "ward")


@dataclass(frozen=True)
class Plan:
    """One saved plan version.

    Attributes
    ----------
    areas : pandas.DataFrame
        ``area_code, area_name, zone, workload``, one row per area.
    staff : pandas.DataFrame or None
        ``zone, name, fte, base, email``, one row per zone, when a roster was saved.
    """

    plan_id: int
    created_at: str
    author: str
    note: str
    n_zones: int
    restored_from: int | None
    areas: pd.DataFrame
    staff: pd.DataFrame | None
    level: str | None = None
    measure: str | None = None
    snapshot_id: str | None = None


class PlanStore:
    """Versioned zone plans in a SQLite file (created if missing).

    Parameters
    ----------
    path : str or Path
        The database file, for instance ``plans.sqlite`` next to the snapshot.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            raise InputError(
                f"PlanStore: folder {self.path.parent} does not exist; create it or choose "
                "another path for the plan database."
            )
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for ddl in _DDL:
                    conn.execute(ddl)
                row = conn.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                ).fetchone()
                if row is None:
                    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                                 (str(SCHEMA_VERSION),))
                elif int(row[0]) < 1 or int(row[0]) > SCHEMA_VERSION:
                    raise NeedmapError(
                        f"{self.path}: schema_version {row[0]} is not one this needmap reads "
                        f"(1..{SCHEMA_VERSION}); use the needmap version that wrote it."
                    )
                elif int(row[0]) < SCHEMA_VERSION:
                    have = {r[1] for r in conn.execute("PRAGMA table_info(plans)")}
                    for col in ("level", "measure", "snapshot_id"):
                        if col not in have:
                            conn.execute(f"ALTER TABLE plans ADD COLUMN {col} TEXT")
                    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                                 (str(SCHEMA_VERSION),))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- connection ----------------------------------------------------------------------------

    def _connect(self) -> _Closing:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        except sqlite3.Error as exc:
            raise NeedmapError(f"PlanStore: cannot open {self.path}: {exc}.") from exc
        conn.execute("PRAGMA foreign_keys=ON")
        return _Closing(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])

    # -- writing -------------------------------------------------------------------------------

    def save_plan(
        self,
        labels: pd.DataFrame,
        author: str,
        note: str = "",
        roster: pd.DataFrame | None = None,
        *,
        level: str | None = None,
        measure: str | None = None,
        snapshot_id: str | None = None,
    ) -> int:
        """Save a plan as a new version and return its ``plan_id``.

        Parameters
        ----------
        labels : pandas.DataFrame
            ``area_code`` and ``zone`` (1..k), optionally ``area_name`` and ``workload``
            (the output of :func:`needmap.zones.build_zones`).
        author : str
            Who saved it.
        note : str
            Why (shown in the version list).
        roster : pandas.DataFrame, optional
            From :func:`needmap.sources.roster.read_roster`; row ``i`` is the worker of zone
            ``i + 1``.
        level, measure, snapshot_id : str, optional
            What the plan zones ("lsoa" or "ward"), by which workload, from which snapshot.
        """
        areas = _check_labels(labels)
        n_zones = int(areas["zone"].max())
        staff = _staff_rows(roster, n_zones) if roster is not None else None
        author = _check_author(author)
        if level is not None and level not in LEVELS:
            raise InputError(f"save_plan: level must be one of {LEVELS}, got {level!r}.")
        meta = (level, measure, snapshot_id)
        with self.transaction() as conn:
            return self._insert(conn, areas, staff, author, str(note or ""), None, meta)

    def restore(self, plan_id: int, author: str, note: str | None = None) -> int:
        """Save a copy of plan ``plan_id`` as the newest version and return the new id."""
        old = self.load_plan(plan_id)
        author = _check_author(author)
        text = note if note is not None else f"restored from plan {plan_id}"
        with self.transaction() as conn:
            return self._insert(conn, old.areas, old.staff, author, text, plan_id,
                                (old.level, old.measure, old.snapshot_id))

    def _insert(
        self, conn: sqlite3.Connection, areas: pd.DataFrame, staff: pd.DataFrame | None,
        author: str, note: str, restored_from: int | None,
        meta: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> int:
        cur = conn.execute(
            "INSERT INTO plans (created_at, author, note, n_zones, n_areas, restored_from, "
            "level, measure, snapshot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (datetime.now(UTC).isoformat(timespec="seconds"), author, note,
             int(areas["zone"].max()), len(areas), restored_from, *meta),
        )
        plan_id = int(cur.lastrowid)
        self._write_areas(conn, plan_id, areas)
        if staff is not None:
            self._write_staff(conn, plan_id, staff)
        return plan_id

    @staticmethod
    def _write_areas(conn: sqlite3.Connection, plan_id: int, areas: pd.DataFrame) -> None:
        conn.executemany(
            "INSERT INTO plan_areas VALUES (?, ?, ?, ?, ?)",
            [(plan_id, r.area_code, _none(r.area_name), int(r.zone), _float(r.workload))
             for r in areas.itertuples(index=False)],
        )

    @staticmethod
    def _write_staff(conn: sqlite3.Connection, plan_id: int, staff: pd.DataFrame) -> None:
        conn.executemany(
            "INSERT INTO plan_staff VALUES (?, ?, ?, ?, ?, ?)",
            [(plan_id, int(r.zone), r.name, float(r.fte), _none(r.base), _none(r.email))
             for r in staff.itertuples(index=False)],
        )

    # -- reading -------------------------------------------------------------------------------

    def list_plans(self) -> pd.DataFrame:
        """All versions, oldest first: plan_id, created_at, author, note, n_zones, n_areas,
        restored_from."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT plan_id, created_at, author, note, n_zones, n_areas, restored_from, "
                "level, measure, snapshot_id FROM plans ORDER BY plan_id").fetchall()
        cols = ["plan_id", "created_at", "author", "note", "n_zones", "n_areas", "restored_from",
                "level", "measure", "snapshot_id"]
        out = pd.DataFrame(rows, columns=cols)
        out["restored_from"] = out["restored_from"].astype("Int64")
        return out

    def load_plan(self, plan_id: int) -> Plan:
        """The plan with this id; InputError listing the ids that exist if there is none."""
        with self._connect() as conn:
            head = conn.execute(
                "SELECT plan_id, created_at, author, note, n_zones, restored_from, level, "
                "measure, snapshot_id FROM plans WHERE plan_id = ?", (int(plan_id),)).fetchone()
            if head is None:
                ids = [r[0] for r in conn.execute("SELECT plan_id FROM plans ORDER BY plan_id")]
                shown = ids if len(ids) <= 20 else ids[:10] + ["..."] + ids[-5:]
                raise InputError(
                    f"No plan {plan_id} in {self.path}; saved plans: {shown or 'none'}. "
                    "Use list_plans() to see them."
                )
            areas = pd.DataFrame(conn.execute(
                "SELECT area_code, area_name, zone, workload FROM plan_areas WHERE plan_id = ? "
                "ORDER BY rowid", (int(plan_id),)).fetchall(), columns=AREA_COLUMNS)
            staff_rows = conn.execute(
                "SELECT zone, name, fte, base, email FROM plan_staff WHERE plan_id = ? "
                "ORDER BY zone", (int(plan_id),)).fetchall()
        staff = (pd.DataFrame(staff_rows, columns=["zone", "name", "fte", "base", "email"])
                 if staff_rows else None)
        return Plan(int(head[0]), head[1], head[2], head[3], int(head[4]),
                    None if head[5] is None else int(head[5]), areas, staff,
                    level=head[6], measure=head[7], snapshot_id=head[8])

    def latest_plan(self) -> Plan | None:
        """The newest version, or None if nothing has been saved."""
        with self._connect() as conn:
            row = conn.execute("SELECT max(plan_id) FROM plans").fetchone()
        return None if row[0] is None else self.load_plan(int(row[0]))


class _Closing:
    """A connection that closes at the end of a ``with`` block (sqlite3's only ends a txn)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _none(v: Any) -> Any:
    return None if v is None or pd.isna(v) else str(v)


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _check_author(author: str) -> str:
    if not isinstance(author, str) or not author.strip():
        raise InputError("PlanStore: author is empty; say who is saving the plan.")
    return author.strip()


def _check_labels(labels: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(labels, pd.DataFrame):
        raise InputError(
            f"save_plan: expected a DataFrame with area_code and zone, got "
            f"{type(labels).__name__}. Use needmap.zones.build_zones() output."
        )
    missing = [c for c in ("area_code", "zone") if c not in labels.columns]
    if missing:
        raise InputError(
            f"save_plan: column(s) {missing} missing; found {list(labels.columns)}. Expected "
            "area_code and zone (as build_zones returns)."
        )
    if len(labels) == 0:
        raise InputError("save_plan: the plan has no areas.")
    out = pd.DataFrame({
        "area_code": labels["area_code"].astype("string"),
        "area_name": labels["area_name"] if "area_name" in labels else None,
        "zone": pd.to_numeric(labels["zone"], errors="coerce"),
        "workload": pd.to_numeric(labels["workload"], errors="coerce")
        if "workload" in labels else float("nan"),
    })
    if out["area_code"].isna().any():
        raise InputError("save_plan: some rows have no area_code; every row needs one.")
    dup = out.loc[out["area_code"].duplicated(), "area_code"].unique().tolist()
    if dup:
        raise InputError(f"save_plan: area codes repeated: {dup[:5]}. One row per area.")
    zone = out["zone"]
    bad = out.loc[zone.isna() | (zone < 1) | (zone != zone.round()), "area_code"].tolist()
    if bad:
        raise InputError(
            f"save_plan: zone must be a whole number from 1; not so for {bad[:5]}."
        )
    out["zone"] = zone.astype(int)
    absent = sorted(set(range(1, int(zone.max()) + 1)) - set(out["zone"]))
    if absent:
        raise InputError(
            f"save_plan: zones must be numbered 1..{int(zone.max())} with no gaps; zone(s) "
            f"{absent} have no areas."
        )
    return out


def _staff_rows(roster: pd.DataFrame, n_zones: int) -> pd.DataFrame:
    missing = [c for c in ("name", "fte") if c not in roster.columns]
    if missing:
        raise InputError(
            f"save_plan: roster lacks column(s) {missing}; read it with "
            "needmap.sources.roster.read_roster()."
        )
    if len(roster) != n_zones:
        raise InputError(
            f"save_plan: the roster has {len(roster)} worker(s) but the plan has {n_zones} "
            "zones; zone i belongs to roster row i, so give one worker per zone."
        )
    staff = pd.DataFrame({
        "zone": range(1, n_zones + 1),
        "name": roster["name"].astype(str).to_numpy(),
        "fte": pd.to_numeric(roster["fte"]).to_numpy(dtype=float),
        "base": roster["base"].to_numpy() if "base" in roster else None,
        "email": roster["email"].to_numpy() if "email" in roster else None,
    })
    return staff
