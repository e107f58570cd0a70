"""The architecture holds: data flows one way, outputs read protected values only, flags are
computed once (at refresh), and the app and the CLI write the same bytes for the same artefact."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli, write_config

PACKAGE = ROOT / "needmap"
#: Layers, lowest first (docs/architecture.md). A module may import its own layer or lower ones.
LAYERS = {
    "needmap.errors": 0,
    "needmap.config": 0,
    "needmap.locking": 0,
    "needmap.sources": 1,
    "needmap.stats": 2,
    "needmap.indicators": 2,
    "needmap.synthetic": 2,
    "needmap.synthetic_outcomes": 2,
    "needmap.concentration": 2,
    "needmap.init": 2,
    "needmap.disclosure": 3,
    "needmap.radar": 3,
    "needmap.zones": 3,
    "needmap.trends": 3,
    "needmap.changes": 3,
    "needmap.snapshot": 4,
    "needmap.refresh": 4,
    "needmap.plans": 4,
    "needmap.access": 5,
    "needmap.workload": 5,
    "needmap.outputs": 6,
    "needmap.cli": 7,
    "needmap.app": 7,
}


def _layer(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return None if best is None else best[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    """Every needmap module imported anywhere in the file, top level or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("needmap"):
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names
                      if _layer(f"{node.module}.{a.name}") is not None
                      and (PACKAGE / node.module.split(".", 1)[-1].replace(".", "/")
                           / f"{a.name}.py").exists()]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("needmap")]
    return found


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if name == "needmap":
            continue  # the public surface re-exports
        own = _layer(name)
        assert own is not None, f"{name} has no layer in LAYERS: add it"
        for imported in _imports(path):
            theirs = _layer(imported)
            if theirs is not None and theirs > own:
                upward.append(f"{name} (layer {own}) imports {imported} (layer {theirs})")
    assert upward == []


def test_outputs_and_pages_never_read_true_counts():
    readers = [*(PACKAGE / "outputs").rglob("*.py"), *(PACKAGE / "app").rglob("*.py"),
               PACKAGE / "cli.py", PACKAGE / "workload.py"]
    for path in readers:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("raw_cells", "cells_raw"), (path, node.lineno)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in ("raw", "raw.parquet"), (path, node.lineno)
            if isinstance(node, ast.Name):
                assert node.id != "FILES", (path, node.lineno)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cfg = write_config(tmp_path_factory.mktemp("architecture"))
    assert cli("refresh", "--config", cfg, "--quiet").returncode == 0
    return cfg


def test_no_flag_is_computed_by_a_page_or_a_cli_read_command(demo, tmp_path, monkeypatch):
    import needmap.radar as radar

    def refuse(*args, **kwargs):
        raise AssertionError("flags computed outside refresh")

    for name in ("radar_flags",):
        monkeypatch.setattr(radar, name, refuse)
    monkeypatch.setattr(radar.RadarModel, "fit", refuse)
    for args in (["flags", "--out", tmp_path / "f.csv"],
                 ["flags", "--measure", "referrals", "--level", "ward", "--out",
                  tmp_path / "g.csv"],
                 ["map", "--out", tmp_path / "m.html"], ["tables", "--out", tmp_path / "t"],
                 ["zones", "--staff", "4", "--out", tmp_path / "z.csv", "--save", "--author",
                  "A"],
                 ["pack", "--zone", "1", "--out", tmp_path / "p.html"],
                 ["trends", "--out", tmp_path / "tr.csv"],
                 ["trends", "--level", "zone", "--out", tmp_path / "tz.csv"],
                 ["changes", "--out", tmp_path / "ch.csv"],
                 ["followup", "--out", tmp_path / "fu.csv"],
                 ["targeting", "--out", tmp_path / "tg.csv"],
                 ["qsu10", "--out", tmp_path / "q.csv"],
                 ["report", "--out", tmp_path / "r.html"]):
        result = cli(*args, "--config", demo)
        assert result.returncode == 0, (args, result.stderr)
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NEEDMAP_CONFIG", str(demo))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    for page in ("overview", "off_radar", "zones", "my_zone", "data"):
        at.switch_page(f"needmap/app/pages/{page}.py").run()
        assert not at.exception, (page, [e.message for e in at.exception])


def _downloads(monkeypatch):
    """Capture the deferred download callables the pages register, by file name."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)

    def content(file_name: str) -> bytes:
        data = made[file_name]()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    return content


def test_app_and_cli_write_byte_identical_csvs(demo, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    content = _downloads(monkeypatch)
    monkeypatch.setenv("NEEDMAP_CONFIG", str(demo))
    at = AppTest.from_file(str(ROOT / "needmap/app/pages/off_radar.py"), default_timeout=120)
    at.run()
    page_flags = content("flags_lsoa_engagement.csv")
    assert cli("flags", "--config", demo, "--out", tmp_path / "flags.csv").returncode == 0
    assert page_flags == (tmp_path / "flags.csv").read_bytes()

    at = AppTest.from_file(str(ROOT / "needmap/app/pages/zones.py"), default_timeout=120).run()
    next(b for b in at.button if b.label == "Build zones").click().run()
    page_zones = content("zones_lsoa.csv")
    assert cli("zones", "--config", demo, "--staff", "6",
               "--out", tmp_path / "zones.csv").returncode == 0
    assert page_zones == (tmp_path / "zones.csv").read_bytes()
