"""Workload measures of areas, and zoning a snapshot by them (one zone per worker).

Two measures of how much work an area brings:

``children_need`` (default): **children weighted by need**,
    ``children * (1 + idaci_score)``. ``idaci_score`` is the IDACI share of children living in
    income-deprived families (0 to 1), so a child in an income-deprived family counts twice and
    any other child once. It uses only published data (IoD children and IDACI), is never small
    and does not change when a service's own recording changes; it answers "how many children,
    and how needy, does this worker cover?".
``caseload``: **expected caseload**, ``referrals + families_engaged`` over the snapshot's
    period: the work the service actually saw. It follows demand as recorded, including its gaps
    (an area the service does not reach carries little caseload), so it is best read beside the
    first. It is a count of people: tables and exports suppress it like any other count.

:func:`plan_zones` turns a snapshot, a measure and a staff count or roster into a zoning plan
with :class:`needmap.zones.ZoneBuilder`; the app's Zones page and ``needmap zones`` both call it.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from needmap.config import Config
from needmap.errors import InputError
from needmap.plans import read_roster, roster_bases
from needmap.zones import ZoneBuilder

__all__ = [
    "DEFAULT_MEASURE",
    "DEFAULT_SEED",
    "EXAMPLE_ROSTER",
    "LEVELS",
    "WORKLOAD_LABELS",
    "WORKLOAD_MEASURES",
    "WorkloadMeasure",
    "ZonePlan",
    "plan_zones",
    "read_roster_upload",
    "roster_postcodes",
    "workload",
]

LEVELS = ("lsoa", "ward")
DEFAULT_MEASURE = "children_need"
DEFAULT_SEED = 0
DEFAULT_TOLERANCE = 0.05
#: Six fictional workers (one base a postcode, one an LSOA code) for the demo.
EXAMPLE_ROSTER = Path(__file__).resolve().parents[1] / "data" / "roster_example.csv"


@dataclass(frozen=True)
class WorkloadMeasure:
    """One way of counting an area's workload.

    Attributes
    ----------
    key, label : str
        Identifier (``--workload`` value) and the words shown to people.
    columns : tuple of str
        Snapshot columns it is computed from.
    is_count : bool
        True if it counts people in the service's records, so small values are suppressed.
    """

    key: str
    label: str
    columns: tuple[str, ...]
    is_count: bool


WORKLOAD_MEASURES: dict[str, WorkloadMeasure] = {
    m.key: m
    for m in (
        WorkloadMeasure("children_need", "Children weighted by need (children x (1 + IDACI))",
                        ("children", "idaci_score"), is_count=False),
        WorkloadMeasure("caseload", "Expected caseload (referrals + families engaged)",
                        ("referrals", "families_engaged"), is_count=True),
    )
}
#: Measure key -> label, for selectboxes and ``--help``.
WORKLOAD_LABELS: dict[str, str] = {k: m.label for k, m in WORKLOAD_MEASURES.items()}


def _measure(key: str) -> WorkloadMeasure:
    try:
        return WORKLOAD_MEASURES[key]
    except KeyError:
        raise InputError(
            f"Unknown workload measure {key!r}; expected one of {list(WORKLOAD_MEASURES)}."
        ) from None


def workload(areas: pd.DataFrame, measure: str = DEFAULT_MEASURE) -> pd.Series:
    """Each area's workload under ``measure`` (see the module docstring for the definitions).

    Parameters
    ----------
    areas : pandas.DataFrame
        One row per area, e.g. ``snapshot.lsoa`` or ``snapshot.ward``. Not modified.
    measure : {"children_need", "caseload"}
        Which workload.

    Returns
    -------
    pandas.Series
        Named ``workload``, aligned with ``areas``; never negative.

    Raises
    ------
    InputError
        If the measure is unknown, a column it needs is missing, or a value is missing or
        negative.
    """
    m = _measure(measure)
    missing = [c for c in m.columns if c not in areas.columns]
    if missing:
        raise InputError(
            f"Workload '{measure}' needs column(s) {missing}; found {list(areas.columns)}. "
            "Use a snapshot's lsoa or ward table."
        )
    values = {c: pd.to_numeric(areas[c], errors="coerce") for c in m.columns}
    for c, v in values.items():
        bad = v.isna() | (v < 0)
        if bad.any():
            where = areas.index[bad.to_numpy()][:5].tolist()
            raise InputError(
                f"Workload '{measure}': column '{c}' is missing or negative in {int(bad.sum())} "
                f"row(s), e.g. index {where}. Refresh the snapshot, or choose another measure."
            )
    if measure == "children_need":
        idaci = values["idaci_score"]
        if (idaci > 1).any():
            raise InputError(
                "Workload 'children_need': idaci_score must be a share from 0 to 1, found up to "
                f"{idaci.max():g}. Check [deprivation] idaci_score_column."
            )
        out = values["children"] * (1.0 + idaci)
    else:
        out = values["referrals"] + values["families_engaged"]
    return out.astype(float).rename("workload")


@dataclass
class ZonePlan:
    """A zoning plan made from a snapshot.

    Attributes
    ----------
    level, measure : str
        Geography zoned (``lsoa`` or ``ward``) and workload measure used.
    labels : pandas.DataFrame
        ``area_code, area_name, zone, workload``, one row per area (what
        :meth:`needmap.plans.PlanStore.save_plan` takes). Workload is not suppressed: store it,
        do not show it; show :func:`needmap.zonepack.zone_summary` instead.
    zones : pandas.DataFrame
        :attr:`needmap.zones.ZoneBuilder.zones_` (n_areas, workload, target, deviation,
        polsby_popper, contiguous, fte) with a ``name`` column when a roster was given.
    roster : pandas.DataFrame or None
        The roster used, row ``i`` being the worker of zone ``i + 1``.
    warnings : list of str
        What the zone builder warned about (balance not met, islands joined).
    """

    level: str
    measure: str
    labels: pd.DataFrame
    zones: pd.DataFrame
    roster: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def staff(self) -> pd.DataFrame | None:
        """``zone, name, fte`` when a roster was used."""
        if self.roster is None:
            return None
        return pd.DataFrame({"zone": range(1, len(self.roster) + 1),
                             "name": self.roster["name"].to_numpy(),
                             "fte": self.roster["fte"].to_numpy(dtype=float)})


def plan_zones(
    snapshot: Any,
    *,
    level: str = "lsoa",
    measure: str = DEFAULT_MEASURE,
    n_zones: int | None = None,
    roster: pd.DataFrame | None = None,
    postcodes: pd.DataFrame | None = None,
    locks: Mapping[str, int] | None = None,
    random_state: int | None = DEFAULT_SEED,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ZonePlan:
    """Zone a snapshot's areas into one contiguous, workload-balanced zone per worker.

    Parameters
    ----------
    snapshot : needmap.snapshot.Snapshot
        Its ``lsoa`` or ``ward`` table (EPSG:27700) is zoned.
    level : {"lsoa", "ward"}
        Zone single LSOAs or whole wards.
    measure : {"children_need", "caseload"}
        Workload measure (see :func:`workload`).
    n_zones : int, optional
        Number of equal-FTE zones. Give this or ``roster``.
    roster : pandas.DataFrame, optional
        From :func:`needmap.plans.read_roster`: one zone per worker, targets in proportion to
        FTE, each zone containing its worker's base if one is given.
    postcodes : pandas.DataFrame, optional
        ``postcode, eastings, northings``, needed when a roster base is a postcode.
    locks : mapping, optional
        ``{area_code: zone}`` to keep fixed while the rest is re-balanced.
    random_state : int or None
        Seed; the same inputs and seed give the same plan.
    tolerance : float
        Accepted relative deviation of a zone's workload from its target.

    Returns
    -------
    ZonePlan

    Raises
    ------
    InputError
        If neither or both of ``n_zones`` and ``roster`` are given, or any input is unusable.
    """
    if level not in LEVELS:
        raise InputError(f"level must be one of {list(LEVELS)}, got {level!r}.")
    if (n_zones is None) == (roster is None):
        raise InputError(
            "plan_zones: give either n_zones (a staff count) or roster (one row per worker), "
            "not both and not neither."
        )
    areas = snapshot.areas(level)
    code, name = f"{level}_code", f"{level}_name"
    data = areas[[code, name, areas.geometry.name]].copy()
    data["workload"] = workload(areas, measure).to_numpy()

    params: dict[str, Any] = {"n_zones": n_zones}
    if roster is not None:
        params = {"fte": roster["fte"].astype(float).tolist(),
                  "bases": _bases_for_level(roster_bases(roster, postcodes), snapshot, level,
                                            roster)}
    if locks:
        params["locks"] = {str(k): int(v) for k, v in locks.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        builder = ZoneBuilder(
            workload="workload", code_column=code, name_column=name, tolerance=tolerance,
            random_state=random_state, **params,
        ).fit(data)
    labels = pd.DataFrame({
        "area_code": builder.labels_.index.to_numpy(),
        "area_name": data[name].to_numpy(),
        "zone": builder.labels_.to_numpy(),
        "workload": data["workload"].to_numpy(),
    })
    zones = builder.zones_.copy()
    if roster is not None:
        zones.insert(0, "name", roster["name"].to_numpy())
    # ZoneBuilder's hints name its own parameters; say what the caller can change here.
    hint = "zone LSOAs rather than wards" if level == "ward" else "zone LSOAs"
    notes = [str(w.message).replace("try keep_wards_whole=False", hint)
             for w in caught if issubclass(w.category, UserWarning)]
    return ZonePlan(level, measure, labels, zones, roster, notes)


def _bases_for_level(bases: list[Any], snapshot: Any, level: str,
                     roster: pd.DataFrame) -> list[Any] | None:
    """Check area-code bases exist, and turn LSOA-code bases into wards when zoning wards."""
    if all(b is None for b in bases):
        return None
    lsoa_to_ward = dict(zip(snapshot.lsoa["lsoa_code"], snapshot.lsoa["ward_code"], strict=True))
    known = set(snapshot.areas(level)[f"{level}_code"])
    out = []
    for base, row, who in zip(bases, roster["row"], roster["name"], strict=True):
        if isinstance(base, str):
            if level == "ward" and base in lsoa_to_ward:
                base = lsoa_to_ward[base]
            if base not in known:
                kind = "an LSOA" if level == "lsoa" else "a ward"
                authority = snapshot.manifest.get("authority_name", "the authority")
                raise InputError(
                    f"Roster row {row}, column 'base': {who}'s base {base} is not {kind} of "
                    f"{authority}. Give an area code from the snapshot, a postcode, or leave it "
                    "blank."
                )
        out.append(base)
    return out


def read_roster_upload(data: bytes, filename: str) -> pd.DataFrame:
    """Read a roster uploaded as bytes (e.g. from a browser) with :func:`read_roster`.

    Error messages name ``filename`` as the user knows it, not the temporary copy.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name) or "roster.csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            return read_roster(path)
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), filename)) from None


def roster_postcodes(roster: pd.DataFrame, config: Config) -> pd.DataFrame | None:
    """The config's postcode table as :func:`needmap.plans.roster_bases` reads it, or None.

    Read only when a base in ``roster`` is a postcode.

    Raises
    ------
    InputError
        If a base is a postcode and the config has no ``[postcodes]`` table.
    """
    kinds = roster["base_kind"] if "base_kind" in roster else pd.Series(dtype=object)
    postcode_rows = roster.loc[(kinds == "postcode").to_numpy()]
    if postcode_rows.empty:
        return None
    if config.postcodes is None:
        first = postcode_rows.iloc[0]
        raise InputError(
            f"Roster row {first['row']}, column 'base': '{first['base']}' is a postcode, but "
            f"{config.source} has no [postcodes] table to place it. Add [postcodes] path = ..., "
            "or give the base as an area code or easting,northing."
        )
    from needmap.sources.geocode import read_postcodes

    table = read_postcodes(config.postcodes).reset_index()
    return pd.DataFrame({
        "postcode": table["postcode"].astype(str).to_numpy(),
        "eastings": table["easting"].to_numpy(dtype=float),
        "northings": table["northing"].to_numpy(dtype=float),
    })
