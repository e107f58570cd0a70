"""The red-team attacker: checked by hand on tiny tables, then set on today's outputs (which it
must break) and on the protected table set (which it must not).

The slow tests build the demo and a sparse export (a 5% sample of the demo records), each over
two releases (2025-06-30, then 2025-09-30), and attack everything published.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from functools import partial

import numpy as np
import pandas as pd
import pytest

from needmap.config import load_config
from tests.redteam.attacker import Cell, Identity, InconsistentPublication, attack
from tests.redteam.identities import (
    COUNT_MEASURES,
    OUTCOME_MEASURES,
    Structure,
    atoms,
    build_identities,
    outcome_identities,
    quarters_of,
    span_label,
)
from tests.redteam.legacy import OUTPUTS, legacy_bounds, share_interval
from tests.redteam.published import ExportFormatError, read_export
from tests.redteam.releases import build_releases, merge_truth, period_label
from tests.redteam.scenarios import (
    WITHOUT_CHANGE,
    attack_legacy,
    attack_protected,
    export_flags,
    export_tables,
    legacy_cells,
    merged_structure,
    tables_available,
)

BOUNDS5 = partial(legacy_bounds, threshold=5)
FOLLOWUP_PARTS = ("stepped up", "re-referred, not stepped up", "not re-referred")
#: Every kind of identity of the follow-up and decile cells (``outcome_identities``).
OUTCOME_IDENTITY_NAMES = {
    *(f"follow-up: {p} >= 0" for p in FOLLOWUP_PARTS[1:]),
    *(f"follow-up: a service's {p} <= all services'" for p in FOLLOWUP_PARTS),
    *(f"follow-up: {p}, {what}" for p in FOLLOWUP_PARTS
      for what in ("authority <= sum of wards", "ward <= authority", "LSOA <= ward",
                   "first part <= period", "authority period <= sum of its parts")),
    "follow-up: re-referred families <= referrals in the follow-up",
    "follow-up: stepped-up families <= referrals not NFA in the follow-up",
    "deciles: sum of deciles = total", "deciles: a service's decile <= all services'",
    "deciles: decile <= its LSOAs' families engaged", "deciles: first part <= period",
    "deciles: period <= sum of its parts",
}


# -- the attacker on tables worked by hand -----------------------------------------------------


def test_a_hidden_cell_beside_its_total_is_pinned():
    # a (hidden) + 10 = 13: a = 3.
    cells = [Cell("a", "c"), Cell("b", 10), Cell("t", 13)]
    report = attack(cells, [Identity.total("t", ["a", "b"])], BOUNDS5, truth={"a": 3})
    assert report.ranges == {"a": (3, 3)}
    assert report.pinned == ["a"] and report.pinned_wrongly == [] and report.violations == []


def test_two_by_two_table_with_every_cell_hidden_worked_by_hand():
    # a b | 3      truth a=1 b=2, c=3 d=4; each hidden cell is 1..5.
    # c d | 7      a + b = 3 -> a, b in [1, 2]; then c = 4 - a, d = 6 - b:
    # 4 6          a = 1 (b 2, c 3, d 4) and a = 2 (b 1, c 2, d 5) both fit, nothing else.
    cells = [Cell(k, "c") for k in "abcd"] + [
        Cell("r1", 3), Cell("r2", 7), Cell("c1", 4), Cell("c2", 6)]
    identities = [Identity.total("r1", "ab"), Identity.total("r2", "cd"),
                  Identity.total("c1", "ac"), Identity.total("c2", "bd")]
    truth = {"a": 1, "b": 2, "c": 3, "d": 4}
    report = attack(cells, identities, BOUNDS5, truth=truth)
    assert report.ranges == {"a": (1, 2), "b": (1, 2), "c": (2, 3), "d": (4, 5)}
    assert report.pinned == [] and len(report.narrowed) == 4 and report.violations == []
    assert report.mean_width == 1.0


def test_an_unpublished_rest_is_allowed_for():
    # ward 20 = lsoa1 (hidden) + lsoa2 (17) + rest (unpublished, >= 0): lsoa1 in [1, 3].
    cells = [Cell("ward", 20), Cell("lsoa1", "c"), Cell("lsoa2", 17)]
    report = attack(cells, [Identity.total("ward", ["lsoa1", "lsoa2", "rest"])], BOUNDS5)
    assert report.ranges == {"lsoa1": (1, 3)}
    # Without the rest the cell would be pinned to 3: the rest is what keeps it open.
    closed = attack(cells, [Identity.total("ward", ["lsoa1", "lsoa2"])], BOUNDS5)
    assert closed.ranges == {"lsoa1": (3, 3)}


def test_integrality_pins_what_the_lp_cannot():
    # x + y = 1, y + z = 1, x + z + w = 1, v = x + z. The LP allows y = 1/2, so v in [0, 1];
    # in integers y = 1 and v = 0. Only the MIP step can see it.
    cells = [Cell("v", (0, 5))] + [Cell(k, (0, 1)) for k in "xyzw"]
    identities = [
        Identity((("x", 1), ("y", 1)), 1, 1), Identity((("y", 1), ("z", 1)), 1, 1),
        Identity((("x", 1), ("z", 1), ("w", 1)), 1, 1), Identity.total("v", "xz"),
    ]
    hidden = partial(tuple.__eq__, (0, 5))
    report = attack(cells, identities, BOUNDS5, hidden=hidden)
    assert report.ranges == {"v": (0, 0)}
    assert report.stats["mip"] > 0
    lp_only = attack(cells, identities, BOUNDS5, hidden=hidden, mip_width=0)
    assert lp_only.ranges == {"v": (0, 1)}


def test_a_publication_no_truth_fits_is_refused():
    cells = [Cell("a", "c"), Cell("b", 10), Cell("t", 30)]  # a would be 20, not 1..5
    with pytest.raises(InconsistentPublication):
        attack(cells, [Identity.total("t", ["a", "b"])], BOUNDS5)


def test_inequalities_of_distinct_counts():
    # A year of 7 families, quarters hidden: each quarter <= the year, the year <= their sum.
    quarters = [f"q{i}" for i in range(4)]
    cells = [Cell("year", 7)] + [Cell(q, "c") for q in quarters]
    identities = [Identity.at_most(q, "year") for q in quarters]
    identities.append(Identity.at_most_sum("year", quarters))
    report = attack(cells, identities, BOUNDS5)
    assert all(r == (1, 5) for r in report.ranges.values())
    # With three quarters shown as 1 the fourth is at least 4.
    cells = [Cell("year", 7), Cell("q0", "c"), Cell("q1", 1), Cell("q2", 1), Cell("q3", 1)]
    assert attack(cells, identities, BOUNDS5).ranges == {"q0": (4, 5)}


# -- identities, periods, legacy helpers ---------------------------------------------------------


def test_periods_and_atoms():
    assert list(quarters_of("2025Q3")) == [2025 * 4 + 2]
    assert len(quarters_of("2022Q4-2025Q2")) == 11
    assert span_label(2025 * 4, 2025 * 4 + 3) == "2025Q1-2025Q4"
    assert atoms({"2022Q4-2025Q2", "2022Q4-2025Q3"}) == {"2022Q4-2025Q2", "2025Q3"}
    # Non-contiguous runs with the same cover are separate atoms.
    assert atoms({"2024Q1-2024Q4", "2024Q2-2024Q3"}) == {"2024Q1", "2024Q2-2024Q3", "2024Q4"}


def test_identities_of_a_tiny_geography():
    s = Structure("A", {"L1": "W1", "L2": "W1", "L3": "W2"})
    ids = build_identities(s, {"referrals": {"2025Q1", "2025Q2", "2025Q1-2025Q2"},
                               "families_engaged": {"2025Q1", "2025Q2", "2025Q1-2025Q2"}})
    names = {i.name for i in ids}
    assert {"authority = sum of wards", "ward = sum of LSOAs + rest",
            "span = sum of its quarters", "LSOA <= ward", "span >= a part",
            "span <= sum of its parts", "authority <= sum of wards"} <= names
    # Sources are not kept, so referrals = sum of sources is not asked.
    assert "referrals = sum of sources" not in names
    ward = [i for i in ids if i.name == "ward = sum of LSOAs + rest"
            and i.terms[0][0] == ("ward", "W1", "2025Q1", "referrals")]
    assert ward and ward[0].keys()[1:] == [("lsoa", "L1", "2025Q1", "referrals"),
                                           ("lsoa", "L2", "2025Q1", "referrals"),
                                           ("rest", "W1", "2025Q1", "referrals")]


def test_outcome_identities_of_a_tiny_geography():
    s = Structure("A", {"L1": "W1", "L2": "W1", "L3": "W2"},
                  lsoa_decile={"L1": "1", "L2": "1", "L3": "4"})
    year, quarters = "2024Q2-2025Q1", ["2024Q2", "2024Q3", "2024Q4", "2025Q1"]
    cohorts = {year, *quarters}
    periods = {m: cohorts for m in OUTCOME_MEASURES}
    periods |= {m: cohorts for m in ("families_engaged", "families_early_help",
                                     "families_childrens_centre")}
    periods |= {m: {span_label(q, q) for q in quarters_of("2024Q2-2026Q1")}
                for m in ("referrals", "referrals_nfa")}
    ids = build_identities(s, periods)
    assert {i.name for i in outcome_identities(s, periods)} == OUTCOME_IDENTITY_NAMES
    outcome = set(OUTCOME_MEASURES)
    # No period is said to hold each of its parts: only its first part.
    assert not [i for i in ids if i.name.startswith("span")
                and {k[3] for k in i.keys()} & outcome]
    firsts = {(i.keys()[0][2], i.keys()[-1][2]) for i in ids
              if i.name == "deciles: first part <= period"}
    assert firsts == {("2024Q2", year)}
    # Deciles: the total, a decile's LSOAs (none in decile 2: it is 0).
    d1 = [i for i in ids if i.name == "deciles: decile <= its LSOAs' families engaged"
          and i.keys()[0] == ("authority", "A", year, "families_engaged_idaci_1")]
    assert [k[1] for k in d1[0].keys()[1:]] == ["L1", "L2"]
    d2 = [i for i in ids if i.name == "deciles: decile <= its LSOAs' families engaged"
          and i.keys()[0] == ("authority", "A", year, "families_engaged_idaci_2")]
    assert len(d2[0].terms) == 1 and d2[0].hi == 0
    assert not [i for i in ids if i.name == "deciles: period <= sum of its parts"
                and "families_engaged" not in i.keys()[0][3]]
    # Follow-up: a year's referrals run to 365 days after 2025-03-31, i.e. into 2026Q1.
    window = [i for i in ids if i.name.startswith("follow-up: re-referred families")
              and i.keys()[0][2] == year]
    assert [k[2] for k in window[0].keys()[1:]] == [span_label(q, q)
                                                    for q in quarters_of("2024Q2-2026Q1")]
    tilings = [i for i in ids if i.name.endswith("authority period <= sum of its parts")]
    assert tilings and all(k[0] == "authority" and not k[3].endswith(("early_help", "centre"))
                           for i in tilings for k in i.keys())
    # A part of a cohort on its own: not re-referred = cohort - re-referred.
    part = [i for i in ids if i.name == "follow-up: not re-referred >= 0"
            and i.keys()[0][:3] == ("lsoa", "L1", "2024Q3")]
    assert sorted(part[0].terms) == [(("lsoa", "L1", "2024Q3", "families_engaged"), -1),
                                     (("lsoa", "L1", "2024Q3", "rereferred_12m"), 1)]


def test_outcome_identities_hold_where_a_family_moves():
    # One family, first engaged in L1 (IDACI decile 3, early help) in 2024Q1, then in L2
    # (decile 1, a children's centre) in 2024Q2; one referral on 2025-03-01: within 12 months of
    # its 2024Q2 anchor, not of its first-half-year anchor. The identities written hold; those a
    # period's other parts would give (each part <= the period, an area's or a service's period
    # <= the sum of its parts) do not.
    from needmap.indicators import count_cells, outcome_cells

    day = pd.to_datetime
    eng = pd.DataFrame({"family_id": [0, 0], "engagement_date": day(["2024-01-10", "2024-05-10"]),
                        "lsoa_code": ["L1", "L2"], "ward_code": ["W1", "W1"],
                        "service": ["early_help", "childrens_centre"],
                        "priority_family": [False, False]})
    ref = pd.DataFrame({"person_id": [0], "referral_date": day(["2025-03-01"]),
                        "lsoa_code": ["L2"], "ward_code": ["W1"], "referral_source": ["school"],
                        "outcome": ["social_care"], "rereferral": [False]})
    periods = pd.DataFrame({"period": ["2024Q1", "2024Q2", "H1"],
                            "kind": ["quarter", "quarter", "year"],
                            "start": day(["2024-01-01", "2024-04-01", "2024-01-01"]).date,
                            "end": day(["2024-03-31", "2024-06-30", "2024-06-30"]).date})
    areas = {"lsoa": pd.Index(["L1", "L2"]), "ward": pd.Index(["W1"]),
             "authority": pd.Index(["A"])}
    cells = pd.concat([count_cells(ref, eng, periods, areas), outcome_cells(
        ref, eng, periods, areas, lsoa_decile=pd.Series([3.0, 1.0], index=["L1", "L2"]),
        ref_family=np.array([0]), end=dt.date(2025, 6, 30))])
    span = {"2024Q1": "2024Q1", "2024Q2": "2024Q2", "H1": "2024Q1-2024Q2"}
    truth = {(str(lv), str(a), span[str(p)], str(m)): int(n) for lv, a, p, m, n in zip(
        cells["level"], cells["area_code"], cells["period"], cells["measure"], cells["count"],
        strict=True)}
    kept = defaultdict(set)
    for k in truth:
        kept[k[3]].add(k[2])
    s = Structure("A", {"L1": "W1", "L2": "W1"}, lsoa_decile={"L1": "3", "L2": "1"})
    checked = [i.holds(truth) for i in build_identities(s, kept)]
    assert False not in checked  # None: a ward's unlocated rest, not computed here
    outcome = outcome_identities(s, kept)
    assert [i.holds(truth) for i in outcome] == [True] * len(outcome)
    assert {i.name for i in outcome} == OUTCOME_IDENTITY_NAMES - {
        n for n in OUTCOME_IDENTITY_NAMES if "referrals" in n}  # no referral quarters kept

    def t(level, area, period, measure):
        return truth[(level, area, period, measure)]

    # A later part exceeds its period: deciles and follow-up.
    assert t("authority", "A", "2024Q2", "families_engaged_idaci_1") == 1
    assert t("authority", "A", "2024Q1-2024Q2", "families_engaged_idaci_1") == 0
    assert t("authority", "A", "2024Q2", "rereferred_12m") == 1
    assert t("authority", "A", "2024Q1-2024Q2", "rereferred_12m") == 0
    # A service's period exceeds the sum of its parts (the anchor is not the service's).
    cc3 = [t("authority", "A", p, "families_childrens_centre_idaci_3")
           for p in ("2024Q1-2024Q2", "2024Q1", "2024Q2")]
    assert cc3 == [1, 0, 0]
    # So does an LSOA's part (its engagement there is not in the anchor's quarter).
    not_rereferred = [t("lsoa", "L2", p, "families_engaged") - t("lsoa", "L2", p, "rereferred_12m")
                      for p in ("2024Q1-2024Q2", "2024Q1", "2024Q2")]
    assert not_rereferred == [1, 0, 0]


def test_share_interval_worked_by_hand():
    # 3 of 150 is 2%; 2 would print 1% and 4 would print 3%.
    assert share_interval(3, 150) == (3, 3)
    # 7 of 300 prints 2%: so do 5 (1.67%) and 6; 4 prints 1%, 8 prints 3%.
    assert share_interval(7, 300) == (5, 7)


# -- the reader of the protected export --------------------------------------------------------


def _tiny_export(folder, *, period_end="2025-06-30"):
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(
        {"threshold": 5, "method": "cell-key", "snapshot_id": "x"}))
    (folder / "periods.csv").write_text(
        "period,kind,start,end\n2025Q1,quarter,2025-01-01,2025-03-31\n"
        f"2025Q2,quarter,2025-04-01,{period_end}\nH1,configured,2025-01-01,2025-06-30\n")
    (folder / "areas.csv").write_text(
        "level,area_code,area_name,ward_code,children\nlsoa,L1,One,W1,100\nlsoa,L2,Two,W1,80\n"
        "ward,W1,Ward,,180\nauthority,A,Auth,,180\n")
    (folder / "tables.csv").write_text(
        "level,area_code,period,measure,value\nlsoa,L1,2025Q1,referrals,c\n"
        "lsoa,L2,2025Q1,referrals,12\nward,W1,H1,referrals,30\nauthority,A,H1,referral_rate,9\n")
    return folder


def test_reader_of_a_hand_made_export(tmp_path):
    export = read_export(_tiny_export(tmp_path / "out"), release="r1")
    assert export.threshold == 5
    assert export.periods == {"2025Q1": "2025Q1", "2025Q2": "2025Q2", "H1": "2025Q1-2025Q2"}
    assert export.structure.authority == "A"
    assert dict(export.structure.lsoa_ward) == {"L1": "W1", "L2": "W1"}
    assert [(c.key, c.value) for c in export.cells] == [
        (("lsoa", "L1", "2025Q1", "referrals"), "c"),
        (("lsoa", "L2", "2025Q1", "referrals"), 12),
        (("ward", "W1", "2025Q1-2025Q2", "referrals"), 30),
    ]
    assert export.ignored_measures == {"referral_rate"}
    assert export.configured == "2025Q1-2025Q2"
    assert {c.source for c in export.cells} == {"r1:tables"}


def test_reader_refuses_a_period_of_part_quarters(tmp_path):
    with pytest.raises(ExportFormatError, match="not the last day of a quarter"):
        read_export(_tiny_export(tmp_path / "out", period_end="2025-06-15"))


# -- today's outputs and the protected tables, demo and sparse, two releases ------------------


@pytest.fixture(scope="module", params=["demo", "sparse"])
def releases(request, tmp_path_factory):
    return build_releases(tmp_path_factory.mktemp(request.param), dataset=request.param)


@pytest.mark.slow
def test_releases_agree_on_every_shared_cell(releases):
    first, second = (r.truth() for r in releases)
    shared = set(first) & set(second)
    quarters = {k for k in shared if "-" not in k[2]}
    assert len(quarters) > 1000  # eleven complete quarters of every area and count
    _, clash = merge_truth(first, second)
    assert clash == []
    assert [r.period for r in releases] == ["2022Q4-2025Q2", "2022Q4-2025Q3"]


@pytest.mark.slow
def test_identities_hold_on_the_truth(releases):
    years = ["2023Q1-2023Q4", "2024Q1-2024Q4"]
    truth, clash = merge_truth(*(r.truth(years) for r in releases))
    assert clash == []
    structure = merged_structure([r.structure() for r in releases])
    # The LSOAs' deciles the attacker uses are the public deprivation file's.
    config = load_config(releases[0].config).deprivation
    iod = pd.read_csv(config.path, dtype=str).set_index(config.code_column)
    assert structure.lsoa_decile == {a: str(int(iod.at[a, config.idaci_decile_column]))
                                     for a in structure.lsoa_decile}
    assert len(structure.lsoa_decile) == len(structure.lsoa_ward)
    # Every measure kept at every quarter, financial year, both periods and two years: the full
    # lattice, where the truth has the measure (follow-up cells only for complete cohorts,
    # deciles only at the authority, a caseload only for the periods it is summed for).
    fin_years = {period_label(p.start, p.end) for r in releases
                 for p in r.snapshot.periods.itertuples() if p.kind == "year"}
    periods = {r.period for r in releases} | set(years) | fin_years | {
        span_label(q, q) for q in quarters_of("2022Q4-2025Q3")}
    kept = defaultdict(set)
    for k in truth:
        if k[2] in periods:
            kept[k[3]].add(k[2])
    assert all(kept[m] == periods for m in COUNT_MEASURES)
    assert set(OUTCOME_MEASURES) <= set(kept)
    identities = build_identities(structure, kept)
    checked = [i.holds(truth) for i in identities]
    wrong = [i for i, ok in zip(identities, checked, strict=True) if ok is False]
    assert wrong == [], (len(wrong), wrong[:3])
    assert None not in checked
    names = {i.name for i in identities}
    assert {"referrals = sum of sources", "referrals_nfa <= referrals", "rereferrals <= referrals",
            "priority_families_engaged <= families_engaged", "authority = sum of wards",
            "ward = sum of LSOAs + rest", "LSOA <= ward", "authority <= sum of wards",
            "span = sum of its quarters", "span >= a part", "span <= sum of its parts",
            "workload = referrals + families engaged", "zone = sum of its areas"} <= names
    outcome = {i.name for i in outcome_identities(structure, kept)}
    assert outcome == OUTCOME_IDENTITY_NAMES, outcome ^ OUTCOME_IDENTITY_NAMES


@pytest.mark.slow
def test_legacy_bounds_hold_every_true_value(releases):
    truth, _ = merge_truth(*(r.truth() for r in releases))
    cells = legacy_cells(releases)
    assert {c.source.split(":")[1].split("-")[0] for c in cells} == set(OUTPUTS)
    outside = [c for c in cells if not BOUNDS5(c.value)[0] <= truth[c.key] <= BOUNDS5(c.value)[1]]
    assert outside == []


@pytest.mark.slow
@pytest.mark.parametrize("outputs", [OUTPUTS, WITHOUT_CHANGE], ids=["all", "without-change"])
def test_attacker_pins_hidden_cells_of_todays_outputs(releases, outputs):
    report = attack_legacy(releases, outputs=outputs)
    assert report.violations == []
    assert report.pinned_wrongly == []
    assert len(report.pinned) >= 1, report.summary()


@pytest.mark.slow
def test_local_solving_agrees_with_solving_whole(releases):
    # The local solver (used on components too large to solve whole) on today's outputs, whose
    # components are small enough to solve whole too: what it proves must agree.
    whole = attack_legacy(releases, outputs=WITHOUT_CHANGE)
    local = attack_legacy(releases, outputs=WITHOUT_CHANGE, global_limit=0)
    assert local.violations == []
    assert set(local.pinned) <= set(whole.pinned) <= set(local.pinned) | local.undecided
    moved = {k for k, (lo, hi) in local.attained.items() if lo < hi}
    assert not moved & set(whole.pinned)
    assert len(local.undecided) <= 0.02 * local.hidden, local.summary()


@pytest.mark.slow
def test_attacker_pins_nothing_in_the_protected_tables(releases, tmp_path):
    if not tables_available():
        pytest.skip("needmap tables not available")
    exports = [export_tables(r, tmp_path / r.name) for r in releases]
    flags = [c for r, e in zip(releases, exports, strict=True)
             for c in export_flags(r, e, tmp_path / r.name)]
    spans = sorted({s for e in exports for s in e.periods.values() if "-" in s})
    truth, _ = merge_truth(*(r.truth(spans) for r in releases))
    # The published method's ranges must hold the truth, or the attack below proves nothing.
    from tests.redteam.published import protected_bounds

    bounds = protected_bounds(exports[0].threshold)
    outside = [c for c in [*(c for e in exports for c in e.cells), *flags]
               if c.key in truth and not bounds(c.value)[0] <= truth[c.key] <= bounds(c.value)[1]]
    assert outside == []
    report = attack_protected(exports, releases, extra=flags, time_budget=300)
    assert report.hidden > 0
    assert report.violations == []
    # A hidden cell pinned at 0 says nothing about anyone (the attacker may prove an empty cell
    # empty); every hidden count of 1 or more must keep at least two possible values.
    assert report.disclosed == [], (report.summary(), report.disclosed[:10])
    # Cells the solver could neither move nor prove pinned within its limits (local solving of
    # a 19,000-unknown component): 7 to 10 of 22,060 on the demo (the count moves with the
    # machine's load: MIPs have time limits), 0 on the sparse export. Reported by
    # bench/attacker.py; a rise means the protection or the attacker changed.
    assert len(report.undecided_held) <= 0.001 * report.hidden, (
        report.summary(), sorted(report.undecided_held)[:10])
