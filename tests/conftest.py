"""Shared fixtures: the demo config copied to a temporary folder, so tests never touch output/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, text: str | None = None, **replace: str) -> Path:
    """Write a copy of the demo needmap.toml with absolute paths and output under ``tmp_path``.

    Keyword arguments replace one string of the TOML with another (``old=new`` pairs are given as
    ``{"name": (old, new)}``-free keywords: each value is "old=>new").
    """
    text = text if text is not None else (ROOT / "needmap.toml").read_text()
    text = re.sub(r'(path|lookup) = "(?!/)([^"]+)"',
                  lambda m: f'{m.group(1)} = "{ROOT / m.group(2)}"', text)
    text = re.sub(r'"(data/synthetic/[^"]+)"', lambda m: f'"{ROOT / m.group(1)}"', text)
    text = text.replace('folder = "output"', f'folder = "{tmp_path / "output"}"')
    for spec in replace.values():
        old, new = spec.split("=>", 1)
        assert old in text, f"{old!r} not in config"
        text = text.replace(old, new)
    path = tmp_path / "needmap.toml"
    path.write_text(text)
    return path


@pytest.fixture
def demo_config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture(scope="session")
def demo_snapshot(tmp_path_factory):
    """One refresh of the bundled demo, shared by tests that only read it."""
    from needmap.config import load_config
    from needmap.refresh import refresh
    from needmap.snapshot import load_snapshot

    tmp = tmp_path_factory.mktemp("demo")
    config = load_config(write_config(tmp))
    result = refresh(config)
    return load_snapshot(result.snapshot_path)


@pytest.fixture
def copy_to(tmp_path: Path):
    def _copy(src: Path, name: str | None = None) -> Path:
        dst = tmp_path / (name or src.name)
        shutil.copy(src, dst)
        return dst

    return _copy


@dataclass
class Run:
    """What a CLI call returned: exit code and the text it printed."""

    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> Run:
    """Run ``needmap ARGS`` in this process (``needmap.cli.main``), capturing its output."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from needmap.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
    return Run(code, out.getvalue(), err.getvalue())


@contextmanager
def demo_app(folder: Path) -> Iterator[tuple[str, object]]:
    """The demo refreshed into ``folder`` and the app serving it: ``(url, snapshot)``."""
    from streamlit_server import streamlit_app

    from needmap.config import load_config
    from needmap.snapshot import latest_path, load_snapshot

    config = write_config(folder)
    assert cli("refresh", "--config", config, "--quiet").returncode == 0
    snapshot = load_snapshot(latest_path(load_config(config).snapshots_folder))
    with streamlit_app("app.py", env={"NEEDMAP_CONFIG": str(config)},
                       log_path=folder / "streamlit.log") as url:
        yield url, snapshot


@pytest.fixture(scope="module")
def app(tmp_path_factory, request):
    """The demo app serving a fresh refresh, one per browser test module: ``(url, snapshot)``."""
    with demo_app(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])) as served:
        yield served


@pytest.fixture(scope="module")
def browser(app):
    """Debian's Chromium, headless, for the module's app."""
    pytest.importorskip("playwright.sync_api")
    from streamlit_server import chromium_browser

    with chromium_browser() as b:
        yield b


def error_line(proc) -> str:
    """The one ``Error:`` line of a failed call (exit 1, no traceback)."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0]
