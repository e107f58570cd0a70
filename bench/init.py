"""Benchmark `needmap init` -> `demo-data` -> `refresh`: seconds and peak memory per step.

Two authorities: the largest district by LSOAs (Birmingham, 659 LSOA 2021, found from the shipped
table each run) and a small one (Tamworth, 51 LSOAs; ``--small "Isles of Scilly"`` runs the
smallest, one LSOA).

Each step runs as the console command in its own child process, exactly as a user types it, so
the times include Python start-up and imports, and each peak memory (max RSS, from ``wait4``) is
that step's own. Prints one line per step and the total from nothing to a snapshot.

    python bench/init.py [--small Tamworth] [--large <name or code>]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEEDMAP = [sys.executable, "-m", "needmap.cli"]


def step(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run one needmap command; (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen([*NEEDMAP, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"needmap {' '.join(args)} failed:\n{out}\n{err}")
    return seconds, usage.ru_maxrss / 1024


def run(authority: str, root: Path) -> None:
    folder = root / "la"
    rows = [("init", ["init", "--authority", authority, "--out", str(folder)], root),
            ("demo-data", ["demo-data"], folder),
            ("refresh", ["refresh", "--quiet"], folder)]
    total = 0.0
    for name, args, cwd in rows:
        seconds, mb = step(args, cwd)
        total += seconds
        print(f"  {name:10s} {seconds:6.2f} s   peak {mb:6.0f} MB")
    print(f"  {'total':10s} {total:6.2f} s   (init to snapshot)")


def main() -> None:
    from needmap.sources.reference import authorities

    table = authorities().sort_values("n_lsoas")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", default=table.iloc[-1]["name"])
    parser.add_argument("--small", default="Tamworth")
    args = parser.parse_args()
    for label, name in (("largest", args.large), ("small", args.small)):
        row = table[(table["name"] == name) | (table["code"] == name)].iloc[0]
        print(f"{label}: {row['name']} ({row['code']}), {row['n_lsoas']} LSOAs")
        with tempfile.TemporaryDirectory() as tmp:
            run(name, Path(tmp))


if __name__ == "__main__":
    main()
