"""Hostile input files through ``needmap refresh``: exit code, first stderr line, seconds, peak RSS.

Each case builds one hostile file in a temporary folder (the builders are in ``tests/hostile.py``,
shared with ``tests/test_hostile_files.py``), puts it in place of one input of the demo config and
runs the real console script in a child process; the peak resident memory is that child's own
(``wait4``'s ``ru_maxrss``). The target is a one-line ``Error:``, no traceback, and under 1 GB
(1,024 MB) of peak memory for every case.

    python bench/hostile_files.py [--only NAME ...] [--address-limit-gb 8]

``--address-limit-gb`` caps each child's address space (``RLIMIT_AS``) so that running the
benchmark on code without the limits cannot take the machine's memory; a child that hits it ends
in ``MemoryError``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile  # noqa: E402
from tests.conftest import write_config  # noqa: E402

NEEDMAP = str(Path(sys.executable).parent / "needmap")
ROLE = {
    "referrals": ROOT / "data/synthetic/referrals_synthetic.csv",
    "ward": hostile.WARDS,
    "lsoa": hostile.LSOAS,
    "postcodes": hostile.POSTCODES,
}
GB = 1 << 30

#: name -> (role it replaces, file name, builder). Output cases replace the [output] folder.
CASES: dict[str, tuple[str, str, Callable[[Path], None]]] = {
    "xlsx_shared_string_1gb": (
        "referrals", "shared_1gb.xlsx", lambda p: hostile.xlsx_long_shared_string(p, GB)),
    "xlsx_shared_string_2gb": (
        "referrals", "shared_2gb.xlsx", lambda p: hostile.xlsx_long_shared_string(p, 2 * GB)),
    "xlsx_inline_string_1gb": (
        "referrals", "inline_1gb.xlsx", lambda p: hostile.xlsx_long_inline_string(p, GB)),
    "xlsx_sheet_padding_1gb": (
        "referrals", "padding_1gb.xlsx", lambda p: hostile.xlsx_sheet_padding(p, GB)),
    "xlsx_shared_string_200k": (
        "referrals", "shared_200k.xlsx",
        lambda p: hostile.xlsx_long_shared_string(p, 200_000)),
    "xlsx_inline_string_200k": (
        "referrals", "inline_200k.xlsx",
        lambda p: hostile.xlsx_long_inline_string(p, 200_000)),
    "xlsx_repeated_string": (
        "referrals", "repeated.xlsx",
        lambda p: hostile.xlsx_repeated_string(p, 100_000, 200_000)),
    "xlsx_5m_number_cells": (
        "referrals", "numbers.xlsx", lambda p: hostile.xlsx_number_grid(p, 250_000, 20)),
    "xlsx_styles_2m": ("referrals", "styles.xlsx", lambda p: hostile.xlsx_styles(p, 2_000_000)),
    "xlsx_400k_parts": ("referrals", "parts.xlsx", lambda p: hostile.xlsx_many_parts(p, 400_000)),
    "xlsx_entities": ("referrals", "entities.xlsx", hostile.xlsx_entities),
    "xlsx_sparse_grid": ("referrals", "sparse.xlsx", hostile.xlsx_sparse),
    "csv_field_200k": ("referrals", "field_200k.csv", lambda p: hostile.csv_long_field(p, 200_000)),
    "csv_field_100mb": (
        "referrals", "field_100mb.csv", lambda p: hostile.csv_long_field(p, 100_000_000)),
    "csv_nul_late": ("referrals", "nul_late.csv", hostile.csv_nul_late),
    "csv_mixed_encoding": ("referrals", "mixed.csv", hostile.csv_mixed_encoding),
    "wards_latlon_swapped": ("ward", "wards_swapped.geojson", hostile.wards_latlon_swapped),
    "lsoa_latlon_swapped": ("lsoa", "lsoa_swapped.geojson", hostile.lsoa_latlon_swapped),
    "wards_wrong_crs": ("ward", "wards_3857.gpkg", hostile.wards_wrong_crs),
    "postcodes_swapped": ("postcodes", "postcodes_swapped.csv", hostile.postcodes_swapped),
    "output_is_file": ("output", "output", lambda p: p.write_text("not a folder\n")),
    "output_under_proc": ("output", "/proc/needmap-output", lambda p: None),
    "output_under_sys": ("output", "/sys/needmap-output", lambda p: None),
}


def run_case(name: str, tmp: Path, address_limit: int | None) -> tuple[int, str, float, float]:
    """(exit code, first stderr line, seconds, peak RSS in MB) of one refresh."""
    role, filename, build = CASES[name]
    folder = tmp / name
    folder.mkdir()
    target = Path(filename) if filename.startswith("/") else folder / filename
    build(target)
    if role == "output":
        cfg = write_config(folder, a=f'folder = "{folder / "output"}"=>folder = "{target}"')
    else:
        cfg = write_config(folder, a=f"{ROLE[role]}=>{target}")

    def limit() -> None:
        if address_limit:
            resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))

    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen([NEEDMAP, "refresh", "--config", str(cfg), "--quiet"],
                                stdout=out, stderr=err, preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = (folder / "stderr").read_text(errors="replace").splitlines()
    first = next((line for line in lines if line.startswith("Error")), lines[0] if lines else "")
    if any(line.startswith("Traceback") for line in lines):
        first = "TRACEBACK ... " + lines[-1]
    return proc.returncode, first, seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run")
    parser.add_argument("--address-limit-gb", type=float, default=8.0,
                        help="RLIMIT_AS of each child in GB (0: none)")
    parser.add_argument("--width", type=int, default=160, help="cut stderr lines to this width")
    args = parser.parse_args()
    limit = int(args.address_limit_gb * GB) or None
    print(f"{'case':<26} {'exit':>4} {'seconds':>8} {'peak MB':>8}  first stderr line")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or CASES:
            code, line, seconds, peak = run_case(name, Path(tmp), limit)
            print(f"{name:<26} {code:>4} {seconds:>8.1f} {peak:>8.0f}  {line[:args.width]}",
                  flush=True)


if __name__ == "__main__":
    main()
