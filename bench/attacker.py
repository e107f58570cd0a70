"""Red-team figures: how much of what is hidden an attacker pins, today and with protection.

For the demo and the sparse export (a 5% sample of the demo records), over one release (to
2025-09-30) and two (to 2025-06-30, then 2025-09-30), this builds the releases, takes what each
publishes and runs the integer-programming attacker of ``tests/redteam/attacker.py`` over every
published identity. It prints, per row: hidden cells, pinned (known exactly), of those the
ones holding someone (true value 1 or more: an empty hidden cell proven empty discloses nothing),
pinned wrongly (must be 0), narrowed to at most two values, mean range width, cells the solver
left undecided, and seconds. Rows:

``legacy``            today's main (8ec0542) as frozen in ``tests/redteam/legacy.py``, all outputs
``legacy-no-change``  the same without the Overview's Change map
``protected``         the protected table set of ``needmap tables`` (every count, follow-up and
                      IDACI-decile cells included) and both ``needmap flags`` CSVs of each
                      release

"period" columns count only the cells of the configured periods (the Overview's maps and
tables, the flags and zones CSVs); the rest are quarters of the trend chart.

Run: ``PYTHONPATH=. python bench/attacker.py [--dataset demo|sparse] [--releases 1|2]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.redteam.releases import build_releases  # noqa: E402
from tests.redteam.scenarios import (  # noqa: E402
    WITHOUT_CHANGE,
    attack_legacy,
    attack_protected,
    export_flags,
    export_tables,
    tables_available,
)

COLUMNS = ("dataset", "rel", "outputs", "hidden", "pinned", "pinned >= 1", "wrong",
           "<=2 values", "mean width", "period hidden", "period pinned", "undecided >= 1",
           "seconds")


def _row(dataset: str, n: int, outputs: str, report, seconds: float) -> tuple:
    period = [k for k in report.ranges if "-" in k[2]]
    pinned = set(report.pinned)
    return (dataset, n, outputs, report.hidden, len(pinned), len(report.disclosed),
            len(report.pinned_wrongly), len(report.narrowed), f"{report.mean_width:.2f}",
            len(period), sum(k in pinned for k in period), len(report.undecided_held),
            f"{seconds:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["demo", "sparse"], action="append")
    parser.add_argument("--releases", type=int, choices=[1, 2], action="append")
    args = parser.parse_args(argv)
    datasets = args.dataset or ["demo", "sparse"]
    counts = args.releases or [1, 2]
    protected = tables_available()
    rows = []
    print(" | ".join(COLUMNS))
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in datasets:
            t0 = time.perf_counter()
            releases = build_releases(Path(tmp) / dataset, dataset=dataset)
            print(f"# {dataset}: two releases built in {time.perf_counter() - t0:.1f} s",
                  flush=True)
            exports, flags = [], []
            if protected:
                exports = [export_tables(r, Path(tmp) / dataset / f"tables-{r.name}")
                           for r in releases]
                flags = [export_flags(r, e, Path(tmp) / dataset / f"tables-{r.name}")
                         for r, e in zip(releases, exports, strict=True)]
            for n in counts:
                chosen = releases[-n:]
                runs = [("legacy", lambda c=chosen: attack_legacy(c)),
                        ("legacy-no-change",
                         lambda c=chosen: attack_legacy(c, outputs=WITHOUT_CHANGE))]
                if protected:
                    runs.append(("protected",
                                 lambda c=chosen, e=exports, f=flags: attack_protected(
                                     e[-len(c):], c, extra=[x for r in f[-len(c):] for x in r],
                                     time_budget=900)))
                for name, run in runs:
                    t0 = time.perf_counter()
                    report = run()
                    row = _row(dataset, n, name, report, time.perf_counter() - t0)
                    rows.append(row)
                    print(" | ".join(str(x) for x in row), flush=True)
                    if report.violations:
                        print(f"  UNSOUND: {len(report.violations)} true values outside their "
                              f"range, e.g. {report.violations[:3]}")
                if not protected:
                    print(f"{dataset} | {n} | protected | n/a: needmap tables not available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
