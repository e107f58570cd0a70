"""Staff rosters and versioned zone plans kept in one SQLite file.

Every save adds a new plan version (when, by whom, a note); nothing is overwritten or deleted,
so any earlier plan can be restored (restoring saves a copy as the newest version). Saves run in
one ``BEGIN IMMEDIATE`` transaction on a WAL-mode database: a crash mid-save leaves the last
complete plan as it was.

Schema (``schema_version`` 1, in table ``meta``)::

    meta(key PRIMARY KEY, value)
    plans(plan_id PRIMARY KEY, created_at, author, note, n_zones, n_areas, restored_from)
    plan_areas(plan_id, area_code, area_name, zone, workload)     PRIMARY KEY (plan_id, area_code)
    plan_staff(plan_id, zone, name, fte, base, email)             PRIMARY KEY (plan_id, zone)

Tables are created with ``CREATE TABLE IF NOT EXISTS`` so later features (user roles, an audit
log) can add their own tables to the same file and raise ``schema_version``; they can write in
the same transaction as a save through :meth:`PlanStore.transaction`.

Zones are numbered 1..k, and roster row ``i`` (0-based) is the worker for zone ``i + 1``, as in
:class:`needmap.zones.ZoneBuilder`.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from needmap.errors import InputError, NeedmapError, where

__all__ = [
    "SCHEMA_VERSION",
    "Plan",
    "PlanStore",
    "read_roster",
    "roster_bases",
]

SCHEMA_VERSION = 1

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
        restored_from INTEGER REFERENCES plans(plan_id)
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
ROSTER_COLUMNS = ["name", "fte", "base", "email"]
_ALIASES = {
    "name": "name", "worker": "name", "staff": "name",
    "fte": "fte",
    "base": "base", "base_location": "base", "location": "base", "postcode": "base",
    "email": "email", "e-mail": "email", "email_address": "email",
}
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
_GSS = re.compile(r"^[EWSN][0-9]{8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EN = re.compile(r"^\s*(-?[0-9.]+)\s*[, ]\s*(-?[0-9.]+)\s*$")


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
                elif int(row[0]) < 1:
                    raise NeedmapError(f"{self.path}: unknown schema_version {row[0]}.")
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
            From :func:`read_roster`; row ``i`` is the worker of zone ``i + 1``.
        """
        areas = _check_labels(labels)
        n_zones = int(areas["zone"].max())
        staff = _staff_rows(roster, n_zones) if roster is not None else None
        author = _check_author(author)
        with self.transaction() as conn:
            return self._insert(conn, areas, staff, author, str(note or ""), None)

    def restore(self, plan_id: int, author: str, note: str | None = None) -> int:
        """Save a copy of plan ``plan_id`` as the newest version and return the new id."""
        old = self.load_plan(plan_id)
        author = _check_author(author)
        text = note if note is not None else f"restored from plan {plan_id}"
        with self.transaction() as conn:
            return self._insert(conn, old.areas, old.staff, author, text, plan_id)

    def _insert(
        self, conn: sqlite3.Connection, areas: pd.DataFrame, staff: pd.DataFrame | None,
        author: str, note: str, restored_from: int | None,
    ) -> int:
        cur = conn.execute(
            "INSERT INTO plans (created_at, author, note, n_zones, n_areas, restored_from) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (datetime.now(UTC).isoformat(timespec="seconds"), author, note,
             int(areas["zone"].max()), len(areas), restored_from),
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
                "SELECT plan_id, created_at, author, note, n_zones, n_areas, restored_from "
                "FROM plans ORDER BY plan_id").fetchall()
        cols = ["plan_id", "created_at", "author", "note", "n_zones", "n_areas", "restored_from"]
        out = pd.DataFrame(rows, columns=cols)
        out["restored_from"] = out["restored_from"].astype("Int64")
        return out

    def load_plan(self, plan_id: int) -> Plan:
        """The plan with this id; InputError listing the ids that exist if there is none."""
        with self._connect() as conn:
            head = conn.execute(
                "SELECT plan_id, created_at, author, note, n_zones, restored_from FROM plans "
                "WHERE plan_id = ?", (int(plan_id),)).fetchone()
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
                    None if head[5] is None else int(head[5]), areas, staff)

    def latest_plan(self) -> Plan | None:
        """The newest version, or None if nothing has been saved."""
        with self._connect() as conn:
            row = conn.execute("SELECT max(plan_id) FROM plans").fetchone()
        return None if row[0] is None else self.load_plan(int(row[0]))

    # -- exports -------------------------------------------------------------------------------

    def export_csv(self, plan_id: int, path: str | Path) -> Path:
        """Write ``area_code, area_name, zone, workload`` of a plan to CSV; return the path."""
        plan = self.load_plan(plan_id)
        out = Path(path)
        plan.areas.to_csv(out, index=False)
        return out

    def export_gpkg(
        self, plan_id: int, path: str | Path, areas: Any, *, code_column: str = "lsoa_code"
    ) -> Path:
        """Write a plan to a GeoPackage with layers ``areas`` and ``zones`` (dissolved).

        Parameters
        ----------
        areas : geopandas.GeoDataFrame
            Boundaries with ``code_column``; every area in the plan must be there.
        """
        import geopandas as gpd

        plan = self.load_plan(plan_id)
        if code_column not in areas.columns:
            raise InputError(
                f"export_gpkg: column '{code_column}' not in the boundaries; found "
                f"{list(areas.columns)}. Pass code_column=."
            )
        geo = areas[[code_column, areas.geometry.name]].rename(columns={code_column: "area_code"})
        missing = sorted(set(plan.areas["area_code"]) - set(geo["area_code"]))
        if missing:
            raise InputError(
                f"export_gpkg: {len(missing)} area(s) of plan {plan_id} have no boundary, e.g. "
                f"{missing[:5]}. Use the boundaries the plan was made from."
            )
        layer = gpd.GeoDataFrame(plan.areas.merge(geo, on="area_code", how="left"),
                                 geometry=areas.geometry.name, crs=areas.crs)
        zones = layer.dissolve(by="zone", aggfunc={"workload": "sum", "area_code": "count"})
        zones = zones.rename(columns={"area_code": "n_areas"}).reset_index()
        if plan.staff is not None:
            zones = zones.merge(plan.staff[["zone", "name", "fte"]], on="zone", how="left")
        out = Path(path)
        if out.exists():
            out.unlink()
        layer.to_file(out, layer="areas", driver="GPKG")
        zones.to_file(out, layer="zones", driver="GPKG")
        return out


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
            f"save_plan: roster lacks column(s) {missing}; read it with read_roster()."
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


# -- roster ------------------------------------------------------------------------------------


def read_roster(path: str | Path) -> pd.DataFrame:
    """Read and check a staff roster CSV.

    Columns (header case and spacing ignored): ``name`` and ``fte`` (0 < fte <= 1) required;
    ``base`` (a postcode, an area code such as ``E01005320``, or ``"easting,northing"`` in
    EPSG:27700) and ``email`` optional. Row ``i`` of the roster is the worker of zone ``i + 1``.

    Returns
    -------
    pandas.DataFrame
        ``name, fte, base, base_kind, email, row``: ``base_kind`` is ``postcode``,
        ``area_code``, ``point`` or None; ``row`` is the line in the file.

    Raises
    ------
    InputError
        Naming the file, row and column of the first problem and how to fix it.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"Roster {p} not found; expected a CSV with columns name, fte.")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = [(reader.line_num, r) for r in reader]
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text; save the roster as CSV UTF-8.") from None
    if not header:
        raise InputError(f"{p}: the file is empty; expected a header row: name,fte,base,email.")
    cols = []
    for c in header:
        key = _ALIASES.get(c.strip().lower().replace(" ", "_"))
        if key is None:
            raise InputError(
                f"{where(p, 1, c)}: unknown column; expected {ROSTER_COLUMNS} (name and fte "
                "required). Rename or remove it."
            )
        if key in cols:
            raise InputError(f"{where(p, 1, c)}: a second '{key}' column; keep one.")
        cols.append(key)
    for need in ("name", "fte"):
        if need not in cols:
            raise InputError(f"{where(p, 1)}: no '{need}' column; found {header}. Add it.")

    records = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        if not any(v.strip() for v in raw):
            continue
        if len(raw) != len(cols):
            raise InputError(
                f"{where(p, line)}: {len(raw)} value(s) for {len(cols)} column(s); quote a "
                'value that contains a comma (e.g. "393482,404988").'
            )
        rec = dict(zip(cols, (v.strip() for v in raw), strict=True))
        name = rec["name"]
        if not name:
            raise InputError(f"{where(p, line, 'name')}: empty; give the worker's name.")
        if name.casefold() in seen:
            raise InputError(
                f"{where(p, line, 'name')}: '{name}' is also on row {seen[name.casefold()]}; "
                "names must be unique (add an initial)."
            )
        seen[name.casefold()] = line
        try:
            fte = float(rec["fte"])
        except ValueError:
            fte = float("nan")
        if not 0 < fte <= 1:
            raise InputError(
                f"{where(p, line, 'fte')}: '{rec['fte']}' is not an FTE; expected a number above "
                "0 and at most 1 (0.5 = half time)."
            )
        base, kind = _parse_base(rec.get("base", ""), p, line)
        email = rec.get("email", "") or None
        if email is not None and not _EMAIL.match(email):
            raise InputError(
                f"{where(p, line, 'email')}: '{email}' is not an email address; fix or leave "
                "it blank."
            )
        records.append({"name": name, "fte": fte, "base": base, "base_kind": kind,
                        "email": email, "row": line})
    if not records:
        raise InputError(f"{p}: no workers listed; add one row per worker under the header.")
    return pd.DataFrame(records, columns=["name", "fte", "base", "base_kind", "email", "row"])


def _parse_base(text: str, path: Path, line: int) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    up = text.upper().strip()
    if _GSS.match(up):
        return up, "area_code"
    m = _POSTCODE.match(up)
    if m:
        return f"{m.group(1)} {m.group(2)}", "postcode"
    m = _EN.match(text)
    if m:
        e, n = float(m.group(1)), float(m.group(2))
        if 0 <= e <= 700_000 and 0 <= n <= 1_300_000 and (e > 1_000 or n > 1_000):
            return f"{e:.0f},{n:.0f}", "point"
        raise InputError(
            f"{where(path, line, 'base')}: '{text}' is outside Great Britain in EPSG:27700; "
            "give easting,northing in metres (e.g. 393482,404988), not longitude,latitude."
        )
    raise InputError(
        f"{where(path, line, 'base')}: '{text}' is not a postcode (OL1 1AA), an area code "
        "(E01005320) or easting,northing (393482,404988). Fix it or leave it blank."
    )


def roster_bases(roster: pd.DataFrame, postcodes: pd.DataFrame | None = None) -> list[Any]:
    """Turn roster bases into ``ZoneBuilder(bases=...)``: one entry per worker.

    Parameters
    ----------
    roster : pandas.DataFrame
        From :func:`read_roster`.
    postcodes : pandas.DataFrame, optional
        ``postcode, eastings, northings`` (Code-Point Open), needed if any base is a postcode.

    Returns
    -------
    list
        Per worker: None, an area code, or an ``(easting, northing)`` tuple.
    """
    lookup: dict[str, tuple[float, float]] = {}
    if postcodes is not None:
        missing = [c for c in ("postcode", "eastings", "northings") if c not in postcodes]
        if missing:
            raise InputError(
                f"roster_bases: postcode table lacks {missing}; expected postcode, eastings, "
                "northings (as in data/postcodes_*_codepoint_open_*.csv)."
            )
        keys = postcodes["postcode"].astype(str).str.upper().str.replace(r"\s+", "", regex=True)
        lookup = dict(zip(keys, zip(postcodes["eastings"].astype(float),
                                    postcodes["northings"].astype(float), strict=True),
                          strict=True))
    out: list[Any] = []
    for r in roster.itertuples(index=False):
        kind = getattr(r, "base_kind", None)
        if kind is None or pd.isna(kind):
            out.append(None)
        elif kind == "area_code":
            out.append(r.base)
        elif kind == "point":
            e, n = r.base.split(",")
            out.append((float(e), float(n)))
        else:
            key = r.base.replace(" ", "")
            if key not in lookup:
                hint = ("pass postcodes= (a Code-Point Open table)" if postcodes is None
                        else "check it, or give the base as easting,northing")
                raise InputError(
                    f"Roster row {r.row}, column 'base': postcode '{r.base}' of {r.name} cannot "
                    f"be placed; {hint}."
                )
            out.append(lookup[key])
    return out
