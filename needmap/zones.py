"""Staff zones: split LSOAs (or whole wards) into contiguous, balanced, compact zones.

One zone per worker. Each zone must be contiguous (queen adjacency), carry a workload within
``tolerance`` of its target (the authority's total workload shared in proportion to each
worker's FTE), be compact (Polsby-Popper is reported), and may be required to contain the
worker's base or to keep some areas in a fixed zone.

Why a heuristic of our own
--------------------------
Measured by ``bench/zones.py`` (one process, same inputs; Oldham 141 LSOAs k=6, and a
2,000-unit Voronoi coverage k=20): spopt ``Skater`` and scikit-learn
``AgglomerativeClustering(linkage="ward", connectivity=...)`` ignore balance (largest zone
14x / 7x the smallest on Oldham, 168x / 3x on 2,000 units; Skater took 176 s there); spopt
``MaxPHeuristic`` balances only to a floor (largest deviation 18-28%), cannot fix the number of
zones, is the least compact, and takes minutes even with few iterations; gerrychain
``recursive_tree_part`` balances to +-5% in under a second but draws random spanning-tree
districts (equal targets only; no compactness, bases or locks; and gerrychain is not a runtime
dependency). None does the whole job, so this module implements a two-stage heuristic. On the
same inputs it gives every zone within 3.0% of target, all contiguous, mean Polsby-Popper 0.26
(Skater 0.18) on Oldham in 0.06 s, and 0.58 (Skater 0.27) on 2,000 units in about 1 s:

1. **Seeded growth.** Seeds are the worker's base unit, the units locked to a zone, or (for
   zones with neither) the units nearest the centres of a workload-weighted k-means on unit
   centroids (``random_state``). Zones then grow one adjacent unit at a time: the zone furthest
   below its target takes the frontier unit nearest its seed. Every zone is connected by
   construction.
2. **Local search of boundary moves.** A unit on a zone boundary moves to a neighbouring zone
   only if its old zone stays connected (breadth-first search) and it is neither locked nor a
   base. First, moves that reduce the sum of squared relative deviations from target are made
   (the largest deviation falls with it), until every zone is within ``0.6 * tolerance``
   (about +-3% for the default 5%) or no such move remains. Then moves that reduce the sum of
   ``1 / Polsby-Popper`` over zones are made while every zone stays within that balance bound.
   Zone perimeters are updated from shared boundary lengths, so a move costs O(degree).

The search is run from ``n_init`` sets of seeds; the plan kept is the best balanced (any plan
within the aim counts as balanced), then the most compact. The whole procedure is deterministic
for a given ``random_state``.

Islands (units with no queen neighbour within 1 m) are joined to the nearest unit of the main
landmass and reported with a :class:`ZoneWarning`; an enclave (a unit with a single neighbour)
needs no special case, as contiguity is checked on the graph.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from needmap.errors import InputError

__all__ = [
    "ZoneBuilder",
    "ZoneWarning",
    "build_zones",
    "is_contiguous",
    "polsby_popper",
    "zone_contiguity",
]

BNG = "EPSG:27700"
_FUZZY_METRES = 1.0


class ZoneWarning(UserWarning):
    """A zoning plan was made, but something about it needs a person's attention."""


def polsby_popper(geoms: Any) -> np.ndarray:
    """Polsby-Popper compactness ``4 * pi * area / perimeter**2`` of each geometry.

    1 for a circle, near 0 for a long thin shape. Geometries must be in a projected CRS.

    Parameters
    ----------
    geoms : GeoSeries, GeoDataFrame or array of shapely geometries

    Returns
    -------
    numpy.ndarray
        One value per geometry; NaN where the perimeter is zero.
    """
    arr = _geometry_array(geoms)
    area = shapely.area(arr)
    perim = shapely.length(arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perim > 0, 4.0 * math.pi * area / perim**2, np.nan)


def zone_contiguity(geoms: Any, labels: Any) -> pd.Series:
    """Whether each zone's areas form one queen-connected piece.

    Parameters
    ----------
    geoms : GeoSeries, GeoDataFrame or array of shapely geometries
        The areas, in the same order as ``labels``.
    labels : array-like
        The zone of each area.

    Returns
    -------
    pandas.Series
        Indexed by zone label, True where the zone is connected.
    """
    arr = _geometry_array(geoms)
    lab = np.asarray(labels)
    if len(lab) != len(arr):
        raise InputError(
            f"zone_contiguity: expected one label per geometry, found {len(lab)} labels "
            f"for {len(arr)} geometries."
        )
    neighbours = _adjacency_lists(len(arr), _queen_edges(arr, distance=_FUZZY_METRES))
    out = {}
    for z in pd.unique(lab):
        members = np.flatnonzero(lab == z)
        out[z] = _connected(set(members.tolist()), neighbours)
    return pd.Series(out, name="contiguous").sort_index()


def is_contiguous(geoms: Any, labels: Any) -> bool:
    """True if every zone in ``labels`` is queen-connected (see :func:`zone_contiguity`)."""
    return bool(zone_contiguity(geoms, labels).all())


class ZoneBuilder:
    """Split areas into one contiguous, workload-balanced, compact zone per worker.

    Parameters
    ----------
    n_zones : int, optional
        Number of zones. Defaults to ``len(fte)`` or ``len(bases)``.
    fte : sequence of float, optional
        Each worker's FTE; zone ``i + 1`` belongs to worker ``i`` and its target workload is the
        total times ``fte[i] / sum(fte)``. Defaults to equal shares.
    workload : str
        Column of ``areas`` with each area's workload (for instance children weighted by need,
        or expected caseload). Must be non-negative; NaN is an error.
    tolerance : float
        Largest accepted relative deviation of a zone's workload from its target (0.05 = +-5%).
        The search aims for ``0.6 * tolerance``; a plan outside ``tolerance`` raises a
        :class:`ZoneWarning`.
    bases : sequence, optional
        One entry per zone: ``None``, an ``(easting, northing)`` pair or shapely Point in
        EPSG:27700, or an area code (LSOA code; a ward code when ``keep_wards_whole``).
        The zone is made to contain the area holding its base.
    locks : mapping or Series, optional
        ``{area_code: zone}`` (zones numbered 1..k) to keep fixed; the rest is re-balanced.
    keep_wards_whole : bool
        Build zones from whole wards (``ward_column``) instead of single areas.
    ward_column, code_column, name_column : str
        Columns of ``areas`` holding the ward code, the area code and (optionally) area name.
    random_state : int, numpy Generator or None
        Seed for the k-means seeds and restarts; the same seed gives the same plan.
    max_iter : int
        Cap on local-search moves per restart.
    n_init : int
        Restarts from new seeds; the best plan is kept.

    Attributes
    ----------
    labels_ : pandas.Series
        Zone (1..k) of each area, indexed by area code in input order.
    zone_loads_, targets_, deviation_ : pandas.Series
        Workload, target workload and relative deviation ``(load - target) / target`` per zone.
    polsby_popper_ : pandas.Series
        Polsby-Popper compactness of each dissolved zone.
    contiguous_ : pandas.Series
        True where the zone is connected on the adjacency graph used (islands joined).
    zones_ : pandas.DataFrame
        One row per zone: n_areas, workload, target, deviation, polsby_popper, contiguous, fte.
    warnings_ : list of str
        Messages also raised as :class:`ZoneWarning` (islands, balance not met, ...).
    n_iter_ : int
        Local-search moves made in the kept restart.
    """

    def __init__(
        self,
        n_zones: int | None = None,
        *,
        fte: Sequence[float] | None = None,
        workload: str = "workload",
        tolerance: float = 0.05,
        bases: Sequence[Any] | None = None,
        locks: Mapping[str, int] | pd.Series | None = None,
        keep_wards_whole: bool = False,
        ward_column: str = "ward_code",
        code_column: str = "lsoa_code",
        name_column: str | None = None,
        random_state: int | np.random.Generator | None = None,
        max_iter: int = 20_000,
        n_init: int = 4,
    ) -> None:
        self.n_zones = n_zones
        self.fte = fte
        self.workload = workload
        self.tolerance = tolerance
        self.bases = bases
        self.locks = locks
        self.keep_wards_whole = keep_wards_whole
        self.ward_column = ward_column
        self.code_column = code_column
        self.name_column = name_column
        self.random_state = random_state
        self.max_iter = max_iter
        self.n_init = n_init

    def fit(self, areas: gpd.GeoDataFrame) -> ZoneBuilder:
        """Build the zones.

        Parameters
        ----------
        areas : geopandas.GeoDataFrame
            One row per area with ``code_column``, ``workload`` (and ``ward_column`` when
            ``keep_wards_whole``), in a projected CRS (EPSG:27700 expected; others are
            converted with a warning). Not modified.

        Returns
        -------
        ZoneBuilder
            ``self``, with the learned attributes set.
        """
        notes: list[str] = []
        areas = self._validate_areas(areas, notes)
        k, fte = self._resolve_k_fte(len(areas))
        units = _make_units(
            areas,
            code_column=self.code_column,
            workload=self.workload,
            ward_column=self.ward_column if self.keep_wards_whole else None,
        )
        if k > units.n:
            raise InputError(
                f"ZoneBuilder: asked for {k} zones but there are only {units.n} units to share "
                "out. Use fewer zones, or set keep_wards_whole=False to zone single areas."
            )
        graph = _UnitGraph.build(units.geoms, units.codes, notes)
        fixed = self._fixed_units(units, k)

        total = float(units.load.sum())
        targets = total * fte / fte.sum()
        rng = np.random.default_rng(self.random_state)
        aim = 0.6 * self.tolerance
        best: tuple[tuple[float, float], np.ndarray, int] | None = None
        for _ in range(max(1, int(self.n_init))):
            seed = int(rng.integers(0, 2**31 - 1))
            lab = _grow(graph, units, targets, fixed, k, seed)
            search = _LocalSearch(graph, units, targets, lab, fixed)
            n_moves = search.run(aim=aim, max_iter=int(self.max_iter))
            # Any plan within the aim counts as balanced; among those, the most compact wins.
            score = (max(search.max_deviation(), aim), search.compactness_cost())
            if best is None or score < best[0]:
                best = (score, search.lab.copy(), n_moves)
        assert best is not None
        _, unit_lab, n_moves = best

        area_lab = unit_lab[units.area_to_unit] + 1
        self.labels_ = pd.Series(
            area_lab, index=pd.Index(areas[self.code_column].to_numpy(), name=self.code_column),
            name="zone",
        )
        zones = pd.RangeIndex(1, k + 1, name="zone")
        loads = np.bincount(unit_lab, weights=units.load, minlength=k)
        self.zone_loads_ = pd.Series(loads, index=zones, name="workload")
        self.targets_ = pd.Series(targets, index=zones, name="target")
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(targets > 0, (loads - targets) / targets, 0.0)
        self.deviation_ = pd.Series(dev, index=zones, name="deviation")
        dissolved = _dissolve(areas.geometry.to_numpy(), area_lab, k)
        self.polsby_popper_ = pd.Series(polsby_popper(dissolved), index=zones, name="polsby_popper")
        self.contiguous_ = pd.Series(
            [_connected(set(np.flatnonzero(unit_lab == z).tolist()), graph.neighbours)
             for z in range(k)],
            index=zones, name="contiguous",
        )
        self.zones_ = pd.DataFrame({
            "n_areas": np.bincount(area_lab - 1, minlength=k),
            "workload": loads,
            "target": targets,
            "deviation": dev,
            "polsby_popper": self.polsby_popper_.to_numpy(),
            "contiguous": self.contiguous_.to_numpy(),
            "fte": fte,
        }, index=zones)
        self.n_iter_ = n_moves
        outside = np.flatnonzero(np.abs(dev) > self.tolerance)
        if len(outside):
            which = ", ".join(f"zone {i + 1} {dev[i]:+.1%}" for i in outside)
            notes.append(
                f"{len(outside)} of {k} zones are outside the +-{self.tolerance:.0%} tolerance "
                f"of their target workload ({which}). The areas may be too coarse for {k} zones "
                "(try keep_wards_whole=False), locks or bases may pin too much, or try "
                "another random_state or a larger tolerance."
            )
        for msg in notes:
            warnings.warn(msg, ZoneWarning, stacklevel=2)
        self.warnings_ = notes
        return self

    # -- validation -------------------------------------------------------------------------

    def _validate_areas(self, areas: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
        if not isinstance(areas, gpd.GeoDataFrame):
            raise InputError(
                f"ZoneBuilder.fit: expected a GeoDataFrame of areas, got {type(areas).__name__}. "
                "Read boundaries with geopandas.read_file or needmap.sources.boundaries."
            )
        needed = [self.code_column, self.workload]
        if self.keep_wards_whole:
            needed.append(self.ward_column)
        missing = [c for c in needed if c not in areas.columns]
        if missing:
            raise InputError(
                f"ZoneBuilder.fit: column(s) {missing} not found in areas; found "
                f"{list(areas.columns)}. Set code_column / workload / ward_column to match."
            )
        if len(areas) == 0:
            raise InputError("ZoneBuilder.fit: areas is empty; expected at least one area.")
        codes = areas[self.code_column]
        dup = codes[codes.duplicated()].unique().tolist()
        if dup:
            raise InputError(
                f"ZoneBuilder.fit: area codes must be unique; {len(dup)} repeated, e.g. {dup[:5]}."
                " Aggregate to one row per area first."
            )
        if areas.crs is None:
            raise InputError(
                "ZoneBuilder.fit: areas have no CRS; expected EPSG:27700. Use set_crs() with the "
                "CRS the coordinates are in."
            )
        out = areas
        if not areas.crs.is_projected:
            notes.append(
                f"areas are in {areas.crs.to_string()}, not a projected CRS; converted to "
                "EPSG:27700 for compactness and distances. Use to_crs('EPSG:27700') to avoid this."
            )
            out = areas.to_crs(BNG)
        wl = pd.to_numeric(out[self.workload], errors="coerce")
        bad = out.loc[wl.isna().to_numpy(), self.code_column].tolist()
        if bad:
            raise InputError(
                f"ZoneBuilder.fit: column '{self.workload}' is missing or not a number for "
                f"{len(bad)} area(s): {bad[:10]}. Give every area a workload (0 is allowed)."
            )
        neg = out.loc[(wl < 0).to_numpy(), self.code_column].tolist()
        if neg:
            raise InputError(
                f"ZoneBuilder.fit: column '{self.workload}' is negative for {neg[:10]}; "
                "workloads must be zero or more."
            )
        if float(wl.sum()) <= 0:
            raise InputError(
                f"ZoneBuilder.fit: column '{self.workload}' sums to 0; there is no workload to "
                "balance. Check the workload was computed before zoning."
            )
        if self.keep_wards_whole and out[self.ward_column].isna().any():
            bad = out.loc[out[self.ward_column].isna(), self.code_column].tolist()
            raise InputError(
                f"ZoneBuilder.fit: keep_wards_whole needs a ward for every area; "
                f"'{self.ward_column}' is empty for {bad[:10]}. Join the LSOA-to-ward lookup."
            )
        return out

    def _resolve_k_fte(self, n_areas: int) -> tuple[int, np.ndarray]:
        k = self.n_zones
        if k is None and self.fte is not None:
            k = len(self.fte)
        if k is None and self.bases is not None:
            k = len(self.bases)
        if k is None:
            raise InputError(
                "ZoneBuilder: the number of zones is unknown; give n_zones, fte (one per worker) "
                "or bases (one per worker)."
            )
        k = int(k)
        if k < 1:
            raise InputError(f"ZoneBuilder: n_zones must be at least 1, got {k}.")
        if self.fte is None:
            fte = np.ones(k)
        else:
            fte = np.asarray(self.fte, dtype=float)
            if len(fte) != k:
                raise InputError(
                    f"ZoneBuilder: fte has {len(fte)} values but n_zones is {k}; give one FTE "
                    "per zone."
                )
            if not np.all(np.isfinite(fte)) or np.any(fte <= 0):
                raise InputError(
                    f"ZoneBuilder: every FTE must be a number above 0, got {fte.tolist()}."
                )
        if self.bases is not None and len(self.bases) != k:
            raise InputError(
                f"ZoneBuilder: bases has {len(self.bases)} entries but there are {k} zones; give "
                "one entry per zone (None where a worker has no base)."
            )
        if not 0 < self.tolerance < 1:
            raise InputError(
                f"ZoneBuilder: tolerance must be between 0 and 1 (0.05 = +-5%), got "
                f"{self.tolerance!r}."
            )
        return k, fte

    def _fixed_units(self, units: _Units, k: int) -> dict[int, int]:
        """Unit index -> zone index (0-based) for bases and locks."""
        fixed: dict[int, int] = {}
        why: dict[int, str] = {}

        def pin(unit: int, zone: int, reason: str) -> None:
            if unit in fixed and fixed[unit] != zone:
                raise InputError(
                    f"ZoneBuilder: {reason} puts {units.codes[unit]} in zone {zone + 1}, but "
                    f"{why[unit]} puts it in zone {fixed[unit] + 1}. Move one base or lock."
                )
            fixed[unit] = zone
            why[unit] = reason

        if self.locks is not None:
            locks = dict(self.locks.items()) if isinstance(self.locks, pd.Series) else self.locks
            for code, zone in locks.items():
                if code not in units.area_index:
                    raise InputError(
                        f"ZoneBuilder: locked area '{code}' is not in areas['{self.code_column}']."
                        " Lock only areas that are being zoned."
                    )
                if not (isinstance(zone, int | np.integer) and 1 <= int(zone) <= k):
                    raise InputError(
                        f"ZoneBuilder: area '{code}' is locked to zone {zone!r}; zones are "
                        f"numbered 1..{k}."
                    )
                unit = int(units.area_to_unit[units.area_index[code]])
                pin(unit, int(zone) - 1, f"the lock on {code}")
        if self.bases is not None:
            for zone, base in enumerate(self.bases):
                if base is None or (isinstance(base, float) and math.isnan(base)):
                    continue
                pin(_base_unit(base, units, self.keep_wards_whole), zone, f"the base of zone "
                    f"{zone + 1}")
        return fixed


def build_zones(areas: gpd.GeoDataFrame, **params: Any) -> pd.DataFrame:
    """Zone ``areas`` with :class:`ZoneBuilder` and return one row per area.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        As for :meth:`ZoneBuilder.fit`.
    **params
        Any :class:`ZoneBuilder` parameter.

    Returns
    -------
    pandas.DataFrame
        Columns ``area_code``, ``zone`` (1..k) and ``workload``, in input order (plus
        ``area_name`` when ``name_column`` is given).
    """
    builder = ZoneBuilder(**params).fit(areas)
    out = pd.DataFrame({
        "area_code": builder.labels_.index.to_numpy(),
        "zone": builder.labels_.to_numpy(),
        "workload": pd.to_numeric(areas[builder.workload]).to_numpy(dtype=float),
    })
    if builder.name_column is not None:
        out.insert(1, "area_name", areas[builder.name_column].to_numpy())
    return out


# -- units and graph ------------------------------------------------------------------------


@dataclass
class _Units:
    codes: np.ndarray  # unit code (area code, or ward code when wards are kept whole)
    geoms: np.ndarray
    load: np.ndarray
    area_to_unit: np.ndarray  # for each input area, its unit index
    area_index: dict[str, int]  # area code -> input row position
    unit_index: dict[str, int]

    @property
    def n(self) -> int:
        return len(self.codes)


def _make_units(
    areas: gpd.GeoDataFrame, *, code_column: str, workload: str, ward_column: str | None
) -> _Units:
    codes = areas[code_column].astype(str).to_numpy()
    load = pd.to_numeric(areas[workload]).to_numpy(dtype=float)
    geoms = areas.geometry.to_numpy()
    area_index = {c: i for i, c in enumerate(codes)}
    if ward_column is None:
        return _Units(codes, np.asarray(geoms), load, np.arange(len(codes)), area_index,
                      dict(area_index))
    wards = areas[ward_column].astype(str).to_numpy()
    ward_codes, area_to_unit = np.unique(wards, return_inverse=True)
    ward_geoms = _dissolve(geoms, area_to_unit + 1, len(ward_codes))
    ward_load = np.bincount(area_to_unit, weights=load, minlength=len(ward_codes))
    unit_index = {c: i for i, c in enumerate(ward_codes)}
    return _Units(ward_codes, ward_geoms, ward_load, area_to_unit, area_index, unit_index)


def _base_unit(base: Any, units: _Units, wards_whole: bool) -> int:
    if isinstance(base, str):
        code = base.strip()
        if code in units.unit_index:
            return units.unit_index[code]
        if code in units.area_index:
            return int(units.area_to_unit[units.area_index[code]])
        parts = code.split(",")
        if len(parts) == 2:
            try:
                base = (float(parts[0]), float(parts[1]))
            except ValueError:
                base = None
        if isinstance(base, str) or base is None:
            hint = "" if wards_whole else " A ward code is accepted only with keep_wards_whole."
            raise InputError(
                f"ZoneBuilder: base '{code}' is neither an area code being zoned nor "
                f"'easting,northing'. Geocode postcodes to a point first (EPSG:27700).{hint}"
            )
    if isinstance(base, shapely.Point):
        point = base
    else:
        try:
            x, y = (float(v) for v in base)
        except (TypeError, ValueError):
            raise InputError(
                f"ZoneBuilder: base {base!r} is not understood; give an (easting, northing) "
                "pair, a shapely Point in EPSG:27700, or an area code."
            ) from None
        point = shapely.Point(x, y)
    hits = shapely.STRtree(units.geoms).query(point, predicate="intersects")
    if len(hits):
        return int(min(hits))
    tree = shapely.STRtree(units.geoms)
    nearest = int(tree.nearest(point))
    if shapely.distance(units.geoms[nearest], point) > 2000:
        raise InputError(
            f"ZoneBuilder: base point ({point.x:.0f}, {point.y:.0f}) is more than 2 km from every "
            "area. Check it is easting,northing in EPSG:27700 (not longitude,latitude)."
        )
    return nearest


@dataclass
class _UnitGraph:
    neighbours: list[list[int]]
    edges: np.ndarray  # (m, 2) undirected, i < j
    shared: np.ndarray  # shared boundary length per edge
    perimeter: np.ndarray
    area: np.ndarray
    centroid: np.ndarray  # (n, 2)

    @classmethod
    def build(cls, geoms: np.ndarray, codes: np.ndarray, notes: list[str]) -> _UnitGraph:
        n = len(geoms)
        edges = _queen_edges(geoms)
        comps = _components(n, edges)
        if len(comps) > 1:
            # BGC boundaries leave hairline gaps; a 1 m tolerance closes them before we call
            # anything an island.
            edges = _queen_edges(geoms, distance=_FUZZY_METRES)
            comps = _components(n, edges)
        if len(comps) > 1:
            edges = _join_islands(geoms, edges, comps, codes, notes)
        boundaries = shapely.boundary(geoms)
        if len(edges):
            shared = shapely.length(
                shapely.intersection(boundaries[edges[:, 0]], boundaries[edges[:, 1]])
            )
        else:
            shared = np.zeros(0)
        cent = shapely.get_coordinates(shapely.centroid(geoms))
        return cls(
            neighbours=_adjacency_lists(n, edges),
            edges=edges,
            shared=np.asarray(shared, dtype=float),
            perimeter=shapely.length(geoms),
            area=shapely.area(geoms),
            centroid=cent,
        )


def _geometry_array(geoms: Any) -> np.ndarray:
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    if isinstance(geoms, gpd.GeoSeries):
        return geoms.to_numpy()
    return np.asarray(geoms, dtype=object)


def _queen_edges(geoms: np.ndarray, distance: float | None = None) -> np.ndarray:
    tree = shapely.STRtree(geoms)
    if distance is None:
        i, j = tree.query(geoms, predicate="intersects")
    else:
        i, j = tree.query(geoms, predicate="dwithin", distance=distance)
    keep = i < j
    return np.unique(np.column_stack([i[keep], j[keep]]), axis=0).astype(np.int64)


def _adjacency_lists(n: int, edges: np.ndarray) -> list[list[int]]:
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges.tolist():
        nbrs[a].append(b)
        nbrs[b].append(a)
    return nbrs


def _components(n: int, edges: np.ndarray) -> list[list[int]]:
    nbrs = _adjacency_lists(n, edges)
    seen = np.zeros(n, dtype=bool)
    comps = []
    for start in range(n):
        if seen[start]:
            continue
        seen[start] = True
        comp, queue = [start], deque([start])
        while queue:
            for v in nbrs[queue.popleft()]:
                if not seen[v]:
                    seen[v] = True
                    comp.append(v)
                    queue.append(v)
        comps.append(comp)
    return sorted(comps, key=len, reverse=True)


def _join_islands(
    geoms: np.ndarray, edges: np.ndarray, comps: list[list[int]], codes: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    """Link every smaller component to its nearest unit outside it, and say so."""
    extra = []
    joined = []
    main = set(comps[0])
    for comp in comps[1:]:
        others = np.array(sorted(main), dtype=np.int64)
        tree = shapely.STRtree(geoms[others])
        best = None
        for u in comp:
            idx = int(tree.nearest(geoms[u]))
            d = float(shapely.distance(geoms[u], geoms[others[idx]]))
            if best is None or d < best[0]:
                best = (d, u, int(others[idx]))
        assert best is not None
        d, u, v = best
        extra.append((min(u, v), max(u, v)))
        joined.append(f"{', '.join(codes[comp][:5])} (joined to {codes[v]}, {d:.0f} m away)")
        main.update(comp)
    notes.append(
        f"{len(comps) - 1} island(s) with no neighbour within {_FUZZY_METRES:.0f} m: "
        + "; ".join(joined)
        + ". Each was treated as adjacent to its nearest area so it can join a zone; check the "
        "boundaries if this is unexpected."
    )
    return np.unique(np.vstack([edges, np.array(extra, dtype=np.int64)]), axis=0)


def _connected(members: set[int], neighbours: list[list[int]]) -> bool:
    if not members:
        return True
    start = next(iter(members))
    seen = {start}
    queue = deque([start])
    while queue:
        for v in neighbours[queue.popleft()]:
            if v in members and v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(members)


def _dissolve(geoms: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Union the geometries of each label 1..k (coverage union, falling back to a full union)."""
    out = np.empty(k, dtype=object)
    for z in range(1, k + 1):
        part = geoms[labels == z]
        try:
            geom = shapely.coverage_union_all(part)
            if not geom.is_valid:
                raise ValueError
        except Exception:
            geom = shapely.union_all(part)
        out[z - 1] = geom
    return out


# -- stage 1: seeded growth ------------------------------------------------------------------


def _grow(
    graph: _UnitGraph, units: _Units, targets: np.ndarray, fixed: dict[int, int], k: int,
    seed: int,
) -> np.ndarray:
    n = units.n
    lab = np.full(n, -1, dtype=np.int64)
    for u, z in fixed.items():
        lab[u] = z
    _connect_fixed(graph, lab, fixed, k, units.codes)
    free_zones = [z for z in range(k) if not np.any(lab == z)]
    if free_zones:
        _seed_free_zones(graph, units, lab, free_zones, seed)
    anchor = np.zeros((k, 2))
    for z in range(k):
        anchor[z] = graph.centroid[lab == z].mean(axis=0)
    load = np.bincount(lab[lab >= 0], weights=units.load[lab >= 0], minlength=k)
    # One heap of (distance to anchor, unit) per zone; stale entries are skipped on pop.
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def push_neighbours(u: int, z: int) -> None:
        for v in graph.neighbours[u]:
            if lab[v] < 0:
                d = float(np.hypot(*(graph.centroid[v] - anchor[z])))
                heapq.heappush(heaps[z], (d, v))

    for u in np.flatnonzero(lab >= 0).tolist():
        push_neighbours(u, int(lab[u]))
    ratio = [(load[z] / targets[z] if targets[z] > 0 else 0.0, z) for z in range(k)]
    heapq.heapify(ratio)
    remaining = int((lab < 0).sum())
    while remaining and ratio:
        _, z = heapq.heappop(ratio)
        while heaps[z] and lab[heaps[z][0][1]] >= 0:
            heapq.heappop(heaps[z])
        if not heaps[z]:
            continue  # enclosed: the zone cannot grow any more
        _, u = heapq.heappop(heaps[z])
        lab[u] = z
        load[z] += units.load[u]
        remaining -= 1
        push_neighbours(u, z)
        heapq.heappush(ratio, (load[z] / targets[z] if targets[z] > 0 else 0.0, z))
    return lab


def _seed_free_zones(
    graph: _UnitGraph, units: _Units, lab: np.ndarray, free_zones: list[int], seed: int
) -> None:
    free_units = np.flatnonzero(lab < 0)
    if len(free_units) < len(free_zones):
        raise InputError(
            f"ZoneBuilder: {len(free_zones)} zones have no base or lock, but only "
            f"{len(free_units)} units are left to seed them. Lock fewer areas or use fewer zones."
        )
    pts = graph.centroid[free_units]
    weight = units.load[free_units] + 1e-6 * max(float(units.load.max()), 1.0)
    centres = _weighted_kmeans(pts, weight, len(free_zones), np.random.default_rng(seed))
    taken: set[int] = set()
    for z, centre in zip(free_zones, centres, strict=True):
        order = np.argsort(np.hypot(*(pts - centre).T), kind="stable")
        for i in order.tolist():
            if int(free_units[i]) not in taken:
                taken.add(int(free_units[i]))
                lab[free_units[i]] = z
                break


def _weighted_kmeans(
    pts: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator, n_steps: int = 15
) -> np.ndarray:
    """Workload-weighted k-means++ then a few Lloyd steps: seed points, nothing more.

    Written out (not sklearn's KMeans) because seeds need no precision and the import alone
    costs about a second on first use.
    """
    p = weight / weight.sum()
    centres = [pts[rng.choice(len(pts), p=p)]]
    for _ in range(1, k):
        d2 = np.min(((pts[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        q = weight * d2
        centres.append(pts[rng.choice(len(pts), p=q / q.sum())] if q.sum() > 0 else
                       pts[rng.integers(len(pts))])
    c = np.array(centres, dtype=float)
    for _ in range(n_steps):
        near = np.argmin(((pts[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        wsum = np.bincount(near, weights=weight, minlength=k)
        for dim in range(2):
            s = np.bincount(near, weights=weight * pts[:, dim], minlength=k)
            c[:, dim] = np.where(wsum > 0, s / np.where(wsum > 0, wsum, 1), c[:, dim])
    return c


def _connect_fixed(
    graph: _UnitGraph, lab: np.ndarray, fixed: dict[int, int], k: int, codes: np.ndarray
) -> None:
    """Join the pieces of each zone's fixed units by shortest paths through free units."""
    for z in range(k):
        members = {u for u, zz in fixed.items() if zz == z}
        while members and not _connected(members | set(np.flatnonzero(lab == z).tolist()),
                                         graph.neighbours):
            current = set(np.flatnonzero(lab == z).tolist())
            comp = _component_of(next(iter(sorted(current))), current, graph.neighbours)
            path = _shortest_path(comp, current - comp, lab, graph.neighbours)
            if path is None:
                names = sorted(str(codes[u]) for u in members)
                raise InputError(
                    f"ZoneBuilder: the areas fixed to zone {z + 1} (locks or base: "
                    f"{names[:5]}) cannot be joined into one connected zone without crossing "
                    "areas fixed to other zones. Change the locks."
                )
            for u in path:
                lab[u] = z


def _component_of(start: int, members: set[int], neighbours: list[list[int]]) -> set[int]:
    seen = {start}
    queue = deque([start])
    while queue:
        for v in neighbours[queue.popleft()]:
            if v in members and v not in seen:
                seen.add(v)
                queue.append(v)
    return seen


def _shortest_path(
    sources: set[int], targets: set[int], lab: np.ndarray, neighbours: list[list[int]]
) -> list[int] | None:
    """Free units on a shortest path from ``sources`` to ``targets`` (None if there is none)."""
    parent: dict[int, int] = {}
    queue = deque(sorted(sources))
    seen = set(sources)
    while queue:
        u = queue.popleft()
        for v in neighbours[u]:
            if v in seen:
                continue
            if v in targets:
                path = []
                while u not in sources:
                    path.append(u)
                    u = parent[u]
                return path
            if lab[v] < 0:
                seen.add(v)
                parent[v] = u
                queue.append(v)
    return None


# -- stage 2: local search -------------------------------------------------------------------


class _LocalSearch:
    """Boundary-unit moves that keep zones connected: balance first, then compactness."""

    def __init__(
        self, graph: _UnitGraph, units: _Units, targets: np.ndarray, lab: np.ndarray,
        fixed: dict[int, int],
    ) -> None:
        self.g = graph
        self.k = len(targets)
        self.lab = lab.copy()
        self.unit_load = units.load
        self.targets = np.where(targets > 0, targets, 1e-12)
        self.movable = np.ones(units.n, dtype=bool)
        self.movable[list(fixed)] = False
        e = graph.edges
        self.src = np.concatenate([e[:, 0], e[:, 1]])
        self.dst = np.concatenate([e[:, 1], e[:, 0]])
        self.w = np.concatenate([graph.shared, graph.shared])
        self.members = [set(np.flatnonzero(self.lab == z).tolist()) for z in range(self.k)]
        self.load = np.bincount(self.lab, weights=self.unit_load, minlength=self.k)
        self.area = np.bincount(self.lab, weights=graph.area, minlength=self.k)
        internal = self.lab[e[:, 0]] == self.lab[e[:, 1]]
        shared_in = np.bincount(self.lab[e[internal, 0]], weights=graph.shared[internal],
                                minlength=self.k)
        outer = np.bincount(self.lab, weights=graph.perimeter, minlength=self.k)
        self.perim = outer - 2 * shared_in

    def deviation(self) -> np.ndarray:
        return (self.load - self.targets) / self.targets

    def max_deviation(self) -> float:
        return float(np.abs(self.deviation()).max())

    def compactness_cost(self) -> float:
        return float(np.sum(self.perim**2 / (4 * math.pi * np.maximum(self.area, 1e-9))))

    def run(self, *, aim: float, max_iter: int) -> int:
        moves = 0
        for _ in range(10):
            before = moves
            moves += self._descend("balance", aim, max_iter - moves)
            bound = max(aim, self.max_deviation())
            moves += self._descend("compact", bound, max_iter - moves)
            if moves == before or moves >= max_iter:
                break
        return moves

    def _candidates(self) -> tuple[np.ndarray, ...]:
        lab = self.lab
        cross = (lab[self.src] != lab[self.dst]) & self.movable[self.src]
        u = self.src[cross]
        b = lab[self.dst[cross]]
        key = np.unique(u * self.k + b)
        u, b = key // self.k, key % self.k
        a = lab[u]
        # Shared boundary of each unit with each zone, for the perimeter update.
        s = np.bincount(self.src * self.k + lab[self.dst], weights=self.w,
                        minlength=len(lab) * self.k).reshape(len(lab), self.k)
        return u, a, b, s

    def _descend(self, mode: str, bound: float, budget: int) -> int:
        moves = 0
        g = self.g
        while moves < budget:
            if mode == "balance" and self.max_deviation() <= bound:
                break
            u, a, b, s = self._candidates()
            if len(u) == 0:
                break
            x = self.unit_load[u]
            ta, tb = self.targets[a], self.targets[b]
            da, db = (self.load[a] - ta) / ta, (self.load[b] - tb) / tb
            da2, db2 = da - x / ta, db + x / tb
            pa2 = self.perim[a] - g.perimeter[u] + 2 * s[u, a]
            pb2 = self.perim[b] + g.perimeter[u] - 2 * s[u, b]
            aa2, ab2 = self.area[a] - g.area[u], self.area[b] + g.area[u]
            old_c = (self.perim[a] ** 2 / self.area[a] + self.perim[b] ** 2 / self.area[b])
            with np.errstate(divide="ignore", invalid="ignore"):
                new_c = np.where(aa2 > 0, pa2**2 / np.maximum(aa2, 1e-9), np.inf) + pb2**2 / ab2
            d_comp = (new_c - old_c) / (4 * math.pi)
            if mode == "balance":
                gain = (da**2 + db**2) - (da2**2 + db2**2)
                ok = gain > 1e-12
                order = np.lexsort((d_comp, -gain))
            else:
                gain = -d_comp
                ok = (gain > 1e-9) & (np.abs(da2) <= bound) & (np.abs(db2) <= bound)
                order = np.argsort(-gain, kind="stable")
            order = order[ok[order]]
            if len(order) == 0:
                break
            moved = False
            for i in order[:200].tolist():
                if self._can_leave(int(u[i]), int(a[i])):
                    self._move(int(u[i]), int(a[i]), int(b[i]), pa2[i], pb2[i])
                    moved = True
                    break
            if not moved:
                break
            moves += 1
        return moves

    def _can_leave(self, u: int, a: int) -> bool:
        zone = self.members[a]
        if len(zone) <= 1:
            return False
        inside = [v for v in self.g.neighbours[u] if v in zone]
        if len(inside) <= 1:
            return True
        want = set(inside[1:])
        seen = {u, inside[0]}
        queue = deque([inside[0]])
        while queue:
            for v in self.g.neighbours[queue.popleft()]:
                if v in zone and v not in seen:
                    seen.add(v)
                    want.discard(v)
                    if not want:
                        return True
                    queue.append(v)
        return False

    def _move(self, u: int, a: int, b: int, pa: float, pb: float) -> None:
        self.lab[u] = b
        self.members[a].discard(u)
        self.members[b].add(u)
        x = self.unit_load[u]
        self.load[a] -= x
        self.load[b] += x
        self.area[a] -= self.g.area[u]
        self.area[b] += self.g.area[u]
        self.perim[a] = pa
        self.perim[b] = pb
