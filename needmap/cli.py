"""The ``needmap`` command: thin commands over the same functions the app calls.

A user mistake prints one ``Error: ...`` line and exits 1; there is no traceback for it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from needmap import __version__
from needmap.errors import InputError, NeedmapError, NeedmapWarning

EXIT_USER_ERROR = 1


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0; use e.g. 4")
    return int(text)


def _console():
    from rich.console import Console

    return Console(stderr=False, highlight=False, soft_wrap=True)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Validate, ingest, geocode, compute and write a new snapshot."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from needmap.config import load_config
    from needmap.refresh import STEPS, refresh

    config = load_config(args.config)
    console = _console()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=args.quiet,
    ) as bar:
        task = bar.add_task("refresh", total=len(STEPS))
        seen: list[str] = []

        def step(name: str) -> None:
            if seen:
                bar.advance(task)
            seen.append(name)
            bar.update(task, description=f"refresh: {name}")

        result = refresh(config, force=args.force, start=args.start, end=args.end, progress=step)
        bar.advance(task)
    if result.up_to_date:
        console.print(
            f"Up to date: snapshot {result.manifest['snapshot_id']} was made from these same "
            "inputs, config and period; nothing written (pass --force to write a new one).",
            markup=False,
        )
        return 0
    _print_quality(console, result)
    return 0


def _print_quality(console, result) -> None:
    m = result.manifest
    console.print(
        f"Snapshot {m['snapshot_id']} written to {result.snapshot_path}", markup=False
    )
    console.print(
        f"{m['authority_name']} ({m['authority_code']}): {m['n_wards']} wards, {m['n_lsoas']} "
        f"LSOAs, {m['children_total']:,.0f} children aged {m['children_age_band']}; "
        f"{m['deprivation_vintage']} on {m['lsoa_vintage']}; period {m['period_start']} to "
        f"{m['period_end']}.",
        markup=False,
    )
    console.print("Data quality:", markup=False)
    for q in result.quality:
        console.print(
            f"  {q.kind} {q.path}: {q.rows_read:,} rows read, {q.rows_used:,} used, "
            f"{sum(q.rejects.values()):,} rejected",
            markup=False,
        )
        if q.rejects:
            reasons = ", ".join(f"{k} {v:,}" for k, v in q.rejects.items())
            console.print(f"    rejected: {reasons}", markup=False)
        located = ", ".join(f"{k.replace('_', '/')} {v:,}" for k, v in q.located_by.items())
        console.print(f"    located by: {located or '-'}", markup=False)
    files = [q.rejects_file for q in result.quality if q.rejects_file]
    if files:
        console.print(
            "Rejected rows (personal data: keep local) are in " + ", ".join(files), markup=False
        )


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Write SYNTHETIC referral and engagement exports (seeded) for the config's authority."""
    from needmap.config import load_config
    from needmap.synthetic import write_demo_data

    config = load_config(args.config)
    out = Path(args.out) if args.out else config.root / "data" / "synthetic"
    files = write_demo_data(config, out, seed=args.seed, years=args.years,
                            n_off_radar=args.off_radar, n_hidden_need=args.hidden_need)
    print(
        f"Wrote SYNTHETIC demo records (seed {args.seed}): {files.n_referrals:,} referral rows to "
        f"{files.referrals}, {files.n_engagement:,} engagement rows to {files.engagement}; "
        f"planted {files.n_off_radar} off-the-radar and {files.n_hidden_need} hidden-need "
        f"areas, ground truth in {files.truth}."
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Write a ready config and reference data for any English authority (name or GSS code).

    Cuts LSOA 2021 and ward boundaries, IoD2025 need and children, the LSOA -> ward lookup,
    postcodes, schools and the IoD2019 comparison from the national data shipped with needmap.
    Then: cd into the folder, `needmap demo-data` and `needmap refresh`.
    """
    from needmap.init import init_authority

    result = init_authority(args.authority, Path(args.out) if args.out else None,
                            force=args.force)
    for message in result.warnings:
        print(f"Warning: {message}", file=sys.stderr)
    a = result.authority
    print(f"Wrote {result.folder} for {a.name} ({a.code}): {result.n_lsoas} LSOAs, "
          f"{result.n_wards} wards, {result.children:,} children aged 0-15 "
          f"({result.children_source}), {result.n_postcodes:,} postcodes, "
          f"{result.n_schools} schools.")
    print(f"LSOA boundaries: {result.lsoa_generalisation}.")
    print(f"Ward boundaries: {result.ward_generalisation}.")
    print(f"Next: cd {result.folder} && needmap demo-data && needmap refresh")
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    """List the snapshots kept for a config, oldest first; the current one is marked."""
    from needmap.config import load_config
    from needmap.snapshot import latest_path, list_snapshots

    config = load_config(args.config)
    snaps = list_snapshots(config.snapshots_folder)
    if not snaps:
        print("No snapshot yet. Run: needmap refresh --config " + str(args.config))
        return 0
    current = latest_path(config.snapshots_folder)
    for m in snaps:
        mark = "*" if current and current.name == m["snapshot_id"] else " "
        print(f"{mark} {m['snapshot_id']}  {m['created_at']}  period {m['period_start']} to "
              f"{m['period_end']}")
    return 0


def _load(args: argparse.Namespace):
    from needmap.config import load_config
    from needmap.snapshot import load_snapshot

    config = load_config(args.config)
    return config, load_snapshot(config.snapshots_folder)


def cmd_map(args: argparse.Namespace) -> int:
    """Write a standalone choropleth (HTML, all assets inlined) that opens with no network."""
    from needmap.outputs.files import write_text_atomic
    from needmap.outputs.maps.assets import standalone_html
    from needmap.outputs.maps.layers import display_layer, measure_map, outline_of

    config, snap = _load(args)
    display = display_layer(snap, args.level)
    m = measure_map(
        snap, level=args.level, measure=args.measure or config.maps.measure,
        period=args.period, scheme=args.scheme or config.maps.scheme,
        k=args.classes or config.maps.classes, display=display,
        outline=outline_of(display_layer(snap, "ward")),
        tiles=config.maps.tile_url, tiles_attribution=config.maps.tile_attribution,
    )
    write_text_atomic(Path(args.out), standalone_html(m))
    print(f"Wrote {args.out}: {args.measure or config.maps.measure} by {args.level} "
          f"({len(display)} areas).")
    return 0


def cmd_flags(args: argparse.Namespace) -> int:
    """Write the off-the-radar flags (computed at refresh) of one level as CSV."""
    from needmap.outputs.files import write_csv
    from needmap.outputs.tables import flags_table

    _, snap = _load(args)
    table = flags_table(snap, args.level, args.measure)
    write_csv(table, Path(args.out))
    counts = table["flag"].value_counts()
    summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
    print(f"Wrote {args.out}: {len(table)} {args.level} areas ({summary}). Counts from 1 to "
          f"{snap.threshold}, and some zeros, are shown as c.")
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    """Write the whole protected table set (every published figure) as CSVs into a folder."""
    from needmap.outputs.tables import write_protected_export

    _, snap = _load(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the tables.")
    written = write_protected_export(snap, out)
    print(f"Wrote {len(written)} files to {out}: the protected tables of snapshot {snap.id} "
          f"(counts from 1 to {snap.threshold} and some zeros as c, every other count protected).")
    return 0


def cmd_zones(args: argparse.Namespace) -> int:
    """Split the areas into one contiguous, workload-balanced zone per worker; write a CSV.

    --staff N makes N equal zones; --roster roster.csv (name, fte, optional base: a postcode,
    an area code or easting,northing) makes one zone per worker, sized by FTE and holding the
    worker's base. The CSV has area_code, area_name, zone, workload (small caseloads as c).
    --save --author NAME stores the plan as a new version in the plan database.
    """
    from needmap.outputs.files import check_output_path, write_csv
    from needmap.outputs.zone_tables import plan_table, zone_summary
    from needmap.plans import PlanStore
    from needmap.sources.geocode import read_postcodes
    from needmap.sources.roster import read_roster
    from needmap.workload import WORKLOAD_MEASURES, plan_zones

    if args.save and not (args.author or "").strip():
        raise InputError("--save needs --author NAME, who is saving the plan.")
    out = check_output_path(Path(args.out))
    config, snap = _load(args)
    roster = read_roster(args.roster) if args.roster else None
    postcodes = None
    if roster is not None and (roster["base_kind"] == "postcode").any():
        if config.postcodes is None:
            raise InputError(f"{args.roster}: a base is a postcode, but {config.source} has no "
                             "[postcodes] table to place it. Add one, or give bases as area "
                             "codes or easting,northing.")
        postcodes = read_postcodes(config.postcodes)
    measure = args.workload or config.zones.workload
    plan = plan_zones(
        snap, level=args.level, measure=measure,
        n_zones=None if roster is not None else (args.staff or config.zones.staff),
        roster=roster, postcodes=postcodes,
        random_state=config.zones.seed if args.seed is None else args.seed,
        tolerance=args.tolerance or config.zones.tolerance,
    )
    for message in plan.warnings:
        print(f"Warning: {message}", file=sys.stderr)
    write_csv(plan_table(snap, plan.labels, level=args.level, measure=measure), out)
    unit = "LSOAs" if args.level == "lsoa" else "wards"
    print(f"Wrote {out}: {len(plan.zones)} zones of {len(plan.labels)} {unit}; workload: "
          f"{WORKLOAD_MEASURES[measure].label}; seed {plan.seed}.")
    for r in zone_summary(snap, plan.labels, level=args.level,
                          staff=plan.staff).itertuples(index=False):
        who = f"  {r.worker} ({r.fte:.1f} FTE)" if plan.staff is not None else ""
        dev = f"{r.vs_target:+.1%}" if pd.notna(r.vs_target) else "-"
        print(f"  zone {r.zone}{who}: {r.n_areas} {unit}, workload {r.workload:,.0f} "
              f"(target {r.target:,.0f}, {dev})")
    if args.save:
        plan_id = PlanStore(config.plans_db).save_plan(
            plan.labels, author=args.author, note=args.note or "", roster=roster,
            level=args.level, measure=measure, snapshot_id=snap.id)
        print(f"Saved as plan {plan_id} in {config.plans_db}.")
    return 0


def cmd_pack(args: argparse.Namespace) -> int:
    """Write the printable zone pack (HTML) of one zone of the latest saved plan (or --plan)."""
    from needmap.outputs.files import write_text_atomic
    from needmap.outputs.pack import zone_pack_html
    from needmap.outputs.zone_tables import plan_level
    from needmap.plans import PlanStore

    config, snap = _load(args)
    store = PlanStore(config.plans_db)
    plan = store.load_plan(args.plan) if args.plan else store.latest_plan()
    if plan is None:
        raise InputError(f"No zone plan saved in {config.plans_db}. Save one with needmap zones "
                         "--save --author NAME, or on the Zones page.")
    level = plan_level(snap, plan)
    postcodes = None
    if config.postcodes is not None:  # places a worker base given as a postcode
        from needmap.sources.geocode import read_postcodes

        postcodes = read_postcodes(config.postcodes)
    html = zone_pack_html(
        snap, plan.areas, args.zone, level=level, staff=plan.staff,
        flags=snap.flags(level, "engagement"), postcodes=postcodes,
        plan=f"plan {plan.plan_id} saved {plan.created_at[:10]} by {plan.author}",
    )
    write_text_atomic(Path(args.out), html)
    print(f"Wrote {args.out}: zone {args.zone} of plan {plan.plan_id}.")
    return 0


def _plan(config, snap):
    """The latest saved zone plan and its level (for --level zone)."""
    from needmap.outputs.zone_tables import plan_level
    from needmap.plans import PlanStore

    plan = PlanStore(config.plans_db).latest_plan()
    if plan is None:
        raise InputError(f"No zone plan saved in {config.plans_db}. Save one with needmap zones "
                         "--save --author NAME, or on the Zones page.")
    return plan, plan_level(snap, plan)


def cmd_trends(args: argparse.Namespace) -> int:
    """Write each area's trajectory (computed at refresh) as CSV: verdict, yearly change with its
    95 per cent interval, the latest quarter and the next quarter's forecast band.

    --level zone uses the latest saved zone plan (fitted now on its areas' protected values);
    --area CODE writes that area's quarters, trend and forecast instead.
    """
    from needmap.outputs.files import write_csv
    from needmap.outputs.trajectories import trajectory_rows, trends_table

    config, snap = _load(args)
    if args.area:
        table = trajectory_rows(snap, args.level, args.area)
        write_csv(table, Path(args.out))
        print(f"Wrote {args.out}: quarters, trend and forecast of {args.level} {args.area}.")
        return 0
    labels = plan_level = None
    if args.level == "zone":
        plan, plan_level = _plan(config, snap)
        labels = plan.areas
    table = trends_table(snap, args.level, labels=labels, plan_level=plan_level)
    write_csv(table, Path(args.out))
    reach = table[table["measure"] == "families_engaged"]["verdict"].value_counts()
    print(f"Wrote {args.out}: {len(table)} rows ({args.level}). Reach: "
          + ", ".join(f"{k} {v}" for k, v in reach.items()) + ".")
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    """Write what changed since a snapshot (default: the one before the current): flags that
    appeared, cleared or changed class, and trend verdicts that changed. Published figures only.
    """
    from needmap.outputs.changes import changes_since, load_since, stored_changes
    from needmap.outputs.files import write_csv

    config, snap = _load(args)
    if args.since:
        result = changes_since(snap, load_since(config.snapshots_folder, args.since))
    else:
        result = stored_changes(snap)
    write_csv(result.table, Path(args.out))
    print(f"Wrote {args.out}. {result.summary()}")
    return 0


def cmd_followup(args: argparse.Namespace) -> int:
    """Write what followed engagement as CSV: of families engaged in a quarter or financial year,
    the shares re-referred within 12 months, whose next referral went to social care, and with no
    further referral, by area (or zone) and service, beside the authority's. Only cohorts with a
    complete 12-month follow-up. What followed, not what engagement caused.
    """
    from needmap.outputs.files import write_csv
    from needmap.outputs.followup import followup_table

    config, snap = _load(args)
    labels = plan_level = None
    if args.level == "zone":
        plan, plan_level = _plan(config, snap)
        labels = plan.areas
    table = followup_table(snap, args.level, periods=args.cohort or None, labels=labels,
                           plan_level=plan_level)
    write_csv(table, Path(args.out))
    print(f"Wrote {args.out}: {len(table)} rows, cohorts {', '.join(table['cohort'].unique())}. "
          f"Counts from 1 to {snap.threshold}, and some zeros, are shown as c.")
    return 0


def cmd_targeting(args: argparse.Namespace) -> int:
    """Write who each service reaches as CSV: families in England's most deprived neighbourhoods
    against children, the concentration index with its 95 per cent interval and its trend.
    --by-decile writes the families by IDACI decile instead; --level zone uses the saved plan.
    """
    from needmap.outputs.files import write_csv
    from needmap.outputs.targeting import decile_table, targeting_table

    config, snap = _load(args)
    if args.by_decile:
        table = decile_table(snap, args.period)
    else:
        labels = plan_level = None
        if args.level == "zone":
            plan, plan_level = _plan(config, snap)
            labels = plan.areas
        table = targeting_table(snap, args.period, labels=labels, plan_level=plan_level)
    write_csv(table, Path(args.out))
    print(f"Wrote {args.out}: {len(table)} rows.")
    if "sentence" in table and args.level != "zone":
        for sentence in table["sentence"]:
            print(f"  {sentence}")
    return 0


def cmd_qsu10(args: argparse.Namespace) -> int:
    """Write service users (families engaged) by national IDACI decile for one quarter, in the
    shape of the Best Start Family Hubs quarterly return's QSU10, from the protected cells.
    """
    from needmap.outputs.files import write_csv
    from needmap.outputs.targeting import qsu10_table

    _, snap = _load(args)
    quarter = args.quarter or snap.quarters()[-1]
    table = qsu10_table(snap, quarter)
    write_csv(table, Path(args.out))
    print(f"Wrote {args.out}: QSU10-shaped service users by IDACI decile, {quarter}. Counts "
          f"from 1 to {snap.threshold}, and some zeros, are shown as c; each figure is protected "
          "on its own.")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the quarterly report for leaders: one printable HTML page (no script, no URL) with the
    headline figures, trajectories, what changed, the top off-the-radar areas, who each service
    reaches and what followed engagement. Print it to PDF from a browser.
    """
    from needmap.outputs.files import write_text_atomic
    from needmap.outputs.report import quarterly_report_html

    _, snap = _load(args)
    html = quarterly_report_html(snap, args.quarter)
    write_text_atomic(Path(args.out), html)
    print(f"Wrote {args.out}: quarterly report {args.quarter or snap.quarters()[-1]}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from needmap.config import MapSettings, ZoneSettings
    from needmap.outputs.maps.classes import SCHEMES

    maps, zones = MapSettings(), ZoneSettings()
    parser = argparse.ArgumentParser(
        prog="needmap",
        description="Map need, referrals and early-help reach by ward and LSOA.",
    )
    parser.add_argument("--version", action="version", version=f"needmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=(func.__doc__ or "").splitlines()[0],
                           description=func.__doc__)
        p.add_argument("--config", default="needmap.toml", help="path to needmap.toml")
        p.set_defaults(func=func)
        return p

    p = add("refresh", cmd_refresh)
    p.add_argument("--force", action="store_true",
                   help="allow a snapshot of an earlier period to become current, or write a "
                   "new snapshot when no input changed")
    p.add_argument("--start", type=_date, help="period start (YYYY-MM-DD); default from config")
    p.add_argument("--end", type=_date, help="period end (YYYY-MM-DD); default from config")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("init", help=cmd_init.__doc__.splitlines()[0], description=cmd_init.__doc__)
    p.set_defaults(func=cmd_init)
    p.add_argument("--authority", required=True,
                   help='a district name such as "Bolton" (any case) or a GSS code (E08000001)')
    p.add_argument("--out", help="folder to create (default: ./<authority name>)")
    p.add_argument("--force", action="store_true", help="replace --out and everything in it")

    p = add("demo-data", cmd_demo_data)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--out", help="folder for the files (default: data/synthetic by the config)")
    p.add_argument("--off-radar", type=_count, metavar="N",
                   help="off-the-radar areas to plant (default 8, fewer where the authority's "
                   "most deprived 40%% of LSOAs holds fewer than 22)")
    p.add_argument("--hidden-need", type=_count, metavar="N",
                   help="hidden-need areas to plant (default 3, fewer likewise)")

    add("snapshots", cmd_snapshots)

    p = add("map", cmd_map)
    p.add_argument("--measure", help=f"e.g. referral_rate, reach_rate, idaci_pctile (default "
                   f"[maps] measure, {maps.measure}; see docs/indicators.md)")
    p.add_argument("--level", choices=["lsoa", "ward"], default="lsoa")
    p.add_argument("--period", help="a published period: a quarter (2025Q3), a financial year "
                   "(FY2024-25) or the configured period (default)")
    p.add_argument("--scheme", choices=list(SCHEMES), help=f"default [maps] scheme, {maps.scheme}")
    p.add_argument("--classes", type=int, help=f"3 to 9; default [maps] classes, {maps.classes}")
    p.add_argument("--out", default="map.html")

    p = add("flags", cmd_flags)
    p.add_argument("--level", choices=["lsoa", "ward"], default="lsoa")
    p.add_argument("--measure", choices=["engagement", "referrals"], default="engagement",
                   help="engagement: off the radar; referrals: hidden need / front-door pressure")
    p.add_argument("--out", default="flags.csv")

    p = add("tables", cmd_tables)
    p.add_argument("--out", default="tables", help="folder for tables.csv, areas.csv, "
                   "periods.csv and manifest.json")

    p = add("zones", cmd_zones)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--staff", type=int, help="number of equal-FTE zones")
    who.add_argument("--roster", help="roster CSV: name, fte, optional base")
    p.add_argument("--level", choices=["lsoa", "ward"], default="lsoa")
    p.add_argument("--workload", choices=["children_need", "caseload"],
                   help=f"children_need: children x (1 + IDACI); caseload: referrals + families "
                   f"engaged (default [zones] workload, {zones.workload})")
    p.add_argument("--seed", type=int, help=f"same seed, same plan (default {zones.seed})")
    p.add_argument("--tolerance", type=float, help=f"accepted deviation from target (default "
                   f"{zones.tolerance})")
    p.add_argument("--out", default="zones.csv")
    p.add_argument("--save", action="store_true", help="store the plan in the plan database")
    p.add_argument("--author", help="who saves the plan (with --save)")
    p.add_argument("--note", default="", help="why (with --save)")

    p = add("pack", cmd_pack)
    p.add_argument("--zone", type=int, required=True, help="the zone number")
    p.add_argument("--plan", type=int, help="a saved plan id (default: the latest)")
    p.add_argument("--out", default="zone_pack.html")

    p = add("trends", cmd_trends)
    p.add_argument("--level", choices=["lsoa", "ward", "authority", "zone"], default="ward")
    p.add_argument("--area", help="one area's code: write its quarters, trend and forecast")
    p.add_argument("--out", default="trends.csv")

    p = add("changes", cmd_changes)
    p.add_argument("--since", help="a snapshot id (see needmap snapshots); default: the one "
                   "before the current")
    p.add_argument("--out", default="changes.csv")

    p = add("followup", cmd_followup)
    p.add_argument("--level", choices=["lsoa", "ward", "authority", "zone"], default="ward")
    p.add_argument("--cohort", action="append", help="a cohort period (2024Q1, FY2023-24); "
                   "repeat for several; default: every complete one")
    p.add_argument("--out", default="followup.csv")

    p = add("targeting", cmd_targeting)
    p.add_argument("--period", help="a published period (default: the configured one)")
    p.add_argument("--level", choices=["authority", "zone"], default="authority")
    p.add_argument("--by-decile", action="store_true", help="families by IDACI decile instead")
    p.add_argument("--out", default="targeting.csv")

    p = add("qsu10", cmd_qsu10)
    p.add_argument("--quarter", help="a published quarter, e.g. 2025Q3 (default: the latest)")
    p.add_argument("--out", default="qsu10.csv")

    p = add("report", cmd_report)
    p.add_argument("--quarter", help="a published quarter, e.g. 2025Q3 (default: the latest)")
    p.add_argument("--out", default="quarterly_report.html")
    return parser


EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``needmap`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("always", NeedmapWarning)
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except NeedmapError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt:
            print("Error: interrupted; the last complete snapshot is unchanged.", file=sys.stderr)
            return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, NeedmapWarning):
        print(f"Warning: {message}", file=sys.stderr)
    else:  # pragma: no cover - library noise stays visible but short
        print(f"Warning: {category.__name__}: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
