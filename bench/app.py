"""Benchmark the Overview page in a real browser: map drawn, click answered, bytes sent.

(a) the bundled Oldham demo, LSOA level (every LSOA of the snapshot);
(b) every English ward from the shared national files (a snapshot built first from 100,000
    synthetic records, as in bench/refresh.py), Ward level.

For each case the app runs as ``streamlit run app.py`` with ``NEEDMAP_CONFIG`` pointing at a
temporary config whose snapshot is built beforehand (so the figures are the app's, not the
refresh's), and headless system Chromium (/usr/bin/chromium) opens it twice: a cold visit (the
server's caches empty), then twice warm (a new browser context each time, server caches
filled), then once more counting bytes (listening to every response slows the page, so that
visit's times are not reported).

- drawn: from navigation (or the click on "Ward") until Leaflet has drawn every area's polygon;
- click: from the click on an area until its detail panel's heading shows its name and code;
- payload: bytes of HTTP response bodies plus websocket messages received, and the largest
  websocket message (the st_folium component's data: the map script with the GeoJSON); the
  click payload is what the rerun after a click sends.

Targets: Oldham drawn < 3 s, click < 1 s; England payload < 5 MB, drawn < 8 s, click < 2 s.
The script prints figures; it asserts nothing.

    python bench/app.py [--shared ../shared/data] [--records 100000] [--skip-national]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.streamlit_server import CHROMIUM, chromium_browser, streamlit_app  # noqa: E402

MAP = "iframe[title*='st_folium']"

COUNT_DRAWN = """(key) => {
    for (const f of document.querySelectorAll("iframe[title*='st_folium']")) {
        if (f.getBoundingClientRect().width === 0) continue;  // a map in a hidden tab
        const w = f.contentWindow;
        if (!w || !w.map_div || typeof w.map_div.eachLayer !== "function") continue;
        let n = 0;
        w.map_div.eachLayer(l => {
            if (l._path && l.feature && (l.feature.properties || {})[key]) n += 1;
        });
        return n;
    }
    return 0;
}"""

CLICKABLE = """(level) => {
    const layers = [];
    window.map_div.eachLayer(l => { if (l.feature && l._path) layers.push(l); });
    for (const l of layers) {
        const r = l._path.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (r.width > 8 && document.elementFromPoint(x, y) === l._path) {
            const p = l.feature.properties;
            return {x: x, y: y, code: p[level + "_code"], name: p[level + "_name"]};
        }
    }
    return null;
}"""


@dataclass
class Traffic:
    """Bytes a page received, reset between measurements."""

    http: int = 0
    ws: int = 0
    ws_largest: int = 0
    responses: list = field(default_factory=list)

    def reset(self) -> None:
        self.http = self.ws = self.ws_largest = 0

    def on_frame(self, payload) -> None:
        n = len(payload) if isinstance(payload, bytes) else len(payload.encode())
        self.ws += n
        self.ws_largest = max(self.ws_largest, n)

    def on_finished(self, request) -> None:
        self.responses.append(request)

    def settle(self) -> None:
        # Sizes are read after the measurement: calling back into the browser from inside an
        # event handler would stall the timed wait.
        for r in self.responses:
            try:
                self.http += r.sizes()["responseBodySize"]
            except Exception:  # a request from a closed page has no sizes left
                pass
        self.responses.clear()

    def mb(self) -> str:
        return (f"{(self.http + self.ws) / 1e6:.2f} MB (HTTP {self.http / 1e6:.2f}, websocket "
                f"{self.ws / 1e6:.2f}, largest message {self.ws_largest / 1e6:.2f})")


def _wait_drawn(page, level: str, n: int, timeout_s: float) -> None:
    page.wait_for_function(f"(key) => ({COUNT_DRAWN})(key) >= {n}", arg=f"{level}_code",
                           timeout=timeout_s * 1000, polling=100)


def _click_area(page, level: str, timeout_s: float) -> tuple[float, str]:
    frame = page.locator(MAP).first.element_handle().content_frame()
    area = frame.evaluate(CLICKABLE, level)
    if area is None:
        raise RuntimeError("no clickable area found on the map")
    box = page.locator(MAP).first.bounding_box()
    t = time.perf_counter()
    page.mouse.click(box["x"] + area["x"], box["y"] + area["y"])
    page.get_by_role("heading", name=f"{area['name']} ({area['code']})").wait_for(
        timeout=timeout_s * 1000
    )
    return time.perf_counter() - t, area["code"]


def visit(browser, url: str, *, level: str, n: int, label: str, timeout_s: float,
          count_bytes: bool) -> dict:
    """One visit in a fresh browser context: open, switch level if needed, draw, click.

    With ``count_bytes`` every response and websocket message is reported to Python as it
    arrives, which slows the page; times from such a visit are not reported.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    traffic = Traffic()
    if count_bytes:
        page.on("websocket", lambda ws: ws.on("framereceived", traffic.on_frame))
        page.on("requestfinished", traffic.on_finished)
    out: dict = {}
    t = time.perf_counter()
    page.goto(url)
    if level == "lsoa":
        _wait_drawn(page, "lsoa", n, timeout_s)
        out["drawn"] = time.perf_counter() - t
    else:
        # The page opens on LSOAs; wait for that map, then switch to wards and time that too.
        page.wait_for_selector(MAP, timeout=timeout_s * 1000)
        page.get_by_text("Ward", exact=True).wait_for(timeout=timeout_s * 1000)
        start_level = page.locator("label:has(input[type=radio]:checked)").inner_text().strip()
        if start_level == "Ward":
            _wait_drawn(page, "ward", n, timeout_s)
            out["drawn"] = time.perf_counter() - t
        else:
            _wait_drawn(page, "lsoa", 1, timeout_s)
            out["lsoa_first_drawn"] = time.perf_counter() - t
            traffic.settle()
            out["lsoa_payload"] = traffic.mb()
            traffic.reset()
            t = time.perf_counter()
            page.get_by_text("Ward", exact=True).click()
            _wait_drawn(page, "ward", n, timeout_s)
            out["drawn_after_switch"] = time.perf_counter() - t
    traffic.settle()
    out["payload"] = traffic.mb()
    traffic.reset()
    out["click"], out["clicked"] = _click_area(page, level, timeout_s)
    traffic.settle()
    out["click_payload"] = traffic.mb()
    shot = Path(tempfile.gettempdir()) / f"needmap-bench-{label}.png"
    page.screenshot(path=str(shot))
    out["screenshot"] = str(shot)
    context.close()
    if count_bytes:
        return {k: v for k, v in out.items() if k.endswith("payload")}
    return {k: v for k, v in out.items() if not k.endswith("payload")}


def report(name: str, r: dict, targets: str) -> None:
    print(f"{name} [{targets}]")
    for key in ("lsoa_first_drawn", "lsoa_payload", "drawn", "drawn_after_switch", "payload",
                "click", "click_payload", "clicked", "screenshot"):
        if key in r:
            v = r[key]
            print(f"    {key}: {v:.2f} s" if isinstance(v, float) else f"    {key}: {v}")


def run_case(name: str, config: Path, *, level: str, n: int, targets: str, timeout_s: float,
             work: Path) -> None:
    # ``streamlit run app.py`` from the repository root with ``NEEDMAP_CONFIG=config``.
    server = streamlit_app("app.py", env={"NEEDMAP_CONFIG": str(config)}, timeout=60,
                           log_path=work / f"{level}-streamlit.log")
    with server as url, chromium_browser() as browser:
        for visit_name in ("cold", "warm", "warm again", "bytes counted"):
            r = visit(browser, url, level=level, n=n, label=f"{level}-{visit_name[:4]}",
                      timeout_s=timeout_s, count_bytes=visit_name == "bytes counted")
            report(f"{name}, {visit_name}", r, targets)


def build_snapshot(config: Path) -> float:
    """Refresh in a child process (its memory is not the benchmark's); seconds taken."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "needmap.cli", "refresh", "--config", str(config)],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - t


def count_areas(config: Path, level: str) -> int:
    """How many areas of ``level`` the config's latest snapshot holds (never a literal)."""
    from needmap.config import load_config
    from needmap.snapshot import latest_path, load_snapshot

    snapshot = load_snapshot(latest_path(load_config(config).snapshots_folder))
    return len(snapshot.areas(level))


def _bench_refresh():
    spec = importlib.util.spec_from_file_location("bench_refresh", ROOT / "bench" / "refresh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--skip-national", action="store_true")
    ap.add_argument("--skip-oldham", action="store_true")
    ap.add_argument("--workdir", help="keep configs, snapshots and logs here (reused if present)")
    args = ap.parse_args()
    # Stopped with SIGTERM, still stop the app server (the finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not CHROMIUM.exists():
        print(f"skipped: {CHROMIUM} not found")
        return
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir).resolve() if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not args.skip_oldham:
            demo = work / "demo"
            demo.mkdir(exist_ok=True)
            cfg = ROOT / f".bench-app-{os.getpid()}.toml"  # beside needmap.toml: relative paths
            cfg.write_text((ROOT / "needmap.toml").read_text().replace(
                'folder = "output"', f'folder = "{demo / "output"}"'))
            try:
                print(f"    (Oldham snapshot built in {build_snapshot(cfg):.1f} s, not timed)")
                n = count_areas(cfg, "lsoa")
                run_case(f"(a) Oldham, LSOA level, {n:,} polygons", cfg, level="lsoa", n=n,
                         targets="targets: drawn < 3 s, click < 1 s", timeout_s=60, work=demo)
            finally:
                cfg.unlink()
        bench_refresh = _bench_refresh()
        shared = None if args.skip_national else bench_refresh.national_data(args.shared)
        if shared is None:
            return
        national = work / "national"
        national.mkdir(exist_ok=True)
        cfg = national / "national.toml"
        if not (national / "output" / "snapshots").is_dir():
            t = time.perf_counter()
            bench_refresh.make_national_records(shared, national, args.records)
            cfg.write_text(bench_refresh.NATIONAL.format(shared=shared, tmp=national))
            print(f"    ({args.records:,} national records generated in "
                  f"{time.perf_counter() - t:.1f} s; snapshot built in {build_snapshot(cfg):.1f} s;"
                  " not timed)")
        n = count_areas(cfg, "ward")
        run_case(f"(b) England, Ward level, {n:,} polygons", cfg, level="ward", n=n,
                 targets="targets: payload < 5 MB, drawn < 8 s, click < 2 s", timeout_s=300,
                 work=national)


if __name__ == "__main__":
    main()
