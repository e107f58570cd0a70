"""Two successive releases of the demo and of a sparse export, built in a temporary folder.

A release is what an analyst publishes after a refresh: the export holds every record up to the
release's end (2025-06-30, then 2025-09-30), and the configured period keeps the demo config's
start (2022-10-01) while its end moves to the release's end, as ``needmap refresh --end`` does.
So the first release covers 2022Q4-2025Q2 and the second 2022Q4-2025Q3, and the two periods
differ by exactly one quarter: the strongest differencing a second release offers. Both
releases use one disclosure key, as an authority's successive refreshes of one output folder do
(with a key each, every quarter would be published twice with independent noise). The key is
fixed (``RED_TEAM_KEY``) so that every run attacks the same published figures.

The sparse export is a seeded 5% sample of the rows of ``data/synthetic/*.csv`` (the SYNTHETIC
banner kept): what a small authority or a rare measure looks like, most counts 0 to 5.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from tests.conftest import ROOT, write_config
from tests.redteam.attacker import Key
from tests.redteam.identities import (
    ADDITIVE,
    COUNT_MEASURES,
    PUBLISHED_MEASURES,
    ZONE_MEASURES,
    Structure,
    quarter_index,
    quarters_of,
    span_label,
)
from tests.redteam.legacy import Tables

SYNTHETIC = ROOT / "data" / "synthetic"
RECORD_FILES = {
    "referrals": ("referrals_synthetic.csv", "cin_referral_date", "%d/%m/%Y"),
    "engagement": ("engagement_synthetic.csv", "engagement_start_date", "%Y-%m-%d"),
}
RELEASE_ENDS = (dt.date(2025, 6, 30), dt.date(2025, 9, 30))
SPARSE_FRACTION = 0.05
SPARSE_SEED = 2025
#: The releases' disclosure key (16 letters or digits, as ``needmap refresh`` makes them). The
#: attacker never reads it; fixing it makes the published noise, and so the attack, repeatable.
RED_TEAM_KEY = "RedTeamKey2026ab"
#: The published caseload plan: `needmap zones --staff 6 --workload caseload --seed 0`.
ZONE_STAFF = 6


def read_export(path: Path) -> tuple[str, pd.DataFrame]:
    """The banner line and the rows (all text, exactly as written)."""
    with path.open(encoding="utf-8") as fh:
        banner = fh.readline()
    rows = pd.read_csv(path, skiprows=1, dtype=str, keep_default_na=False)
    return banner, rows


def write_export(path: Path, banner: str, rows: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(banner)
        rows.to_csv(fh, index=False)
    return path


def sparse_exports(folder: Path, *, fraction: float = SPARSE_FRACTION,
                   seed: int = SPARSE_SEED) -> Path:
    """A seeded sample of each synthetic export, banner kept, rows in their order."""
    for i, (name, _, _) in enumerate(RECORD_FILES.values()):
        banner, rows = read_export(SYNTHETIC / name)
        assert banner.startswith("# SYNTHETIC"), banner
        sample = rows.sample(frac=fraction, random_state=seed + i).sort_index()
        write_export(folder / name, banner, sample)
    return folder


def export_until(source: Path, folder: Path, end: dt.date) -> Path:
    """The exports as they stood on ``end``: rows dated after it are not there yet."""
    for name, column, fmt in RECORD_FILES.values():
        banner, rows = read_export(source / name)
        dates = pd.to_datetime(rows[column], format=fmt, errors="coerce")
        write_export(folder / name, banner, rows[~(dates > pd.Timestamp(end))])
    return folder


def period_label(start: str | dt.date, end: str | dt.date) -> str:
    """``2022Q4-2025Q2`` for a period of whole quarters."""
    s, e = (pd.Timestamp(str(d)) for d in (start, end))
    return span_label(s.year * 4 + (s.month - 1) // 3, e.year * 4 + (e.month - 1) // 3)


@dataclass
class Release:
    """One refresh as published: its config, snapshot and caseload zone plan."""

    name: str
    dataset: str
    config: Path
    snapshot: object
    zones: dict[str, str] = field(default_factory=dict)

    @property
    def period(self) -> str:
        m = self.snapshot.manifest
        return period_label(m["period_start"], m["period_end"])

    @property
    def authority(self) -> str:
        return str(self.snapshot.manifest["authority_code"])

    @cached_property
    def tables(self) -> Tables:
        return Tables.of(self.snapshot)

    @property
    def threshold(self) -> int:
        m = self.snapshot.manifest
        return int(m["disclosure"]["threshold"] if "disclosure" in m
                   else m["disclosure_threshold"])

    @cached_property
    def _structure(self) -> Structure:
        lsoa = self.tables.lsoa
        return Structure(self.authority, dict(zip(lsoa["lsoa_code"].astype(str),
                                                  lsoa["ward_code"].astype(str), strict=True)),
                         {self.period: self.zones} if self.zones else {},
                         public_deciles(self.snapshot))

    def structure(self) -> Structure:
        """The public geography of the release, with its caseload zone plan and the LSOAs'
        IDACI deciles."""
        return self._structure

    @cached_property
    def _truth(self) -> dict[Key, int]:
        out = truth_of(self.tables, self.structure(), self.period)
        for k, v in raw_truth(self.snapshot).items():
            out.setdefault(k, v)
        return out

    def truth(self, spans: Iterable[str] = ()) -> dict[Key, int]:
        """True values of every cell the snapshot holds, plus the derived unknowns (a copy).

        The snapshot's own periods (quarters, financial years, the configured period) come
        from its true counts, follow-up and decile cells included (:func:`raw_truth`).
        ``spans`` adds the counts of other periods (e.g. the calendar years the test checks,
        or another release's configured period), each from a refresh of the same records over
        that period, for keys not already known. Spans ending after the release's period are
        left out.
        """
        out = dict(self._truth)
        last = quarters_of(self.period)[-1]
        for span in spans:
            if quarters_of(span)[-1] > last:  # not in this release's records yet
                continue
            if span not in self._spans:
                self._spans[span] = self._span_truth(span)
            out.update({k: v for k, v in self._spans[span].items() if k not in out})
        return out

    @cached_property
    def _spans(self) -> dict[str, dict[Key, int]]:
        return {}

    def _span_truth(self, span: str) -> dict[Key, int]:
        from needmap.config import load_config
        from needmap.refresh import refresh
        from needmap.snapshot import load_snapshot

        qs = quarters_of(span)
        start = pd.Period(span_label(qs[0], qs[0]), freq="Q").start_time.date()
        end = pd.Period(span_label(qs[-1], qs[-1]), freq="Q").end_time.date()
        where = self.config.parent / f"span-{span}"
        where.mkdir(exist_ok=True)
        text = self.config.read_text().replace(
            f'folder = "{self.config.parent / "output"}"', f'folder = "{where / "output"}"')
        path = where / "needmap.toml"
        path.write_text(text)
        snap = load_snapshot(refresh(load_config(path), start=start, end=end,
                                     force=True).snapshot_path)
        tables = Tables.of(snap)
        out: dict[Key, int] = {}
        for level in ("lsoa", "ward"):
            frame = getattr(tables, level)
            for row in frame.itertuples(index=False):
                for m in COUNT_MEASURES:
                    out[(level, str(getattr(row, f"{level}_code")), span, m)] = int(
                        getattr(row, m))
        for m in COUNT_MEASURES:
            out[("authority", self.authority, span, m)] = int(tables.authority.iloc[0][m])
        for a in self.structure().lsoa_ward:
            out[("lsoa", a, span, "workload")] = (out[("lsoa", a, span, "referrals")]
                                                  + out[("lsoa", a, span, "families_engaged")])
        for k, v in raw_truth(snap, periods=[snap.configured_period]).items():
            out.setdefault(k, v)  # the deciles of the span (it has no follow-up cells)
        return out


def build_releases(folder: Path, *, dataset: str = "demo",
                   ends: tuple[dt.date, ...] = RELEASE_ENDS) -> list[Release]:
    """Refresh each release of ``dataset`` ("demo" or "sparse") in its own folder."""
    from needmap.config import load_config
    from needmap.disclosure import KEY_FILE
    from needmap.refresh import refresh
    from needmap.snapshot import load_snapshot
    from needmap.workload import plan_zones

    if dataset == "demo":
        source = SYNTHETIC
    elif dataset == "sparse":
        source = sparse_exports(folder / "sparse-export")
    else:
        raise ValueError(f"dataset must be 'demo' or 'sparse', got {dataset!r}")
    out = []
    for i, end in enumerate(ends, start=1):
        where = folder / f"{dataset}-r{i}"
        records = export_until(source, where / "records", end)
        path = write_config(where)
        text = path.read_text()
        for name, *_ in RECORD_FILES.values():
            old = f'"{SYNTHETIC / name}"'
            assert old in text, old
            text = text.replace(old, f'"{records / name}"')
        assert 'end = "2025-09-30"' in text
        text = text.replace('end = "2025-09-30"', f'end = "{end.isoformat()}"')
        path.write_text(text)
        config = load_config(path)
        config.secrets_folder.mkdir(parents=True, exist_ok=True)
        if out:  # one authority, one disclosure key: later releases use the first's
            first = load_config(out[0].config).secrets_folder / KEY_FILE
            shutil.copy2(first, config.secrets_folder / KEY_FILE)
        else:  # a fixed key, so that the attack and its figures repeat run after run
            (config.secrets_folder / KEY_FILE).write_text(RED_TEAM_KEY + "\n")
            (config.secrets_folder / KEY_FILE).chmod(0o600)
        snapshot = load_snapshot(refresh(config).snapshot_path)
        plan = plan_zones(snapshot, level="lsoa", measure="caseload", n_zones=ZONE_STAFF,
                          random_state=0)
        zones = dict(zip(plan.labels["area_code"].astype(str),
                         plan.labels["zone"].astype(str), strict=True))
        out.append(Release(f"r{i}", dataset, path, snapshot, zones))
    return out


def public_deciles(snapshot) -> dict[str, str]:
    """LSOA -> national IDACI decile ("1" to "10"): the public deprivation file's column, as the
    snapshot's area attributes (public data only) carry it."""
    lsoa = snapshot.lsoa
    decile = pd.to_numeric(lsoa["idaci_decile"], errors="coerce")
    return {str(a): str(int(d)) for a, d in zip(lsoa["lsoa_code"], decile, strict=True)
            if pd.notna(d)}


def raw_truth(snapshot, *, periods: Iterable[str] | None = None) -> dict[Key, int]:
    """True counts of every published measure at every period the snapshot holds (or of
    ``periods``), keyed as the attacker keys them: follow-up and decile cells, and counts of
    financial years, which the shapes of :class:`Tables` do not hold."""
    raw = snapshot.raw_cells()
    raw = raw[raw["measure"].astype(str).isin(PUBLISHED_MEASURES)]
    span = {str(p.period): period_label(p.start, p.end)
            for p in snapshot.periods.itertuples(index=False)}
    if periods is not None:
        raw = raw[raw["period"].astype(str).isin(set(periods))]
    return {(str(lv), str(a), span[str(p)], str(m)): int(n) for lv, a, p, m, n in zip(
        raw["level"], raw["area_code"], raw["period"], raw["measure"], raw["count"],
        strict=True)}


def truth_of(tables: Tables, structure: Structure, period: str) -> dict[Key, int]:
    """Every true value a release's raw aggregates give, keyed as the attacker keys them.

    Quarters at every level, the configured period, wards' unlocated rests (ward minus its
    LSOAs), LSOA caseloads, zone sums, and for additive counts every span of whole quarters
    the table set covers (sums of quarters).
    """
    out: dict[Key, int] = {}
    frames = {"lsoa": tables.lsoa, "ward": tables.ward}
    for level, frame in frames.items():
        for row in frame.itertuples(index=False):
            area = str(getattr(row, f"{level}_code"))
            for m in COUNT_MEASURES:
                out[(level, area, period, m)] = int(getattr(row, m))
    auth = tables.authority.iloc[0]
    for m in COUNT_MEASURES:
        out[("authority", structure.authority, period, m)] = int(auth[m])
    for level in ("lsoa", "ward", "authority"):
        q = getattr(tables, f"{level}_quarterly")
        codes = (q[f"{level}_code"].astype(str) if level != "authority"
                 else pd.Series(structure.authority, index=q.index))
        quarters = q["quarter"].astype(str)
        for m in COUNT_MEASURES:
            for area, quarter, v in zip(codes, quarters, q[m], strict=True):
                out[(level, area, quarter, m)] = int(v)
    all_q = sorted({quarter_index(k[2]) for k in out if "-" not in k[2]})
    areas = sorted({k[:2] for k in out if k[2] != period})
    for first in all_q:  # every span of whole quarters, for additive counts
        for last in all_q:
            if last > first:
                _add_span(out, areas, span_label(first, last))
    lsoas = structure.lsoas_of()
    periods = {k[2] for k in out}
    for p in periods:
        for m in ADDITIVE:
            for w, members in lsoas.items():
                if ("ward", w, p, m) in out:
                    out[("rest", w, p, m)] = out[("ward", w, p, m)] - sum(
                        out[("lsoa", a, p, m)] for a in members)
        for a in structure.lsoa_ward:
            if ("lsoa", a, p, "families_engaged") in out:
                out[("lsoa", a, p, "workload")] = (out[("lsoa", a, p, "referrals")]
                                                   + out[("lsoa", a, p, "families_engaged")])
    for p, plan in structure.zone_plans.items():
        for m in ZONE_MEASURES:
            for a, z in plan.items():
                k = ("zone", z, p, m)
                out[k] = out.get(k, 0) + out[("lsoa", a, p, m)]
    return out


def _add_span(out: dict[Key, int], areas: list[tuple[str, str]], span: str) -> None:
    quarters = [span_label(q, q) for q in quarters_of(span)]
    for level, area in areas:
        for m in ADDITIVE:
            if (level, area, span, m) not in out:
                out[(level, area, span, m)] = sum(out[(level, area, q, m)] for q in quarters)


def merge_truth(*truths: dict[Key, int]) -> tuple[dict[Key, int], list[Key]]:
    """One truth for several releases, and the keys on which they disagree."""
    merged: dict[Key, int] = {}
    clash = []
    for t in truths:
        for k, v in t.items():
            if k in merged and merged[k] != v:
                clash.append(k)
            merged.setdefault(k, v)
    return merged, clash
