"""The attacks the red-team test and ``bench/attacker.py`` run: today's outputs and the
protected table set, over one or two releases."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from tests.redteam.attacker import AttackReport, Cell, attack
from tests.redteam.identities import Structure, build_identities, lattice_periods
from tests.redteam.legacy import OUTPUTS, legacy_bounds, published_cells
from tests.redteam.published import (
    FLAG_MEASURES,
    Export,
    protected_bounds,
    read_export,
    read_flags,
)
from tests.redteam.releases import Release, merge_truth

#: Today's outputs without the Change map (which alone gives away every quarter's count).
WITHOUT_CHANGE = tuple(o for o in OUTPUTS if o != "change")


def legacy_cells(releases: Sequence[Release], outputs: Iterable[str] = OUTPUTS) -> list[Cell]:
    """What today's main publishes for each release."""
    cells: list[Cell] = []
    for r in releases:
        cells += published_cells(r.tables, authority=r.authority, period=r.period,
                                 release=r.name, threshold=r.threshold, zones=r.zones,
                                 outputs=outputs)
    return cells


def merged_structure(structures: Sequence[Structure]) -> Structure:
    """One geography for several releases, with every release's zone plan."""
    first = structures[0]
    for s in structures[1:]:
        if (s.authority, dict(s.lsoa_ward)) != (first.authority, dict(first.lsoa_ward)):
            raise ValueError("releases with different geographies")
    plans = {p: plan for s in structures for p, plan in s.zone_plans.items()}
    deciles = {a: d for s in structures for a, d in s.lsoa_decile.items()}
    return Structure(first.authority, first.lsoa_ward, plans, deciles)


def attack_legacy(releases: Sequence[Release], *, outputs: Iterable[str] = OUTPUTS,
                  **options) -> AttackReport:
    """Attack what today's main publishes for ``releases``, scored against their truth."""
    cells = legacy_cells(releases, outputs)
    structure = merged_structure([r.structure() for r in releases])
    identities = build_identities(structure, lattice_periods(c.key for c in cells))
    truth, clash = merge_truth(*(r.truth() for r in releases))
    if clash:
        raise AssertionError(f"releases disagree on {len(clash)} shared cells, e.g. {clash[:3]}")
    threshold = releases[0].threshold
    return attack(cells, identities, partial(legacy_bounds, threshold=threshold), truth=truth,
                  **options)


def tables_available() -> bool:
    """Whether this needmap has the ``tables`` command and ``true_value_range``."""
    from needmap import disclosure
    from needmap.cli import build_parser

    sub = next((a for a in build_parser()._actions
                if isinstance(a, argparse._SubParsersAction)), None)
    return bool(sub and "tables" in sub.choices and hasattr(disclosure, "true_value_range"))


def export_tables(release: Release, out: Path) -> Export:
    """``needmap tables --config C --out DIR`` for a release, read back."""
    from needmap.cli import main

    code = main(["tables", "--config", str(release.config), "--out", str(out)])
    if code != 0:
        raise AssertionError(f"needmap tables exited {code} for {release.dataset} {release.name}")
    return read_export(out, release=release.name)


def export_flags(release: Release, export: Export, out: Path) -> list[Cell]:
    """``needmap flags`` for both measures and levels of a release, read as cells."""
    from needmap.cli import main

    period = export.configured
    cells: list[Cell] = []
    for level in ("lsoa", "ward"):
        for measure in FLAG_MEASURES:
            path = out / f"flags-{level}-{measure}.csv"
            code = main(["flags", "--config", str(release.config), "--level", level,
                         "--measure", measure, "--out", str(path)])
            if code != 0:
                raise AssertionError(f"needmap flags exited {code}")
            cells += read_flags(path, measure=measure, period=period, release=release.name)
    return cells


def attack_protected(exports: Sequence[Export], releases: Sequence[Release], *,
                     extra: Sequence[Cell] = (), **options) -> AttackReport:
    """Attack the protected table sets of ``releases`` (and ``extra`` cells published
    elsewhere, e.g. flags), scored against their truth."""
    cells = [c for e in exports for c in e.cells] + list(extra)
    # The LSOAs' IDACI deciles are public (the Indices of Deprivation), not in the export.
    structure = replace(merged_structure([e.structure for e in exports]),
                        lsoa_decile=releases[0].structure().lsoa_decile)
    identities = build_identities(structure, lattice_periods(c.key for c in cells))
    spans = sorted({s for e in exports for s in e.periods.values() if "-" in s})
    truth, clash = merge_truth(*(r.truth(spans) for r in releases))
    if clash:
        raise AssertionError(f"releases disagree on {len(clash)} shared cells, e.g. {clash[:3]}")
    thresholds = {e.threshold for e in exports}
    if len(thresholds) != 1:
        raise AssertionError(f"releases published with different thresholds {thresholds}")
    return attack(cells, identities, protected_bounds(thresholds.pop()),
                  hidden=lambda v: v == "c", truth=truth, **options)
