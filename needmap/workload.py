"""Workload measures of areas, and zoning a snapshot by them (one zone per worker).

Two measures of how much work an area brings:

``children_need`` (default): **children weighted by need**,
    ``children * (1 + idaci_score)``. ``idaci_score`` is the IDACI share of children living in
    income-deprived families (0 to 1), so a child in an income-deprived family counts twice and
    any other child once. It uses only published data (IoD children and IDACI), is never small
    and does not change when a service's own recording changes; it answers "how many children,
    and how needy, does this worker cover?".
``caseload``: **expected caseload**, ``referrals + families_engaged`` over the snapshot's
    configured period: the work the service actually saw. It follows demand as recorded,
    including its gaps (an area the service does not reach carries little caseload), so it is
    best read beside the first. It is built from the *protected* counts (with stand-ins for
    hidden ones, see ``needmap.disclosure``), never the true ones, so neither a zone's workload
    nor the shape of the zones carries more than the published figures do; an area's caseload is
    shown as ``c`` wherever one of its parts is.

:func:`plan_zones` turns a snapshot, a measure and a staff count or roster into a zoning plan
with :class:`needmap.zones.ZoneBuilder`; the app's Zones page and ``needmap zones`` both call it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from needmap.config import ZoneSettings
from needmap.errors import InputError
from needmap.snapshot import Snapshot
from needmap.sources.roster import base_points
from needmap.zones import ZoneBuilder

__all__ = [
    "EXAMPLE_ROSTER",
    "LEVELS",
    "WORKLOAD_LABELS",
    "WORKLOAD_MEASURES",
    "WorkloadMeasure",
    "ZonePlan",
    "plan_zones",
    "workload",
]

LEVELS = ("lsoa", "ward")
DEFAULTS = ZoneSettings()
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


def workload(snapshot: Snapshot, level: str, measure: str = DEFAULTS.workload
             ) -> tuple[pd.Series, pd.Series]:
    """Each area's workload under ``measure`` and whether it is shown (see the module docstring).

    Returns
    -------
    (pandas.Series, pandas.Series)
        The workload (float, never negative; hidden parts count with their stand-ins, so it may
        be summed over zones) and a boolean Series, False where it must be shown as ``c``; both
        indexed by area code in the order of ``snapshot.areas(level)``.
    """
    m = _measure(measure)
    areas = snapshot.areas(level)
    codes = areas[f"{level}_code"].astype(str)
    if measure == "children_need":
        idaci = pd.to_numeric(areas["idaci_score"], errors="coerce").fillna(0.0)
        if (idaci > 1).any() or (idaci < 0).any():
            raise InputError(
                "Workload 'children_need': idaci_score must be a share from 0 to 1, found "
                f"{idaci.min():g} to {idaci.max():g}. Check [deprivation] idaci_score_column."
            )
        load = pd.to_numeric(areas["children"], errors="coerce").fillna(0.0) * (1.0 + idaci)
        return (pd.Series(load.to_numpy(dtype=float), index=codes, name="workload"),
                pd.Series(True, index=codes))
    cells = snapshot.cells(level, snapshot.configured_period)
    value = cells.pivot(index="area_code", columns="measure", values="value").reindex(codes)
    shown = cells.pivot(index="area_code", columns="measure", values="shown").reindex(codes)
    load = value[list(m.columns)].sum(axis=1).astype(float)
    visible = shown[list(m.columns)].fillna(False).all(axis=1)
    return load.rename("workload"), visible.astype(bool)


@dataclass
class ZonePlan:
    """A zoning plan made from a snapshot.

    Attributes
    ----------
    level, measure : str
        Geography zoned (``lsoa`` or ``ward``) and workload measure used.
    labels : pandas.DataFrame
        ``area_code, area_name, zone, workload``, one row per area (what
        :meth:`needmap.plans.PlanStore.save_plan` takes). Workload includes stand-ins for hidden
        counts: store it and sum it, show it through ``needmap.outputs.zone_tables``.
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
    snapshot_id: str | None = None
    seed: int | None = None
    tolerance: float = DEFAULTS.tolerance

    @property
    def staff(self) -> pd.DataFrame | None:
        """``zone, name, fte`` when a roster was used."""
        if self.roster is None:
            return None
        return pd.DataFrame({"zone": range(1, len(self.roster) + 1),
                             "name": self.roster["name"].to_numpy(),
                             "fte": self.roster["fte"].to_numpy(dtype=float)})


def plan_zones(
    snapshot: Snapshot,
    *,
    level: str = "lsoa",
    measure: str = DEFAULTS.workload,
    n_zones: int | None = None,
    roster: pd.DataFrame | None = None,
    postcodes: pd.DataFrame | None = None,
    locks: Mapping[str, int] | None = None,
    random_state: int | None = DEFAULTS.seed,
    tolerance: float = DEFAULTS.tolerance,
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
        From :func:`needmap.sources.roster.read_roster`: one zone per worker, targets in
        proportion to FTE, each zone containing its worker's base if one is given.
    postcodes : pandas.DataFrame, optional
        :func:`needmap.sources.geocode.read_postcodes` output, needed when a base is a postcode.
    locks : mapping, optional
        ``{area_code: zone}`` to keep fixed while the rest is re-balanced. Locks that leave a
        zone with no area to grow from are refused with a plain message.
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
    load, _ = workload(snapshot, level, measure)
    data["workload"] = load.to_numpy()
    k = len(roster) if roster is not None else int(n_zones)
    if k > len(data):
        raise InputError(
            f"{k} zones cannot be made from {len(data)} {'LSOAs' if level == 'lsoa' else 'wards'}"
            "; use fewer staff or zone LSOAs."
        )
    params: dict[str, Any] = {"n_zones": n_zones}
    if roster is not None:
        params = {"fte": roster["fte"].astype(float).tolist(),
                  "bases": _bases_for_level(base_points(roster, postcodes), snapshot, level,
                                            roster)}
    if locks:
        locks = {str(c): int(z) for c, z in locks.items()}
        _check_locks(locks, data[code].astype(str), k, level)
        params["locks"] = locks
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
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    off = zones.index[np.abs(zones["deviation"].to_numpy(dtype=float)) > tolerance]
    if len(off):
        listed = ", ".join(f"zone {z} ({zones.loc[z, 'deviation']:+.1%})" for z in off)
        hint = ("zone LSOAs rather than wards, or " if level == "ward" else "") + \
            "allow a larger tolerance"
        notes = [n for n in notes if "tolerance" not in n and "balance" not in n]
        notes.append(f"{len(off)} of {len(zones)} zones are outside +-{tolerance:.0%} of their "
                     f"target: {listed}. Try another seed, {hint}.")
    return ZonePlan(level, measure, labels, zones, roster, notes, snapshot_id=snapshot.id,
                    seed=random_state, tolerance=tolerance)


def _check_locks(locks: dict[str, int], codes: pd.Series, k: int, level: str) -> None:
    """Locks must name areas of this level and zones 1..k, and leave every zone room to grow."""
    unknown = sorted(set(locks) - set(codes))
    if unknown:
        raise InputError(f"Locked area(s) {unknown[:3]} are not {level.upper()}s of this snapshot.")
    bad = sorted({z for z in locks.values() if not 1 <= z <= k})
    if bad:
        raise InputError(f"Areas are locked to zone(s) {bad}, but there are zones 1..{k} only.")
    free = len(codes) - len(locks)
    empty = k - len(set(locks.values()))
    if empty > free:
        raise InputError(
            f"Every area is locked, or nearly: {empty} zone(s) have no locked area and only "
            f"{free} area(s) are left to start them. Unlock some areas (Clear locks) or lock "
            "areas to every zone."
        )


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
