"""A Streamlit app on a free loopback port and the system Chromium, for the browser tests and the
app benchmark (bench/app.py). Not a test file: imported as ``streamlit_server`` by the tests and as
``tests.streamlit_server`` by the benchmark.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (containers), no GPU, and none of Chromium's own calls home.
BROWSER_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "file"})
#: The frame streamlit-folium draws a map in.
MAP = "iframe[title*='st_folium']"


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_local(url: str) -> bool:
    """Whether a request for ``url`` stays on this machine (a loopback host, or data:, blob:,
    about: or file:)."""
    parsed = urlparse(url)
    return parsed.scheme in LOCAL_SCHEMES or parsed.hostname in LOCAL_HOSTS


@contextmanager
def chromium_browser():
    """The system Chromium, headless, through Playwright (imported here: it is optional)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(BROWSER_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def streamlit_app(
    script: str | Path,
    *,
    log_path: Path,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    cwd: Path = ROOT,
    host_for_url: str = "127.0.0.1",
    timeout: float = 30,
) -> Iterator[str]:
    """Run ``streamlit run script`` headless on 127.0.0.1 and yield its base URL once healthy.

    Parameters
    ----------
    script : str or Path
        The app script, relative to ``cwd`` or absolute.
    log_path : Path
        Where the server's stdout and stderr go.
    port : int, optional
        The port to listen on; a free one by default (pass one chosen with `free_port` when
        something must know it before the server starts, such as an OAuth redirect URI).
    env : mapping, optional
        Variables added to this process's environment; ``PYTHONPATH`` is the repository root
        unless given here.
    extra_args : sequence of str
        More ``streamlit run`` options, e.g. ``("--secrets.files", path)``.
    cwd : Path
        Where the server runs; the repository root, as a user runs the app, so its
        .streamlit/config.toml applies.
    host_for_url : str
        The host name in the yielded URL (``localhost`` where cookies must match a redirect URI).
    timeout : float
        Seconds to wait for ``/_stcore/health``.

    Raises
    ------
    RuntimeError
        The server exited or was not healthy within ``timeout``; the message holds its log.
    """
    port = free_port() if port is None else port
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", *extra_args,
    ]  # fmt: skip
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    url = f"http://{host_for_url}:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                        if r.read() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def settle(page, timeout: float = 90) -> None:
    """Wait until Streamlit has finished running the page (no status widget for a while)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    page.wait_for_timeout(300)
    while quiet < 4:
        busy = page.locator("[data-testid=stStatusWidget], [data-testid=stSkeleton]").count()
        quiet = 0 if busy else quiet + 1
        assert time.monotonic() < deadline, "the page did not finish running"
        page.wait_for_timeout(250)


def shown_maps(page, timeout: float = 60) -> list:
    """The frames of the maps on screen (a closed tab's map has no width), once drawn."""
    deadline = time.monotonic() + timeout
    while True:
        handles = [h for h in page.locator(MAP).element_handles()
                   if (box := h.bounding_box()) and box["width"] > 0]
        if handles or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    assert handles, "no map on screen"
    frames = []
    for handle in handles:
        frame = handle.content_frame()
        frame.wait_for_function(
            "() => window.map && document.querySelectorAll('path.leaflet-interactive')"
            ".length > 0", timeout=timeout * 1000)
        frames.append((handle, frame))
    return frames
